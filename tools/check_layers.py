#!/usr/bin/env python3
"""Fails when an include in src/ or include/lwm/ points up the layer order (docs/design.md, "Layers").

Each folder under src/ and include/lwm/ is one concern; a file may include its own folder's headers and those
of folders on a lower layer, never a folder on its own layer or above:

    cli -> pipeline -> compress | train | measure -> model -> data | report -> common

Usage: tools/check_layers.py [repository root]   (exit 0: every include points down; 1: the offending lines)
"""
import pathlib
import re
import sys

LAYERS = {
    "common": 0,
    "data": 1, "report": 1,
    "model": 2,
    "compress": 3, "train": 3, "measure": 3,
    "pipeline": 4,
    "cli": 5,
}
# Any include of a project header: "lwm/x/...", <lwm/x/...>, or through a relative path ("../x/...").
INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]((?:\.\./)*)(?:include/)?(lwm/)?([^/">]+)/', re.MULTILINE)
SUFFIXES = (".h", ".hh", ".hpp", ".hxx", ".inc", ".ipp", ".c", ".cc", ".cpp", ".cxx")


def folder_of(root, path):
    rel = path.relative_to(root).parts
    return rel[2] if rel[0] == "include" else rel[1]


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parent.parent)
    files = [p for base in ("src", "include/lwm") for p in (root / base).rglob("*") if p.suffix in SUFFIXES]
    if not files:
        print(f"check_layers: no sources under {root}", file=sys.stderr)
        return 2
    problems = []
    for path in sorted(files):
        me = folder_of(root, path)
        if me not in LAYERS:
            problems.append(f"{path.relative_to(root)}: folder '{me}' has no layer in tools/check_layers.py")
            continue
        text = path.read_text(encoding="utf-8")
        for match in INCLUDE.finditer(text):
            relative, lwm, dep = match.group(1), match.group(2), match.group(3)
            line = text.count("\n", 0, match.start()) + 1
            if relative:
                problems.append(f"{path.relative_to(root)}:{line}: a relative include; include project headers as "
                                f"\"lwm/<folder>/<header>\"")
                continue
            if not lwm:
                continue  # a library's header (<torch/...>, "sentencepiece_shim/...") or the folder's own
            if dep not in LAYERS:
                problems.append(f"{path.relative_to(root)}:{line}: includes lwm/{dep}/, a folder with no layer")
            elif dep != me and LAYERS[dep] >= LAYERS[me]:
                problems.append(f"{path.relative_to(root)}:{line}: {me} (layer {LAYERS[me]}) includes lwm/{dep}/ "
                                f"(layer {LAYERS[dep]}): includes must point to a lower layer")
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

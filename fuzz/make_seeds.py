#!/usr/bin/env python3
"""Writes the seed inputs of fuzz/corpus/<target>/ from tests/data and configs/ (small: the first lines of each
file). Inputs are framed as each target reads them (fuzz/README.md). Re-run after changing a target's framing;
the regression inputs (crash-*, leak-*, timeout-*, ...) beside the seeds are kept.

Usage: fuzz/make_seeds.py [--python VENV_PYTHON]   (a python with torch + transformers exports the importer's
                                                     seed models with tools/export_reference.py)
"""
import argparse
import json
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
CORPUS = ROOT / "fuzz" / "corpus"
TASKS = ["sst2", "cola", "mrpc", "rte", "stsb", "wnli", "qnli", "qqp", "mnli", "imdb", "generic"]
GLUE = {"SST-2": "sst2", "CoLA": "cola", "MRPC": "mrpc", "RTE": "rte", "STS-B": "stsb", "WNLI": "wnli",
        "QNLI": "qnli", "QQP": "qqp", "MNLI": "mnli"}


def head(path, lines=12):
    return b"".join(path.read_bytes().splitlines(keepends=True)[:lines])


def put(target, name, data):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / ("seed-" + name)).write_bytes(data)


def dataset_seeds():
    for folder, task in GLUE.items():
        for f in sorted((DATA / "glue" / folder).glob("*.tsv")):
            put("dataset_tsv", f"{task}-{f.stem}", bytes([TASKS.index(task)]) + head(f))
    for f in sorted((DATA / "bad").glob("*.tsv")):
        task = next((t for t in TASKS if f.name.startswith(t)), "sst2")
        put("dataset_tsv", f"bad-{f.stem}", bytes([TASKS.index(task)]) + head(f))
    for f in sorted((DATA / "csv").glob("*.csv")) + sorted((DATA / "bad").glob("*.csv")):
        task = next((t for t in TASKS if f.name.startswith(t)), "sst2")
        put("dataset_csv", f"{f.parent.name}-{f.stem}", bytes([TASKS.index(task)]) + head(f))
    for f in sorted((DATA / "jsonl").glob("*.json*")) + [DATA / "imdb" / "train.jsonl"] + \
            sorted((DATA / "bad").glob("*.jsonl")):
        task = next((t for t in TASKS if f.name.startswith(t)), "imdb" if f.parent.name == "imdb" else "sst2")
        ext = 0x10 if f.suffix == ".json" else 0  # the target's extension bits: .jsonl, .json
        put("dataset_jsonl", f"{f.parent.name}-{f.stem}", bytes([TASKS.index(task) | ext]) + head(f, 6))


def text_pairs():
    pairs = []
    for line in head(DATA / "glue" / "SST-2" / "dev.tsv", 6).splitlines()[1:]:
        pairs.append((line.split(b"\t")[0], b""))
    for line in head(DATA / "glue" / "MRPC" / "dev.tsv", 5).splitlines()[1:]:
        cols = line.split(b"\t")
        pairs.append((cols[3], cols[4]))
    pairs.append(("Héllo WORLD! naïve café 中文 ΣΑΣ 😀 [SEP] [UNK] <|endoftext|> <mask> </s> <extra_id_0>".encode(), b"x"))
    pairs.append((b"\xff\xfe\x00 bad utf8 \xc3", b"\t\r\n \x85 end"))
    return pairs


def encode_seeds():
    for i, (a, b) in enumerate(text_pairs()):
        for target, first in (("wordpiece_encode", (32 << 1) | (i & 1)), ("sentencepiece_encode", (16 << 2) | (i & 3)),
                              ("bpe_encode", (16 << 2) | (i & 3))):
            put(target, f"text{i}", bytes([first if i % 3 else 0]) + a + b"\0" + b)


def tokenizer_seeds():
    vocab = head(DATA / "vocab" / "bert-base-uncased" / "vocab.txt", 1100)  # [PAD] 0 .. [MASK] 103, then words
    put("vocab_txt", "bert-base-uncased-head", vocab)
    put("vocab_txt", "cased", (DATA / "tokenizer" / "cased" / "vocab.txt").read_bytes() + b"\0" +
        (DATA / "tokenizer" / "cased" / "tokenizer_config.json").read_bytes())
    put("vocab_txt", "added", vocab + b"\0" + b'{"model_max_length": 512, "do_lower_case": true}' + b"\0" +
        b'{"[NEW]": 1100}' + b"\0" + b'{"unk_token": "[UNK]", "additional_special_tokens": ["[NEW]"]}')
    for f in ("empty_vocab.txt", "no_unk_vocab.txt"):
        put("vocab_txt", f, (DATA / "tokenizer" / f).read_bytes())

    for folder in sorted(p for p in (DATA / "tokenizer" / "bpe").iterdir() if p.is_dir()):
        parts = []
        for name in ("vocab.json", "merges.txt", "tokenizer_config.json", "added_tokens.json",
                     "special_tokens_map.json"):
            parts.append((folder / name).read_bytes() if (folder / name).exists() else b"")
        while parts and not parts[-1]:
            parts.pop()
        for fam in (0, 1, 3):
            put("bpe_files", f"{folder.name}-{fam}", bytes([fam]) + b"\0".join(parts))

    for f in sorted((DATA / "tokenizer").glob("*.json")) + sorted((DATA / "tokenizer" / "bpe").glob("*.json")):
        put("tokenizer_json", f.stem, bytes([0]) + f.read_bytes())
    # bert-base-uncased's tokenizer.json with its vocabulary cut to the first 1100 tokens.
    tj = json.loads((DATA / "vocab" / "bert-base-uncased" / "tokenizer.json").read_bytes())
    tj["model"]["vocab"] = {k: v for k, v in tj["model"]["vocab"].items() if v < 1100}
    put("tokenizer_json", "bert-base-uncased-head", bytes([1]) + json.dumps(tj, ensure_ascii=False).encode())


def config_seeds():
    for f in sorted((ROOT / "configs").glob("*.json")):
        put("config", f.stem, f.read_bytes())
    put("config", "overrides", b"\0--keep-layers\0004\0--layers=0,5,11\0--learning_rate\0.5\0--int8\0true"
        b"\0--prune-heads\0[0.5]\0--hidden_map\0[0,1]")
    put("config", "file-and-overrides", (ROOT / "configs" / "1of3-layers-pruned.json").read_bytes() +
        b"\0--seed\0" + b"9007199254740991" + b"\0--max_length=1e3\0--layer-strategy\0alternate")


def importer_seeds(python):
    small = ["--layers", "1", "--hidden", "16", "--heads", "2", "--intermediate", "32", "--vocab", "64",
             "--max-positions", "16", "--labels", "2", "--attn", "eager"]
    for family in ("bert", "gpt2", "distilbert", "opt", "t5"):
        out = CORPUS / "importer" / f"seed-{family}.pt"
        out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([python, str(ROOT / "tools" / "export_reference.py"), "--family", family, *small,
                        "--out", str(out)], check=True, stdout=subprocess.DEVNULL)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--python", help="python with torch + transformers, for the importer's seed models")
    args = ap.parse_args()
    dataset_seeds()
    encode_seeds()
    tokenizer_seeds()
    config_seeds()
    if args.python:
        importer_seeds(args.python)
    else:
        print("make_seeds.py: no --python: importer seeds not written", file=sys.stderr)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Export a randomly initialised Hugging Face-style sequence classifier to TorchScript.

Usage (Debian's PyTorch 1.13; the python3 first on PATH may have no torch):

    /usr/bin/python3 tools/export_reference.py --family {bert,roberta,distilbert} \
        --layers 2 --hidden 64 --heads 4 --intermediate 128 --vocab 30522 --max-positions 128 \
        --labels 2 --seed 0 --mode {trace,script} [--token-types] [--no-perturb-norms] \
        [--no-perturb-biases] [--check] --out FILE.pt

The model classes live in tools/reference_models.py and reproduce HF transformers' module tree,
parameter names and forward, so the file looks like ``torch.jit.trace(HFModel(torchscript=True))``:
forward(input_ids, attention_mask[, token_type_ids]) -> (logits,), exported in eval() mode.

  --mode trace    torch.jit.trace on a padded batch of 2 (lengths 8 and 5); shapes stay dynamic.
  --mode script   torch.jit.script (control flow and dropout kept as code).
  --token-types   BERT only: forward also takes token_type_ids.
  --max-positions longest input; RoBERTa's position table gets 2 more rows (HF: 514 for 512).
  --check         also print the max |eager - exported| logit difference over random padded batches
                  of several lengths (and the exported file's parameter count), as JSON on stdout.

Weights follow HF's _init_weights (N(0, 0.02), zero biases, LayerNorm 1/0), then by default LayerNorm
weights/biases and Linear biases are perturbed, so that a rebuild that ignores them is caught.
"""

import argparse
import json
import os
import sys
import warnings

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference_models as rm  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--family", required=True, choices=rm.FAMILIES)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--intermediate", type=int, default=128)
    p.add_argument("--vocab", type=int, default=30522)
    p.add_argument("--max-positions", type=int, default=128)
    p.add_argument("--labels", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--mode", choices=("trace", "script"), default="trace")
    p.add_argument("--token-types", action="store_true", help="BERT: forward(input_ids, attention_mask, token_type_ids)")
    p.add_argument("--perturb-norms", dest="perturb_norms", action="store_true", default=True)
    p.add_argument("--no-perturb-norms", dest="perturb_norms", action="store_false")
    p.add_argument("--perturb-biases", dest="perturb_biases", action="store_true", default=True)
    p.add_argument("--no-perturb-biases", dest="perturb_biases", action="store_false")
    p.add_argument("--check", action="store_true", help="compare eager and exported logits")
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    if args.token_types and args.family != "bert":
        p.error("--token-types is only supported for --family bert")
    if args.hidden % args.heads != 0:
        p.error(f"--hidden {args.hidden} must be a multiple of --heads {args.heads}")
    return args


def random_batch(gen: torch.Generator, lengths, vocab: int, pad_id: int, token_types: bool, num_types: int = 2):
    """A right-padded batch: ids drawn from [pad_id+1, vocab) so no real token is the pad token."""
    seq = max(lengths)
    input_ids = torch.full((len(lengths), seq), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((len(lengths), seq), dtype=torch.long)
    for i, n in enumerate(lengths):
        input_ids[i, :n] = torch.randint(pad_id + 1, vocab, (n,), generator=gen)
        attention_mask[i, :n] = 1
    inputs = [input_ids, attention_mask]
    if token_types:
        token_type_ids = torch.zeros_like(input_ids)
        for i, n in enumerate(lengths):
            token_type_ids[i, n // 2 : n] = 1 if num_types > 1 else 0
        inputs.append(token_type_ids)
    return tuple(inputs)


def export(model: torch.nn.Module, mode: str, example):
    if mode == "trace":
        # DistilBERT's masked_fill(mask, torch.tensor(finfo.min)) is a constant, as it is when tracing HF.
        warnings.filterwarnings("ignore", message="torch.tensor results are registered as constants")
        return torch.jit.trace(model, example)
    return torch.jit.script(model)


def check(model, exported, args, pad_id: int) -> dict:
    """Max |eager - exported| over batches of several shapes, including ones unlike the trace example."""
    gen = torch.Generator().manual_seed(args.seed + 1)
    shapes = [[8, 5], [1], [3, 17, 9, 12], [args.max_positions, 2], [16] * 3]
    worst = 0.0
    with torch.no_grad():
        for lengths in shapes:
            batch = random_batch(gen, lengths, args.vocab, pad_id, args.token_types)
            want = model(*batch)[0]
            got = exported(*batch)[0]
            if got.shape != want.shape:
                raise SystemExit(f"check: shape mismatch for lengths {lengths}: {tuple(got.shape)} vs {tuple(want.shape)}")
            worst = max(worst, (got - want).abs().max().item())
    return {"max_abs_diff": worst, "batches": len(shapes)}


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.manual_seed(args.seed)
    config = rm.make_config(
        args.family, args.layers, args.hidden, args.heads, args.intermediate, args.vocab, args.max_positions, args.labels
    )
    model = rm.build_model(args.family, config, token_types=args.token_types)
    if args.perturb_norms:
        rm.perturb_norms(model)
    if args.perturb_biases:
        rm.perturb_biases(model)
    model.eval()

    pad_id = rm.pad_token_id(args.family)
    gen = torch.Generator().manual_seed(args.seed)
    example = random_batch(gen, [8, 5], args.vocab, pad_id, args.token_types)
    with torch.no_grad():
        exported = export(model, args.mode, example)
    out_dir = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(out_dir, exist_ok=True)
    tmp = args.out + ".tmp"
    exported.save(tmp)
    os.replace(tmp, args.out)

    if args.check:
        loaded = torch.jit.load(args.out)
        result = {
            "family": args.family,
            "mode": args.mode,
            "out": args.out,
            "forward_args": rm.forward_arg_names(model),
            "num_params": sum(p.numel() for p in loaded.parameters()),
        }
        result.update(check(model, loaded, args, pad_id))
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

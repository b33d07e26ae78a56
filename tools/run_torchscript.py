#!/usr/bin/env python3
"""Load a TorchScript model in Python and print its logits on a padded batch, as JSON.

Usage (any python with torch; the tests use tools/setup.sh's .venv):

    .venv/bin/python tools/run_torchscript.py MODEL.pt --ids "101,2023,102" [--ids "101,7592,2088,999,102" ...]
        [--pad-id 0] [--token-types "0,0,0" ...] [--decoder-ids "0,363" ...] [--decoder-start-id 0]

Each --ids is one sequence of token ids; the batch is right-padded with --pad-id (default 0; RoBERTa's
<pad> is 1, though with a correct mask the logits do not depend on it) and attention_mask is 1 on real
tokens. If the model's forward takes a third argument (token_type_ids) it gets the --token-types given, or
zeros. GPT-2 / OPT classifiers pick each row's last token that is not their pad id, so pad with the model's
pad id (--pad-id 50256 for tools/export_reference.py --family gpt2 --vocab 50257); otherwise the padded rows
give other logits. A T5ForConditionalGeneration (third argument decoder_input_ids) gets the --decoder-ids
given (one per --ids, right-padded with --pad-id), or one --decoder-start-id (default 0) per row; its logits
are [B, T_dec, vocab]. A model lwm wrote that scores label words (T5, a GPT-2 language model) also gives
"label_scores" [B, labels] from its classify(input_ids, attention_mask).
Prints {"logits": [[...], ...], "num_params": N, "forward_args": [...]} to stdout;
exits 1 with a message on stderr if the model cannot be loaded or run. Used by the end-to-end tests to prove
that a model written by lwm loads and runs in Python.
"""

import argparse
import json
import sys
import warnings

import torch

# torch 2.x deprecates TorchScript (FutureWarning on every torch.jit.load) but loads it; keep the output JSON only.
warnings.filterwarnings("ignore", category=FutureWarning, module=r"torch\.jit")


def parse_id_list(text: str, what: str):
    try:
        values = [int(t) for t in text.replace(" ", "").split(",") if t != ""]
    except ValueError:
        raise SystemExit(f"run_torchscript: {what} must be comma-separated integers, got {text!r}")
    if not values:
        raise SystemExit(f"run_torchscript: empty {what}")
    return values


def forward_arg_names(module) -> list:
    """Names of forward()'s arguments after self, from the TorchScript schema."""
    return [a.name for a in module.forward.schema.arguments[1:]]


def padded_batch(sequences, pad_id: int, fill_types=None):
    seq_len = max(len(s) for s in sequences)
    input_ids = torch.full((len(sequences), seq_len), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((len(sequences), seq_len), dtype=torch.long)
    token_type_ids = torch.zeros((len(sequences), seq_len), dtype=torch.long)
    for i, s in enumerate(sequences):
        input_ids[i, : len(s)] = torch.tensor(s, dtype=torch.long)
        attention_mask[i, : len(s)] = 1
        if fill_types is not None:
            token_type_ids[i, : len(fill_types[i])] = torch.tensor(fill_types[i], dtype=torch.long)
    return input_ids, attention_mask, token_type_ids


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model")
    p.add_argument("--ids", action="append", required=True, help="comma-separated token ids of one sequence")
    p.add_argument("--token-types", action="append", help="comma-separated token type ids, one per --ids")
    p.add_argument("--pad-id", type=int, default=0)
    p.add_argument("--decoder-ids", action="append", help="T5: comma-separated decoder_input_ids, one per --ids")
    p.add_argument("--decoder-start-id", type=int, default=0, help="T5: decoder start token when no --decoder-ids")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)

    sequences = [parse_id_list(s, "--ids") for s in args.ids]
    types = None
    if args.token_types:
        if len(args.token_types) != len(sequences):
            raise SystemExit("run_torchscript: give one --token-types per --ids")
        types = [parse_id_list(s, "--token-types") for s in args.token_types]
        for s, t in zip(sequences, types):
            if len(s) != len(t):
                raise SystemExit("run_torchscript: --token-types must be as long as its --ids")

    try:
        model = torch.jit.load(args.model, map_location="cpu")
    except Exception as e:  # torch raises RuntimeError or ValueError with the reason
        print(f"run_torchscript: cannot load {args.model}: {e}", file=sys.stderr)
        return 1
    model.eval()
    names = forward_arg_names(model)
    input_ids, attention_mask, token_type_ids = padded_batch(sequences, args.pad_id, types)
    inputs = [input_ids, attention_mask, token_type_ids][: max(1, min(len(names), 3))]
    if len(names) >= 3 and names[2] == "decoder_input_ids":
        if args.decoder_ids:
            if len(args.decoder_ids) != len(sequences):
                raise SystemExit("run_torchscript: give one --decoder-ids per --ids")
            decoder = [parse_id_list(s, "--decoder-ids") for s in args.decoder_ids]
        else:
            decoder = [[args.decoder_start_id] for _ in sequences]
        inputs[2] = padded_batch(decoder, args.pad_id)[0]

    try:
        with torch.no_grad():
            out = model(*inputs)
    except Exception as e:
        print(f"run_torchscript: {args.model}: forward({', '.join(names)}) failed: {e}", file=sys.stderr)
        return 1
    logits = out
    while isinstance(logits, (tuple, list)):  # HF torchscript=True returns (logits,)
        logits = logits[0]
    if isinstance(logits, dict):
        logits = logits["logits"]

    result = {
        "logits": logits.float().tolist(),
        "num_params": sum(t.numel() for t in model.parameters()),
        "forward_args": names,
    }
    if hasattr(model, "classify") and hasattr(model, "label_targets"):
        # A model lwm wrote that scores label words (T5, a GPT-2 LM): its label scores too.
        try:
            with torch.no_grad():
                result["label_scores"] = model.classify(input_ids, attention_mask).float().tolist()
        except Exception as e:
            print(f"run_torchscript: {args.model}: classify(input_ids, attention_mask) failed: {e}", file=sys.stderr)
            return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

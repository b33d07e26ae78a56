#!/usr/bin/env python3
"""Export a small random Hugging Face model (the real `transformers` class) to TorchScript, as users do.

Usage (the python of tools/setup.sh's .venv, with the pinned torch and transformers):

    .venv/bin/python tools/export_reference.py --family {bert,roberta,xlm-roberta,distilbert,electra,gpt2,opt,t5} \
        --layers 2 --hidden 64 --heads 4 --intermediate 128 --vocab 30522 --max-positions 128 \
        --labels 2 --seed 0 --attn {sdpa,eager} [--pad-id N] [--token-types] [--head {cls,lm}] \
        [--word-embed-proj-dim N] [--embedding-size N] [--post-ln] [--gated] [--no-tie-word-embeddings] [--clone-tied] [--init-from F.pt] \
        [--pooling {rightmost-non-pad,before-first-pad,count-non-pad}] [--no-perturb-norms] [--no-perturb-biases] [--check] \
        --out FILE.pt

The model is built by tools/hf_models.py from the transformers classes, with `config.torchscript = True`, and
exported in eval() mode with `torch.jit.trace` on a right-padded batch of 2 (lengths 8 and 5; shapes stay
dynamic):

  bert, roberta, xlm-roberta, distilbert, electra  *ForSequenceClassification: forward(input_ids, attention_mask[, token_type_ids])
                             -> (logits [B, labels],)
  gpt2   GPT2ForSequenceClassification: forward(input_ids, attention_mask) -> (logits [B, labels],), the
         logits of each row's last token that is not --pad-id; with --head lm GPT2LMHeadModel (lm_head tied
         to wte): forward(input_ids, attention_mask) -> (logits [B, T, vocab],)
  opt    OPTForSequenceClassification: forward(input_ids, attention_mask) -> (logits [B, labels],), same
         last-token rule
  t5     T5ForConditionalGeneration: forward(input_ids, attention_mask, decoder_input_ids)
         -> (lm_logits [B, T_dec, vocab], encoder_last_hidden_state [B, T, hidden]); decoder_input_ids start
         with the decoder start token (= pad id)

  --attn          the attention implementation: sdpa (transformers' default: aten::scaled_dot_product_attention
                  in the trace) or eager.
  --intermediate  the FFN width: BERT intermediate_size, GPT-2 n_inner, OPT ffn_dim, T5 d_ff (T5's
                  d_kv is hidden / heads).
  --max-positions longest input; RoBERTa's and OPT's position tables get 2 more rows (HF: 514 for 512,
                  2050 for 2048). Not used by T5 (relative positions).
  --pad-id        the pad token id (config.pad_token_id). Default: the family's HF default for the
                  vocabulary given: bert/distilbert/electra 0, roberta/xlm-roberta 1, t5 0, gpt2 vocab-1 (<|endoftext|>,
                  50256 for 50257), opt 1 with OPT's own 50272-token vocabulary and vocab-1 otherwise
                  (GPT-2's BPE, whose only special token is <|endoftext|>). GPT-2/OPT classifiers find the
                  last real token by it; T5 also starts decoder inputs with it.
  --token-types   BERT and ELECTRA only: forward also takes token_type_ids.
  --embedding-size N  ELECTRA only: the embedding width (default hidden / 2, as electra-small: the embedding
                  reaches the layers through embeddings_project; equal to --hidden: no projection).
  --head lm       GPT-2 only: GPT2LMHeadModel instead of the classifier.
  --word-embed-proj-dim N  OPT only: embeddings N wide with project_in / project_out (Linear, no bias)
                  when N != hidden (as opt-350m).
  --post-ln       OPT only: do_layer_norm_before=False (post-LN, as opt-350m); HF then has no decoder
                  final_layer_nohf.
  --gated         T5 only: T5 v1.1 feed-forward (wi_0, wi_1, gelu_new) instead of wi + ReLU.
  --no-tie-word-embeddings  T5 only: T5 v1.1's config (no d_model**-0.5 rescale); transformers 5 still ties
                  lm_head to the embedding (T5Config forces tie_word_embeddings=True, keeping the flag only as
                  `scale_decoder_outputs`).
  --untied-lm-head  T5 only, with --no-tie-word-embeddings: lm_head gets its own random weights, as T5 v1.1
                  checkpoints were exported by transformers 4.
  --pooling       GPT-2 / OPT classifiers: the token the classifier scores. rightmost-non-pad (default): the
                  installed transformers' rule, (arange(T) * (input_ids != pad)).argmax(-1) (transformers >= 4.49).
                  before-first-pad: the rule of transformers 4.32 to 4.48, (eq(input_ids, pad).int().argmax(-1) - 1)
                  % T, patched into the class's forward before tracing: a file as those versions exported it. The
                  two differ when a text holds the pad id (GPT-2's <|endoftext|>) or a row is left-padded.
                  count-non-pad: the rule before 4.32, ne(input_ids, pad).sum(-1) - 1, which lwm does not rebuild
                  (a file it must refuse).
  --init-from F   warm start: the parameters of TorchScript model F (same names and shapes; a shorter position
                  table is repeated to fill a longer one), instead of random weights (perturbations skipped).
  --clone-tied    GPT-2 --head lm and tied T5: lm_head.weight is a copy of the embedding, as older transformers
                  wrote it with torchscript=True (by default the two names share one tensor).
  --check         also print the max |eager - exported| logit difference over random right-padded
                  batches of several lengths (T5: with decoder inputs of several lengths), reloading the
                  file with torch.jit.load, and the file's parameter count, as JSON on stdout.

Weights are the class's own init (transformers' _init_weights); then by default LayerNorm weights/biases
(T5: RMS norm weights) and Linear/Conv1D biases are perturbed, so that a rebuild that ignores them is caught.
Random batches never use the pad id or another special id of the family for a real token.
"""

import argparse
import json
import os
import sys
import warnings

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_models as hf  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--family", required=True, choices=hf.FAMILIES)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--intermediate", type=int, default=128)
    p.add_argument("--vocab", type=int, default=30522)
    p.add_argument("--max-positions", type=int, default=128)
    p.add_argument("--labels", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--attn", choices=hf.ATTENTION, default="sdpa", help="attention implementation")
    p.add_argument("--pad-id", type=int, default=None, help="pad token id (default: the family's HF default)")
    p.add_argument("--token-types", action="store_true", help="BERT, ELECTRA: forward(input_ids, attention_mask, token_type_ids)")
    p.add_argument("--head", choices=("cls", "lm"), default=None, help="GPT-2: cls (default) or lm")
    p.add_argument("--word-embed-proj-dim", type=int, default=None, help="OPT: word_embed_proj_dim")
    p.add_argument("--embedding-size", type=int, default=None, help="ELECTRA: embedding_size")
    p.add_argument("--post-ln", action="store_true", help="OPT: do_layer_norm_before=False")
    p.add_argument("--gated", action="store_true", help="T5: gated-gelu feed-forward (T5 v1.1)")
    p.add_argument("--tie-word-embeddings", dest="tie_word_embeddings", action="store_true", default=True)
    p.add_argument("--no-tie-word-embeddings", dest="tie_word_embeddings", action="store_false",
                   help="T5: v1.1's config, no rescale")
    p.add_argument("--untied-lm-head", action="store_true", help="T5: lm_head with its own weights (transformers 4)")
    p.add_argument("--clone-tied", action="store_true",
                   help="GPT-2 LM, T5: the tied lm_head a copy of the embedding (HF torchscript=True), not shared")
    p.add_argument("--init-from", default=None,
                   help="warm start: copy the parameters of this TorchScript model (same names) into the export")
    p.add_argument("--pretrained", default=None, metavar="DIR",
                   help="encoder families: the pretrained encoder saved in Hugging Face folder DIR with a new "
                        "classification head (--labels); its config sets every size (--layers, --hidden, ... ignored)")
    p.add_argument("--pooling", choices=hf.POOLING, default="rightmost-non-pad",
                   help="GPT-2/OPT classifiers: the last-token rule (before-first-pad: transformers 4.32-4.48; "
                        "count-non-pad: before 4.32)")
    p.add_argument("--perturb-norms", dest="perturb_norms", action="store_true", default=True)
    p.add_argument("--no-perturb-norms", dest="perturb_norms", action="store_false")
    p.add_argument("--perturb-biases", dest="perturb_biases", action="store_true", default=True)
    p.add_argument("--no-perturb-biases", dest="perturb_biases", action="store_false")
    p.add_argument("--check", action="store_true", help="compare eager and exported logits")
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    if args.pretrained and (args.init_from or args.token_types or args.family in hf.DECODER_FAMILIES):
        p.error("--pretrained is for the encoder classifiers, without --init-from or --token-types")
    if args.token_types and args.family not in ("bert", "electra"):
        p.error("--token-types is only supported for --family bert and electra")
    if args.head == "lm" and args.family not in ("gpt2", "t5"):
        p.error("--head lm is only supported for --family gpt2 (t5 is always a seq2seq LM)")
    if args.head == "cls" and args.family == "t5":
        p.error("--family t5 exports T5ForConditionalGeneration (--head lm) only")
    if args.embedding_size is not None and args.family != "electra":
        p.error("--embedding-size is only supported for --family electra")
    if args.word_embed_proj_dim is not None and args.family != "opt":
        p.error("--word-embed-proj-dim is only supported for --family opt")
    if args.post_ln and args.family != "opt":
        p.error("--post-ln is only supported for --family opt")
    if args.untied_lm_head and args.tie_word_embeddings:
        p.error("--untied-lm-head needs --no-tie-word-embeddings")
    if (args.gated or not args.tie_word_embeddings) and args.family != "t5":
        p.error("--gated and --no-tie-word-embeddings are only supported for --family t5")
    if args.clone_tied and not ((args.family == "gpt2" and args.head == "lm") or
                                (args.family == "t5" and args.tie_word_embeddings)):
        p.error("--clone-tied is only for a tied LM head: --family gpt2 --head lm, or --family t5")
    if args.pooling != "rightmost-non-pad" and (args.family not in ("gpt2", "opt") or args.head == "lm"):
        p.error(f"--pooling {args.pooling} is only for the GPT-2 and OPT classifiers")
    if args.hidden % args.heads != 0:
        p.error(f"--hidden {args.hidden} must be a multiple of --heads {args.heads}")
    if args.pad_id is not None and not 0 <= args.pad_id < args.vocab:
        p.error(f"--pad-id {args.pad_id} must be in [0, --vocab {args.vocab})")
    return args


def random_tokens(gen: torch.Generator, n: int, vocab: int, pad_id: int, avoid=None) -> torch.Tensor:
    """n token ids that are never special. Without ``avoid`` (the encoder families, as before): drawn from
    [pad_id+1, vocab). With ``avoid`` (sorted special ids): uniform over [0, vocab) minus those ids."""
    if avoid is None:
        return torch.randint(pad_id + 1, vocab, (n,), generator=gen)
    ids = torch.randint(0, vocab - len(avoid), (n,), generator=gen)
    for special in avoid:  # ascending: shift every draw at or above a special id past it
        ids = ids + (ids >= special).long()
    return ids


def random_batch(gen: torch.Generator, lengths, vocab: int, pad_id: int, token_types: bool, num_types: int = 2,
                 avoid=None):
    """A right-padded batch: pad_id after each row's length, attention_mask 1 on the real tokens, which
    are never the pad token (see random_tokens)."""
    seq = max(lengths)
    input_ids = torch.full((len(lengths), seq), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((len(lengths), seq), dtype=torch.long)
    for i, n in enumerate(lengths):
        input_ids[i, :n] = random_tokens(gen, n, vocab, pad_id, avoid)
        attention_mask[i, :n] = 1
    inputs = [input_ids, attention_mask]
    if token_types:
        token_type_ids = torch.zeros_like(input_ids)
        for i, n in enumerate(lengths):
            token_type_ids[i, n // 2 : n] = 1 if num_types > 1 else 0
        inputs.append(token_type_ids)
    return tuple(inputs)


def random_decoder_ids(gen: torch.Generator, lengths, vocab: int, start_id: int, pad_id: int, avoid) -> torch.Tensor:
    """T5 decoder_input_ids: decoder_start_token_id then random real tokens, right-padded with pad_id (the
    forward has no decoder mask; with causal attention a row's real positions never see its padding)."""
    seq = max(lengths)
    ids = torch.full((len(lengths), seq), pad_id, dtype=torch.long)
    for i, n in enumerate(lengths):
        ids[i, 0] = start_id
        ids[i, 1:n] = random_tokens(gen, n - 1, vocab, pad_id, avoid)
    return ids


class Batches:
    """Random inputs for one exported model: the family's forward arguments, its pad id and specials."""

    def __init__(self, args, config):
        self.args = args
        self.family = args.family
        self.pad_id = config.pad_token_id
        # Encoder families keep drawing from [pad+1, vocab) (the files they export are unchanged).
        self.avoid = hf.special_token_ids(args.family, config) if args.family in hf.DECODER_FAMILIES else None
        self.start_id = getattr(config, "decoder_start_token_id", None)

    def make(self, gen: torch.Generator, lengths, decoder_lengths=None):
        batch = random_batch(gen, lengths, self.args.vocab, self.pad_id, self.args.token_types, avoid=self.avoid)
        if self.family == "t5":
            if decoder_lengths is None:
                decoder_lengths = [max(1, n - 2) for n in lengths]
            batch = batch + (
                random_decoder_ids(gen, decoder_lengths, self.args.vocab, self.start_id, self.pad_id, self.avoid),
            )
        return batch


def export(model: torch.nn.Module, example):
    # DistilBERT's masked_fill(mask, torch.tensor(finfo.min)) is a constant, as it is in any trace of HF; torch
    # 2.x and transformers 5 deprecate TorchScript and some config names (FutureWarning), but trace as before.
    warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    return torch.jit.trace(model, example)


def check(model, exported, args, batches: Batches) -> dict:
    """Max |eager - exported| over batches of several shapes, including ones unlike the trace example.
    For T5 every batch also has its own decoder lengths (a single start token, short, longer than the
    encoder input), and all outputs (logits and encoder states) are compared."""
    gen = torch.Generator().manual_seed(args.seed + 1)
    shapes = [[8, 5], [1], [3, 17, 9, 12], [args.max_positions, 2], [16] * 3]
    decoder_shapes = [[6, 4], [1], [1, 5, 9, 2], [3, 7], [20, 20, 11]]
    worst = 0.0
    output_shapes = []
    with torch.no_grad():
        for lengths, decoder_lengths in zip(shapes, decoder_shapes):
            batch = batches.make(gen, lengths, decoder_lengths)
            want = model(*batch)
            got = exported(*batch)
            want = want if isinstance(want, tuple) else (want,)
            if len(got) != len(want):
                raise SystemExit(f"check: {len(got)} outputs, eager has {len(want)}")
            for g, w in zip(got, want):
                if g.shape != w.shape:
                    raise SystemExit(
                        f"check: shape mismatch for lengths {lengths}: {tuple(g.shape)} vs {tuple(w.shape)}"
                    )
                worst = max(worst, (g - w).abs().max().item())
            output_shapes.append([list(w.shape) for w in want])
    return {"max_abs_diff": worst, "batches": len(shapes), "output_shapes": output_shapes}


def init_from(model: torch.nn.Module, path: str) -> None:
    """Copies every parameter of the TorchScript model at `path` whose name the export has. Same shapes are
    required, except a position table with fewer rows (a model fine-tuned at a shorter max length): its rows
    fill the first positions and the rest repeat them (position i gets row i mod rows), so longer inputs start
    from embeddings the layers already know. A warm start for benchmarks: there are no pretrained checkpoints
    here."""
    source = dict(torch.jit.load(path, map_location="cpu").named_parameters())
    own = dict(model.named_parameters())
    missing = sorted(set(own) - set(source))
    if missing:
        raise SystemExit(f"export_reference: --init-from {path} lacks {len(missing)} parameter(s), e.g. {missing[0]}")
    with torch.no_grad():
        for name, param in own.items():
            src = source[name]
            if src.shape == param.shape:
                param.copy_(src)
            elif "position" in name and src.dim() == 2 and src.shape[1] == param.shape[1] and src.shape[0] < param.shape[0]:
                rows = torch.arange(param.shape[0]) % src.shape[0]
                param.copy_(src[rows])
            else:
                raise SystemExit(f"export_reference: --init-from {path}: '{name}' is {tuple(src.shape)}, "
                                 f"the export needs {tuple(param.shape)}")


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.manual_seed(args.seed)
    if args.pretrained:
        model = hf.from_pretrained(args.family, args.pretrained, args.labels, attn=args.attn)
        config = model.config
        args.vocab, args.max_positions = config.vocab_size, config.max_position_embeddings
    else:
        model, config = build(args)
    model.eval()
    export_and_check(model, config, args)
    return 0


def build(args):
    """A fresh model from the size options: the class's own init, then the perturbations and options."""
    config = hf.make_config(
        args.family, args.layers, args.hidden, args.heads, args.intermediate, args.vocab, args.max_positions,
        args.labels, pad_id=args.pad_id, word_embed_proj_dim=args.word_embed_proj_dim, post_ln=args.post_ln,
        embedding_size=args.embedding_size,
        gated=args.gated, tie_word_embeddings=args.tie_word_embeddings,
    )
    config.torchscript = True
    model = hf.build_model(args.family, config, attn=args.attn, token_types=args.token_types, head=args.head,
                           pooling=args.pooling)
    if args.perturb_norms and not args.init_from:
        hf.perturb_norms(model)
    if args.perturb_biases and not args.init_from:
        hf.perturb_biases(model)
    if args.init_from:
        init_from(model, args.init_from)
    if args.untied_lm_head:
        model.lm_head.weight = torch.nn.Parameter(torch.randn_like(model.lm_head.weight))
    if args.clone_tied:
        # transformers 4.x with torchscript=True cloned the embedding into lm_head (_tie_or_clone_weights)
        # instead of sharing it: the file then holds two equal tensors.
        model.lm_head.weight = torch.nn.Parameter(model.lm_head.weight.detach().clone())
    return model, config


def export_and_check(model, config, args) -> None:
    batches = Batches(args, config)
    gen = torch.Generator().manual_seed(args.seed)
    example = batches.make(gen, [8, 5], [6, 4])
    with torch.no_grad():
        exported = export(model, example)
    out_dir = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(out_dir, exist_ok=True)
    tmp = args.out + ".tmp"
    exported.save(tmp)
    os.replace(tmp, args.out)

    if args.check:
        loaded = torch.jit.load(args.out)
        result = {
            "family": args.family,
            "attn": args.attn,
            "out": args.out,
            "model": type(model).__name__,
            "forward_args": model.forward_args,
            "pad_id": batches.pad_id,
            "num_params": sum(p.numel() for p in loaded.parameters()),
        }
        result.update(check(model, loaded, args, batches))
        print(json.dumps(result))


if __name__ == "__main__":
    sys.exit(main())

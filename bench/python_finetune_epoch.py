#!/usr/bin/env python3
"""Python side of the fine-tuning benchmark: time one epoch of eager PyTorch fine-tuning on SST-2.

Usage (the python of tools/setup.sh's .venv: the pinned torch and transformers):

    .venv/bin/python bench/python_finetune_epoch.py --model TEACHER_INIT.pt \
        --family bert --layers 2 --hidden 64 --heads 4 --intermediate 128 --max-positions 128 --labels 2 \
        --train ../shared/data/glue/SST-2/train.tsv --vocab ../shared/data/vocab/bert-base-uncased/vocab.txt \
        --max-length 128 --batch-size 32 --lr 5e-5 --threads 2 [--limit 256] [--seed 0] [--warmup 0.1]

TEACHER_INIT.pt is a TorchScript written by tools/export_reference.py with the same hyperparameters.
The eager model is the transformers class again (tools/hf_models.py, sdpa attention), and its weights are loaded from the TorchScript
state dict (HF names), so Python trains exactly the model the C++ side starts from.

Tokenization (a faithful BERT basic + WordPiece tokenizer, [CLS] ... [SEP], truncated to --max-length)
is done first and NOT timed. The timed part is one epoch: shuffled (seeded) batches with dynamic padding
(each batch padded to its longest sequence), model.train() with dropout, cross-entropy, AdamW
(betas 0.9/0.999, eps 1e-8, no weight decay: HF Trainer defaults), linear warm-up over the first
--warmup fraction of steps then linear decay to 0, as HF's get_linear_schedule_with_warmup.

Prints one JSON line: {"seconds", "examples", "tokens" (real, unpadded), "padded_tokens", "tokens_per_s",
"examples_per_s", "steps", "threads", "final_loss", "mean_loss", "torch"}.
"""

import argparse
import json
import os
import sys
import time
import unicodedata

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import hf_models as hf  # noqa: E402


# --------------------------------------------------------------------------------------------------
# BERT tokenizer (HF BasicTokenizer + WordpieceTokenizer, do_lower_case=True)
# --------------------------------------------------------------------------------------------------


def _is_whitespace(ch: str) -> bool:
    if ch in (" ", "\t", "\n", "\r"):
        return True
    return unicodedata.category(ch) == "Zs"


def _is_control(ch: str) -> bool:
    if ch in ("\t", "\n", "\r"):
        return False
    return unicodedata.category(ch).startswith("C")


def _is_punctuation(ch: str) -> bool:
    cp = ord(ch)
    # All non-letter/number ASCII is punctuation for BERT ("$", "^", "`" are not Unicode P*).
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_chinese_char(cp: int) -> bool:
    return (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0x20000 <= cp <= 0x2A6DF
        or 0x2A700 <= cp <= 0x2B73F
        or 0x2B740 <= cp <= 0x2B81F
        or 0x2B820 <= cp <= 0x2CEAF
        or 0xF900 <= cp <= 0xFAFF
        or 0x2F800 <= cp <= 0x2FA1F
    )


class BertTokenizer:
    """Lower-casing BERT tokenizer: clean, pad CJK chars with spaces, split on whitespace, lower-case,
    strip accents (NFD, drop Mn), split punctuation, then greedy longest-match-first WordPiece."""

    def __init__(self, vocab_path: str, max_input_chars_per_word: int = 100):
        self.vocab = {}
        with open(vocab_path, encoding="utf-8") as f:
            for i, line in enumerate(f):
                token = line.rstrip("\n")
                if token:
                    self.vocab[token] = i
        for special in ("[UNK]", "[CLS]", "[SEP]", "[PAD]"):
            if special not in self.vocab:
                raise SystemExit(f"{vocab_path}: vocabulary has no {special} token")
        self.unk_id = self.vocab["[UNK]"]
        self.cls_id = self.vocab["[CLS]"]
        self.sep_id = self.vocab["[SEP]"]
        self.pad_id = self.vocab["[PAD]"]
        self.max_input_chars_per_word = max_input_chars_per_word

    # BasicTokenizer --------------------------------------------------------------------------------
    @staticmethod
    def _clean_text(text: str) -> str:
        out = []
        for ch in text:
            cp = ord(ch)
            if cp == 0 or cp == 0xFFFD or _is_control(ch):
                continue
            out.append(" " if _is_whitespace(ch) else ch)
        return "".join(out)

    @staticmethod
    def _tokenize_chinese_chars(text: str) -> str:
        out = []
        for ch in text:
            if _is_chinese_char(ord(ch)):
                out.extend((" ", ch, " "))
            else:
                out.append(ch)
        return "".join(out)

    @staticmethod
    def _strip_accents(text: str) -> str:
        return "".join(ch for ch in unicodedata.normalize("NFD", text) if unicodedata.category(ch) != "Mn")

    @staticmethod
    def _split_on_punc(text: str):
        pieces, current = [], []
        for ch in text:
            if _is_punctuation(ch):
                if current:
                    pieces.append("".join(current))
                    current = []
                pieces.append(ch)
            else:
                current.append(ch)
        if current:
            pieces.append("".join(current))
        return pieces

    def basic_tokenize(self, text: str):
        text = self._tokenize_chinese_chars(self._clean_text(text))
        text = unicodedata.normalize("NFC", text)  # as HF >= 4.28, so composed and decomposed input agree
        tokens = []
        for token in text.split():
            token = self._strip_accents(token.lower())
            tokens.extend(self._split_on_punc(token))
        return " ".join(tokens).split()

    # WordpieceTokenizer ----------------------------------------------------------------------------
    def wordpiece_ids(self, word: str):
        if len(word) > self.max_input_chars_per_word:
            return [self.unk_id]
        ids, start = [], 0
        while start < len(word):
            end = len(word)
            found = None
            while start < end:
                piece = word[start:end]
                if start > 0:
                    piece = "##" + piece
                if piece in self.vocab:
                    found = self.vocab[piece]
                    break
                end -= 1
            if found is None:
                return [self.unk_id]
            ids.append(found)
            start = end
        return ids

    def encode(self, text: str, max_length: int):
        """[CLS] wordpieces [SEP], truncated so the whole is at most max_length ids."""
        ids = []
        for word in self.basic_tokenize(text):
            ids.extend(self.wordpiece_ids(word))
        ids = ids[: max(0, max_length - 2)]
        return [self.cls_id] + ids + [self.sep_id]


# --------------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------------


def read_sst2(path: str, limit: int):
    """GLUE SST-2 TSV: header 'sentence<TAB>label'."""
    sentences, labels = [], []
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        try:
            s_col, l_col = header.index("sentence"), header.index("label")
        except ValueError:
            raise SystemExit(f"{path}: expected a header with 'sentence' and 'label', got {header}")
        for line in f:
            fields = line.rstrip("\n").split("\t")
            if len(fields) <= max(s_col, l_col):
                continue
            sentences.append(fields[s_col])
            labels.append(int(fields[l_col]))
            if limit and len(sentences) >= limit:
                break
    if not sentences:
        raise SystemExit(f"{path}: no examples")
    return sentences, labels


def make_batches(encoded, labels, batch_size: int, pad_id: int, seed: int):
    """Shuffled (seeded) batches, each padded to its own longest sequence."""
    order = torch.randperm(len(encoded), generator=torch.Generator().manual_seed(seed)).tolist()
    batches = []
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        seq_len = max(len(encoded[i]) for i in idx)
        input_ids = torch.full((len(idx), seq_len), pad_id, dtype=torch.long)
        attention_mask = torch.zeros((len(idx), seq_len), dtype=torch.long)
        for row, i in enumerate(idx):
            input_ids[row, : len(encoded[i])] = torch.tensor(encoded[i], dtype=torch.long)
            attention_mask[row, : len(encoded[i])] = 1
        batches.append((input_ids, attention_mask, torch.tensor([labels[i] for i in idx], dtype=torch.long)))
    return batches


# --------------------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------------------


def load_eager_model(args):
    config = hf.make_config(
        args.family, args.layers, args.hidden, args.heads, args.intermediate, args.vocab_size, args.max_positions,
        args.labels,
    )
    model = hf.build_model(args.family, config).train()
    scripted = torch.jit.load(args.model, map_location="cpu")
    state = scripted.state_dict()
    want = model.state_dict()
    # A TorchScript keeps non-persistent buffers (token_type_ids, DistilBERT's position_ids) too.
    state = {k: v for k, v in state.items() if k in want}
    missing = [k for k in want if k not in state]
    if missing:
        raise SystemExit(f"{args.model}: does not match --family {args.family}: missing {missing[:5]}")
    for k, v in state.items():
        if v.shape != want[k].shape:
            raise SystemExit(
                f"{args.model}: {k} has shape {tuple(v.shape)}, expected {tuple(want[k].shape)} from the "
                "hyperparameters on the command line"
            )
    model.load_state_dict(state, strict=True)
    return model


def linear_warmup_decay(optimizer, warmup_steps: int, total_steps: int):
    """HF get_linear_schedule_with_warmup."""

    def factor(step: int) -> float:
        if step < warmup_steps:
            return float(step) / float(max(1, warmup_steps))
        return max(0.0, float(total_steps - step) / float(max(1, total_steps - warmup_steps)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="TorchScript from tools/export_reference.py")
    p.add_argument("--family", required=True, choices=hf.FAMILIES)
    p.add_argument("--layers", type=int, required=True)
    p.add_argument("--hidden", type=int, required=True)
    p.add_argument("--heads", type=int, required=True)
    p.add_argument("--intermediate", type=int, required=True)
    p.add_argument("--max-positions", type=int, required=True)
    p.add_argument("--labels", type=int, default=2)
    p.add_argument("--train", required=True, help="GLUE SST-2 train.tsv")
    p.add_argument("--vocab", required=True, help="WordPiece vocab.txt (bert-base-uncased)")
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=5e-5)
    p.add_argument("--warmup", type=float, default=0.1, help="fraction of steps with linear warm-up")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--limit", type=int, default=0, help="use only the first N examples (0: all)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    # --- untimed: tokenizer, data, model ---
    tokenizer = BertTokenizer(args.vocab)
    args.vocab_size = len(tokenizer.vocab)
    max_length = min(args.max_length, args.max_positions)
    sentences, labels = read_sst2(args.train, args.limit)
    encoded = [tokenizer.encode(s, max_length) for s in sentences]
    if args.family == "roberta":
        pad_id = hf.default_pad_token_id("roberta")  # positions count tokens != 1; BERT ids never use 1 ([unused0])
    else:
        pad_id = tokenizer.pad_id
    batches = make_batches(encoded, labels, args.batch_size, pad_id, args.seed)
    model = load_eager_model(args)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    total_steps = len(batches)
    scheduler = linear_warmup_decay(optimizer, int(args.warmup * total_steps), total_steps)

    # --- timed: one epoch ---
    losses = []
    start = time.perf_counter()
    for input_ids, attention_mask, y in batches:
        logits = model(input_ids, attention_mask)[0]
        loss = F.cross_entropy(logits, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
    seconds = time.perf_counter() - start

    tokens = sum(len(e) for e in encoded)
    padded_tokens = sum(b[0].numel() for b in batches)
    print(
        json.dumps(
            {
                "seconds": seconds,
                "examples": len(encoded),
                "tokens": tokens,
                "padded_tokens": padded_tokens,
                "tokens_per_s": tokens / seconds,
                "examples_per_s": len(encoded) / seconds,
                "steps": total_steps,
                "threads": args.threads,
                "final_loss": losses[-1],
                "mean_loss": sum(losses) / len(losses),
                "torch": torch.__version__,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

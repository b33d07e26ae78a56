#!/usr/bin/env python3
"""Hugging Face's token ids for real texts, the reference of tests/unit/test_tokenizer_parity.cpp.

    tools/hf_token_ids.py --data ../shared/data --kind bert --out bert.jsonl
    tools/hf_token_ids.py --data ../shared/data --kind bert,gpt2,roberta,opt,t5,xlm-roberta --out DIR   # DIR/<kind>.jsonl

Picks a deterministic sample of texts from the data folder (see sample()) and writes one JSON line per text:
{"source", "a", "b", "max_length", "ids", "type_ids"}, where
  ids       HF's ids with the model's special tokens, truncated to max_length (0: no truncation;
            pairs "longest_first"), as `tokenizer(a, b, truncation=..., max_length=...)` gives them;
  type_ids  HF's token_type_ids where the model takes them (BERT), else null;
  a_ids, b_ids  t5, xlm-roberta only: HF's ids of each text alone (no template, no truncation; b_ids null for a single
            text), and the first line's "meta" carries the model's "pieces" and "scores": the test tells
            equally good segmentations apart with them.
The first line is {"meta": {"kind", "texts", "transformers", "tokenizers", "class", ...}}.

Kinds (the tokenizers are built from local files only, never from the Hub):
  bert     BertTokenizer on vocab/bert-base-uncased/vocab.txt (lower-case, strip accents; [CLS] A [SEP] B [SEP])
  gpt2     GPT2Tokenizer on vocab/gpt2/vocab.json + merges.txt (no special tokens)
  roberta  RobertaTokenizer on the same files, <s> A </s></s> B </s>. GPT-2's vocabulary has no <s>, </s>,
           <unk>, <pad> or <mask>; lwm's "roberta" family then uses <|endoftext|> (50256) for every one
           of them (src/data/byte_level_bpe.cpp), so HF is given <|endoftext|> as each special token too.
           (Left at their defaults, HF would append the five names as new ids 50257..50261 instead.)
  opt      GPT2Tokenizer(add_bos_token=True) on the same files, bos A bos B, bos = <|endoftext|> (lwm's
           fallback for OPT's </s>, absent from GPT-2's vocabulary; HF would add </s> as 50257).
  t5       T5Tokenizer(extra_ids=0) on a SentencePiece model (--spm, default tests/data/tokenizer/t5/
           spiece.model), built the way T5Tokenizer.from_pretrained converts a spiece.model (its pieces and
           scores, its control pieces as special tokens, its precompiled normaliser), A </s> B </s>.
           from_pretrained itself cannot: its SentencePieceExtractor needs the protobuf package, which the
           pinned environment lacks, so the two protobuf fields needed are read here by hand.
  xlm-roberta  XLMRobertaTokenizer on a SentencePiece model (--spm, default tests/data/tokenizer/xlm-roberta/
           sentencepiece.bpe.model), built as transformers' XLMRobertaConverter converts one: <s> <pad> </s>
           <unk>, the model's pieces from id 3 on, <mask>; the precompiled normaliser; <s> A </s></s> B </s>.
"""
import argparse
import csv
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")

csv.field_size_limit(sys.maxsize)

KINDS = ("bert", "gpt2", "roberta", "opt", "t5", "xlm-roberta")
SPM_KINDS = ("t5", "xlm-roberta")  # SentencePiece: per-text ids and the pieces' scores are written too
GLUE_MAX_LENGTHS = (128, 40, 25)  # cycled over the GLUE texts: most fit 128; 40 and 25 cut many, pairs too
IMDB_MAX_LENGTHS = (256, 0)  # 0: no truncation (whole reviews)


# ---- Texts ------------------------------------------------------------------------------------------------


def read_tsv(path, header=True):
    with open(path, encoding="utf-8-sig", newline="") as f:  # utf-8-sig: MRPC starts with a BOM
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    if not header:
        return rows, None
    return rows[1:], {name: i for i, name in enumerate(rows[0])}


def sample(data):
    """[(source, a, b, max_length)], b "" for a single text. Deterministic: fixed files, rows and order."""
    glue = os.path.join(data, "glue")
    items = []

    def add_glue(source, a, b):
        items.append((source, a, b, GLUE_MAX_LENGTHS[len(items) % len(GLUE_MAX_LENGTHS)]))

    # Single sentences. SST-2 (lower-cased, tokenised): all of dev, the first 2,128 of train.
    rows, col = read_tsv(os.path.join(glue, "SST-2", "dev.tsv"))
    for r in rows:
        add_glue("sst2-dev", r[col["sentence"]], "")
    rows, col = read_tsv(os.path.join(glue, "SST-2", "train.tsv"))
    for r in rows[:2128]:
        add_glue("sst2-train", r[col["sentence"]], "")
    # CoLA dev (cased, raw punctuation): source, label, orig_label, sentence; no header.
    rows, _ = read_tsv(os.path.join(glue, "CoLA", "dev.tsv"), header=False)
    for r in rows:
        add_glue("cola-dev", r[3], "")

    # Pairs. RTE: all of dev + the first 723 of train (long premises: many are cut at 128 too).
    for split, n in (("dev", None), ("train", 723)):
        rows, col = read_tsv(os.path.join(glue, "RTE", split + ".tsv"))
        for r in rows[:n]:
            add_glue("rte-" + split, r[col["sentence1"]], r[col["sentence2"]])
    # MRPC (tokenised: "doesn 't"): all of dev + the first 592 of train.
    for split, n in (("dev", None), ("train", 592)):
        rows, col = read_tsv(os.path.join(glue, "MRPC", split + ".tsv"))
        for r in rows[:n]:
            add_glue("mrpc-" + split, r[col["#1 String"]], r[col["#2 String"]])
    # STS-B dev: all 1,500.
    rows, col = read_tsv(os.path.join(glue, "STS-B", "dev.tsv"))
    for r in rows:
        add_glue("stsb-dev", r[col["sentence1"]], r[col["sentence2"]])

    # IMDb train: every 25th review (the file is 12,500 negative then 12,500 positive: 500 of each).
    with open(os.path.join(data, "imdb", "train.jsonl"), encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i % 25 == 0:
                text = json.loads(line)["text"]
                items.append(("imdb-train", text, "", IMDB_MAX_LENGTHS[(i // 25) % len(IMDB_MAX_LENGTHS)]))
    return items


# ---- Tokenizers -------------------------------------------------------------------------------------------


def _varint(buf, i):
    shift = value = 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return value, i


def _fields(buf):
    """(field number, wire type, value) of a protobuf message; value bytes for length-delimited fields."""
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 1:
            value, i = buf[i : i + 8], i + 8
        elif wire == 2:
            n, i = _varint(buf, i)
            value, i = buf[i : i + n], i + n
        elif wire == 5:
            value, i = buf[i : i + 4], i + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield field, wire, value


def spm_precompiled_charsmap(path):
    """ModelProto.normalizer_spec (3).precompiled_charsmap (2), read without the protobuf package (which
    transformers' SentencePieceExtractor needs and the pinned environment lacks)."""
    with open(path, "rb") as f:
        model = f.read()
    for field, wire, value in _fields(model):
        if field == 3 and wire == 2:
            for f2, w2, v2 in _fields(value):
                if f2 == 2 and w2 == 2:
                    return bytes(v2)
    return None


def spm_piece_types(path):
    """ModelProto.pieces (1): each SentencePiece's type (3; NORMAL = 1 when absent), in id order."""
    with open(path, "rb") as f:
        model = f.read()
    types = []
    for field, wire, value in _fields(model):
        if field == 1 and wire == 2:
            t = 1
            for f2, w2, v2 in _fields(value):
                if f2 == 3 and w2 == 0:
                    t = v2
            types.append(t)
    return types


def default_spm(kind):
    """The repository's SentencePiece test model for a kind (tests/data/tokenizer/)."""
    tests = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "tokenizer")
    if kind == "xlm-roberta":
        return os.path.join(tests, "xlm-roberta", "sentencepiece.bpe.model")
    return os.path.join(tests, "t5", "spiece.model")


def make_tokenizer(kind, data, spm):
    if kind == "bert":
        from transformers import BertTokenizer
        from transformers.models.bert.tokenization_bert import load_vocab

        return BertTokenizer(vocab=load_vocab(os.path.join(data, "vocab", "bert-base-uncased", "vocab.txt")))
    if kind in ("gpt2", "roberta", "opt"):
        from transformers import GPT2Tokenizer, RobertaTokenizer

        d = os.path.join(data, "vocab", "gpt2")
        with open(os.path.join(d, "vocab.json"), encoding="utf-8") as f:
            vocab = json.load(f)
        with open(os.path.join(d, "merges.txt"), encoding="utf-8") as f:
            lines = f.read().split("\n")
        merges = [tuple(line.split(" ")) for line in lines if line and not line.startswith("#version")]
        eot = "<|endoftext|>"
        if kind == "gpt2":
            return GPT2Tokenizer(vocab=vocab, merges=merges)
        if kind == "opt":
            return GPT2Tokenizer(vocab=vocab, merges=merges, bos_token=eot, eos_token=eot, unk_token=eot,
                                 add_bos_token=True)
        return RobertaTokenizer(vocab=vocab, merges=merges, bos_token=eot, eos_token=eot, sep_token=eot,
                                cls_token=eot, unk_token=eot, pad_token=eot, mask_token=eot)
    if kind == "t5":
        import sentencepiece as spm_lib
        from transformers import AddedToken, T5Tokenizer

        sp = spm_lib.SentencePieceProcessor(model_file=spm)
        n = sp.get_piece_size()
        vocab = [(sp.id_to_piece(i), sp.get_score(i)) for i in range(n)]
        types = spm_piece_types(spm)  # control (3) pieces are special tokens, user-defined (4) added ones
        specials = [AddedToken(sp.id_to_piece(i), normalized=False, special=types[i] == 3)
                    for i in range(n) if types[i] in (3, 4)]
        return T5Tokenizer(vocab=vocab, unk_id=sp.unk_id(), _spm_precompiled_charsmap=spm_precompiled_charsmap(spm),
                           extra_ids=0, additional_special_tokens=specials)
    if kind == "xlm-roberta":
        import sentencepiece as spm_lib
        from transformers import XLMRobertaTokenizer

        sp = spm_lib.SentencePieceProcessor(model_file=spm)
        vocab = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
        vocab += [(sp.id_to_piece(i), sp.get_score(i)) for i in range(3, sp.get_piece_size())]
        vocab += [("<mask>", 0.0)]
        return XLMRobertaTokenizer(vocab=vocab, _spm_precompiled_charsmap=spm_precompiled_charsmap(spm))
    raise SystemExit(f"unknown kind {kind!r} (expected one of {', '.join(KINDS)})")


def encode_all(kind, tok, items):
    """HF's encodings of the items, in order, batched by (single/pair, max_length)."""
    backend = tok.backend_tokenizer
    want_types = "token_type_ids" in tok.model_input_names
    # Each text's own ids: no template, no truncation.
    backend.no_truncation()
    full_a = backend.encode_batch([a for _, a, _, _ in items], add_special_tokens=False)
    full_b = backend.encode_batch([b for _, _, b, _ in items], add_special_tokens=False)
    groups = {}
    for i, (_, a, b, ml) in enumerate(items):
        groups.setdefault((bool(b), ml), []).append(i)
    out = [None] * len(items)
    for (pair, ml), idx in sorted(groups.items()):
        a = [items[i][1] for i in idx]
        kw = dict(truncation=ml > 0, max_length=ml if ml > 0 else None, return_token_type_ids=want_types,
                  return_attention_mask=False)
        enc = tok(a, [items[i][2] for i in idx], **kw) if pair else tok(a, **kw)
        for j, i in enumerate(idx):
            out[i] = {"ids": enc["input_ids"][j], "type_ids": enc["token_type_ids"][j] if want_types else None}
            if kind in SPM_KINDS:  # the test compares SentencePiece segmentations text by text
                out[i]["a_ids"] = full_a[i].ids
                out[i]["b_ids"] = full_b[i].ids if pair else None
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="the shared data folder (glue/, imdb/, vocab/)")
    ap.add_argument("--kind", required=True, help=f"one of {', '.join(KINDS)}, or a comma-separated list")
    ap.add_argument("--out", required=True, help="the JSONL file (one kind) or a directory (several)")
    ap.add_argument("--spm", default=None,
                    help="the SentencePiece model for --kind t5 / xlm-roberta (default: the test model of the kind)")
    args = ap.parse_args()
    kinds = [k for k in args.kind.split(",") if k]
    for k in kinds:
        if k not in KINDS:
            raise SystemExit(f"unknown kind {k!r} (expected one of {', '.join(KINDS)})")

    import tokenizers
    import transformers

    items = sample(args.data)
    if len(kinds) > 1:
        os.makedirs(args.out, exist_ok=True)
    for kind in kinds:
        tok = make_tokenizer(kind, args.data, args.spm or default_spm(kind))
        encs = encode_all(kind, tok, items)
        path = os.path.join(args.out, kind + ".jsonl") if len(kinds) > 1 else args.out
        part = path + ".part"
        with open(part, "w", encoding="utf-8") as f:
            meta = {"kind": kind, "texts": len(items), "transformers": transformers.__version__,
                    "tokenizers": tokenizers.__version__, "class": type(tok).__name__}
            if kind in SPM_KINDS:  # the pieces and scores by HF's id, to tell equally good segmentations apart
                state = json.loads(tok.backend_tokenizer.to_str())["model"]["vocab"]
                meta["pieces"] = [piece for piece, _ in state]
                meta["scores"] = [score for _, score in state]
            meta = {"meta": meta}
            f.write(json.dumps(meta) + "\n")
            for (source, a, b, ml), enc in zip(items, encs):
                rec = {"source": source, "a": a, "b": b, "max_length": ml, **enc}
                f.write(json.dumps(rec, ensure_ascii=False) + "\n")
        os.replace(part, path)
        print(f"{kind}: {len(items)} texts -> {path}", file=sys.stderr)


if __name__ == "__main__":
    main()

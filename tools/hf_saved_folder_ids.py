#!/usr/bin/env python3
"""Hugging Face's ids for a tokenizer folder as save_pretrained writes it (the reference of the saved-folder
tests in tests/unit/test_tokenizer.cpp and test_bpe_tokenizer.cpp).

    tools/hf_saved_folder_ids.py --kind bert --dir DIR --texts texts.json

DIR holds vocab.txt (bert) or vocab.json + merges.txt (gpt2, roberta), with any of added_tokens.json,
special_tokens_map.json and tokenizer_config.json. texts.json is a list of [a, b] pairs (b "" for a single
text). Loads the folder with `<Class>.from_pretrained(DIR)` (BertTokenizer, GPT2Tokenizer, RobertaTokenizer;
local files only) and prints one JSON object:
  {"len": len(tokenizer), "model_max_length": int or null (null: transformers' "unset" int(1e30)),
   "ids": [tokenizer(a, b or None)["input_ids"], ...], "transformers": version}
or {"error": "<exception>"} when from_pretrained refuses the folder.
"""
import argparse
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kind", required=True, choices=("bert", "gpt2", "roberta"))
    ap.add_argument("--dir", required=True)
    ap.add_argument("--texts", required=True)
    args = ap.parse_args()
    import transformers

    cls = {"bert": transformers.BertTokenizer, "gpt2": transformers.GPT2Tokenizer,
           "roberta": transformers.RobertaTokenizer}[args.kind]
    with open(args.texts, encoding="utf-8") as f:
        texts = json.load(f)
    try:
        tok = cls.from_pretrained(args.dir, local_files_only=True)
    except Exception as e:  # noqa: BLE001 - reported to the test
        print(json.dumps({"error": f"{type(e).__name__}: {e}"}))
        return 0
    mml = tok.model_max_length
    out = {
        "len": len(tok),
        "model_max_length": mml if mml < 2**31 else None,
        "ids": [tok(a, b if b else None)["input_ids"] for a, b in texts],
        "transformers": transformers.__version__,
    }
    json.dump(out, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())

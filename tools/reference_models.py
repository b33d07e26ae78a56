"""Reference Hugging Face transformers models: BERT / RoBERTa / DistilBERT / GPT-2 / OPT sequence
classifiers, GPT-2 causal LM and T5 seq2seq LM, written to match HF's modeling_*.py.

The module tree, parameter and buffer names and forward semantics follow HF's modeling_bert.py,
modeling_roberta.py, modeling_distilbert.py (transformers 4.2x), modeling_gpt2.py, modeling_opt.py and
modeling_t5.py (eager attention, no cache, no head mask; each section says which release's rules it
follows where releases differ), so a state dict from HF loads here and a TorchScript exported from these
classes has the same names as one traced from HF with ``torchscript=True``:

    bert.embeddings.word_embeddings.weight, bert.encoder.layer.0.attention.self.query.weight, ...
    roberta.embeddings..., classifier.dense / classifier.out_proj
    distilbert.transformer.layer.0.attention.q_lin.weight, pre_classifier, classifier
    transformer.h.0.attn.c_attn.weight (GPT-2 Conv1D, [in, out]), transformer.ln_f, score / lm_head
    model.decoder.layers.0.self_attn.q_proj.weight, model.decoder.embed_positions.weight, score
    shared, encoder.block.0.layer.0.SelfAttention.relative_attention_bias, decoder.block.0.layer.1.EncDecAttention.q

Every class is scriptable with torch.jit.script (type annotations, no **kwargs) and traceable.
Top-level forwards:
    *ForSequenceClassification   forward(input_ids, attention_mask) -> (logits [B, labels],)
    BertForSequenceClassificationWithTokenTypes  forward(input_ids, attention_mask, token_type_ids)
        (same parameters; a subclass only so that the scripted signature is exact)
    GPT2LMHeadModel              forward(input_ids, attention_mask) -> (logits [B, T, vocab],)
    T5ForConditionalGeneration   forward(input_ids, attention_mask, decoder_input_ids)
                                 -> (lm_logits [B, T_dec, vocab], encoder_last_hidden_state)
GPT-2 and OPT classifiers read each row's last token that is not config.pad_token_id (see
last_non_pad_token); default_pad_token_id gives each family's pad id for a vocabulary size.

Used by tools/export_reference.py (export to TorchScript), tools/reference_selfcheck.py (independent
re-implementations of the decoder families) and bench/python_finetune_epoch.py. Import with
``sys.path.insert(0, "<repo>/tools")`` and run with Debian's /usr/bin/python3 (PyTorch 1.13).

Deliberate differences from HF, none of which changes the numbers:
  * configs are the small dataclasses below, not transformers.PretrainedConfig (only the default
    attention variants: no scale_attn_by_inverse_layer_idx / reorder_and_upcast_attn for GPT-2,
    enable_bias and elementwise-affine LayerNorms for OPT);
  * GELUActivation calls F.gelu directly (HF stores the function as an attribute);
  * HF's chunked feed-forward (chunk_size_feed_forward=0 by default) is a direct call here;
  * the masking constant is ``torch.finfo(dtype).min`` written as a per-dtype table (finfo is not
    available in TorchScript);
  * T5's float16 clamping of activations is left out (float32 only);
  * tied output embeddings (GPT2LMHeadModel, T5 with tie_word_embeddings) share one Parameter, also in
    the TorchScript file; HF with torchscript=True clones it instead (same values, two tensors).
"""

import copy
import math
from dataclasses import dataclass
from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn


# --------------------------------------------------------------------------------------------------
# Configs (field names as in HF's BertConfig / RobertaConfig / DistilBertConfig)
# --------------------------------------------------------------------------------------------------


@dataclass
class BertConfig:
    vocab_size: int = 30522
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-12
    pad_token_id: int = 0
    num_labels: int = 2
    classifier_dropout: Optional[float] = None


@dataclass
class RobertaConfig(BertConfig):
    # RoBERTa = BERT with these defaults (HF RobertaConfig): <pad> is 1, positions start after it.
    vocab_size: int = 50265
    max_position_embeddings: int = 514
    type_vocab_size: int = 1
    layer_norm_eps: float = 1e-5
    pad_token_id: int = 1


@dataclass
class DistilBertConfig:
    vocab_size: int = 30522
    max_position_embeddings: int = 512
    n_layers: int = 6
    n_heads: int = 12
    dim: int = 768
    hidden_dim: int = 3072
    dropout: float = 0.1
    attention_dropout: float = 0.1
    activation: str = "gelu"
    initializer_range: float = 0.02
    seq_classif_dropout: float = 0.2  # HF default; the classifier dropout of DistilBERT is 0.2, not 0.1
    pad_token_id: int = 0
    num_labels: int = 2


def mask_min(dtype: torch.dtype) -> float:
    """torch.finfo(dtype).min, in a form TorchScript can compile (HF masks with finfo.min since 4.2x)."""
    if dtype == torch.float16:
        return -65504.0
    if dtype == torch.bfloat16:
        return -3.3895313892515355e38
    if dtype == torch.float64:
        return -1.7976931348623157e308
    return -3.4028234663852886e38


class GELUActivation(nn.Module):
    """HF activations.GELUActivation: exact (erf) GELU."""

    def forward(self, input: Tensor) -> Tensor:
        return F.gelu(input)


# --------------------------------------------------------------------------------------------------
# BERT (modeling_bert.py)
# --------------------------------------------------------------------------------------------------


class BertEmbeddings(nn.Module):
    """Word + absolute position + token type embeddings, then LayerNorm and dropout."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        # HF's spelling (LayerNorm, not layer_norm) keeps the TF checkpoint names.
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        # As in transformers 4.2x: position_ids persistent (it is in the state dict), token_type_ids not.
        self.register_buffer("position_ids", torch.arange(config.max_position_embeddings).expand((1, -1)))
        self.register_buffer(
            "token_type_ids", torch.zeros(self.position_ids.size(), dtype=torch.long), persistent=False
        )

    def forward(self, input_ids: Tensor, token_type_ids: Optional[Tensor] = None) -> Tensor:
        input_shape = input_ids.size()
        seq_length = input_shape[1]
        position_ids = self.position_ids[:, 0:seq_length]
        if token_type_ids is None:
            token_type_ids = self.token_type_ids[:, 0:seq_length].expand(input_shape[0], seq_length)
        inputs_embeds = self.word_embeddings(input_ids)
        token_type_embeddings = self.token_type_embeddings(token_type_ids)
        embeddings = inputs_embeds + token_type_embeddings
        position_embeddings = self.position_embeddings(position_ids)
        embeddings = embeddings + position_embeddings
        embeddings = self.LayerNorm(embeddings)
        embeddings = self.dropout(embeddings)
        return embeddings


class BertSelfAttention(nn.Module):
    """Multi-head scaled dot-product attention; the additive mask is added to the scores."""

    def __init__(self, config: BertConfig):
        super().__init__()
        if config.hidden_size % config.num_attention_heads != 0:
            raise ValueError(
                f"hidden size {config.hidden_size} is not a multiple of the number of heads "
                f"{config.num_attention_heads}"
            )
        self.num_attention_heads = config.num_attention_heads
        self.attention_head_size = int(config.hidden_size / config.num_attention_heads)
        self.all_head_size = self.num_attention_heads * self.attention_head_size
        self.query = nn.Linear(config.hidden_size, self.all_head_size)
        self.key = nn.Linear(config.hidden_size, self.all_head_size)
        self.value = nn.Linear(config.hidden_size, self.all_head_size)
        self.dropout = nn.Dropout(config.attention_probs_dropout_prob)

    def transpose_for_scores(self, x: Tensor) -> Tensor:
        new_x_shape = list(x.size()[:-1]) + [self.num_attention_heads, self.attention_head_size]
        x = x.view(new_x_shape)
        return x.permute(0, 2, 1, 3)

    def forward(self, hidden_states: Tensor, attention_mask: Optional[Tensor] = None) -> Tuple[Tensor]:
        mixed_query_layer = self.query(hidden_states)
        key_layer = self.transpose_for_scores(self.key(hidden_states))
        value_layer = self.transpose_for_scores(self.value(hidden_states))
        query_layer = self.transpose_for_scores(mixed_query_layer)

        attention_scores = torch.matmul(query_layer, key_layer.transpose(-1, -2))
        attention_scores = attention_scores / math.sqrt(self.attention_head_size)
        if attention_mask is not None:
            attention_scores = attention_scores + attention_mask
        attention_probs = F.softmax(attention_scores, dim=-1)
        attention_probs = self.dropout(attention_probs)

        context_layer = torch.matmul(attention_probs, value_layer)
        context_layer = context_layer.permute(0, 2, 1, 3).contiguous()
        new_context_layer_shape = list(context_layer.size()[:-2]) + [self.all_head_size]
        context_layer = context_layer.view(new_context_layer_shape)
        return (context_layer,)


class BertSelfOutput(nn.Module):
    """Attention output projection, dropout, residual, post-LayerNorm."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden_states: Tensor, input_tensor: Tensor) -> Tensor:
        hidden_states = self.dense(hidden_states)
        hidden_states = self.dropout(hidden_states)
        hidden_states = self.LayerNorm(hidden_states + input_tensor)
        return hidden_states


class BertAttention(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.self = BertSelfAttention(config)
        self.output = BertSelfOutput(config)

    def forward(self, hidden_states: Tensor, attention_mask: Optional[Tensor] = None) -> Tuple[Tensor]:
        self_outputs = self.self(hidden_states, attention_mask)
        attention_output = self.output(self_outputs[0], hidden_states)
        return (attention_output,)


class BertIntermediate(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        if config.hidden_act != "gelu":
            raise ValueError(f"only hidden_act='gelu' is implemented, got {config.hidden_act!r}")
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)
        self.intermediate_act_fn = GELUActivation()

    def forward(self, hidden_states: Tensor) -> Tensor:
        hidden_states = self.dense(hidden_states)
        hidden_states = self.intermediate_act_fn(hidden_states)
        return hidden_states


class BertOutput(nn.Module):
    """FFN output projection, dropout, residual, post-LayerNorm."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.intermediate_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden_states: Tensor, input_tensor: Tensor) -> Tensor:
        hidden_states = self.dense(hidden_states)
        hidden_states = self.dropout(hidden_states)
        hidden_states = self.LayerNorm(hidden_states + input_tensor)
        return hidden_states


class BertLayer(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.attention = BertAttention(config)
        self.intermediate = BertIntermediate(config)
        self.output = BertOutput(config)

    def forward(self, hidden_states: Tensor, attention_mask: Optional[Tensor] = None) -> Tuple[Tensor]:
        self_attention_outputs = self.attention(hidden_states, attention_mask)
        attention_output = self_attention_outputs[0]
        intermediate_output = self.intermediate(attention_output)
        layer_output = self.output(intermediate_output, attention_output)
        return (layer_output,)


class BertEncoder(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.layer = nn.ModuleList([BertLayer(config) for _ in range(config.num_hidden_layers)])

    def forward(self, hidden_states: Tensor, attention_mask: Optional[Tensor] = None) -> Tuple[Tensor]:
        for layer_module in self.layer:
            layer_outputs = layer_module(hidden_states, attention_mask)
            hidden_states = layer_outputs[0]
        return (hidden_states,)


class BertPooler(nn.Module):
    """dense + tanh on the first token ([CLS])."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.activation = nn.Tanh()

    def forward(self, hidden_states: Tensor) -> Tensor:
        first_token_tensor = hidden_states[:, 0]
        pooled_output = self.dense(first_token_tensor)
        pooled_output = self.activation(pooled_output)
        return pooled_output


def get_extended_attention_mask(attention_mask: Tensor, dtype: torch.dtype) -> Tensor:
    """HF ModuleUtilsMixin.get_extended_attention_mask for an encoder: [B, S] -> additive [B, 1, 1, S]."""
    extended_attention_mask = attention_mask[:, None, None, :]
    extended_attention_mask = extended_attention_mask.to(dtype=dtype)
    return (1.0 - extended_attention_mask) * mask_min(dtype)


class BertModel(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.embeddings = BertEmbeddings(config)
        self.encoder = BertEncoder(config)
        self.pooler = BertPooler(config)

    def forward(
        self,
        input_ids: Tensor,
        attention_mask: Optional[Tensor] = None,
        token_type_ids: Optional[Tensor] = None,
    ) -> Tuple[Tensor, Tensor]:
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        embedding_output = self.embeddings(input_ids, token_type_ids)
        extended_attention_mask = get_extended_attention_mask(attention_mask, embedding_output.dtype)
        encoder_outputs = self.encoder(embedding_output, extended_attention_mask)
        sequence_output = encoder_outputs[0]
        pooled_output = self.pooler(sequence_output)
        return (sequence_output, pooled_output)


class BertForSequenceClassification(nn.Module):
    """bert -> pooled [CLS] -> dropout -> classifier. forward(input_ids, attention_mask) -> (logits,)."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.num_labels = config.num_labels
        self.bert = BertModel(config)
        classifier_dropout = (
            config.classifier_dropout if config.classifier_dropout is not None else config.hidden_dropout_prob
        )
        self.dropout = nn.Dropout(classifier_dropout)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)

    def classify(self, input_ids: Tensor, attention_mask: Tensor, token_type_ids: Optional[Tensor]) -> Tuple[Tensor]:
        outputs = self.bert(input_ids, attention_mask, token_type_ids)
        pooled_output = outputs[1]
        pooled_output = self.dropout(pooled_output)
        logits = self.classifier(pooled_output)
        return (logits,)

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Tuple[Tensor]:
        return self.classify(input_ids, attention_mask, None)


class BertForSequenceClassificationWithTokenTypes(BertForSequenceClassification):
    """Same model and names; forward(input_ids, attention_mask, token_type_ids) -> (logits,)."""

    def forward(self, input_ids: Tensor, attention_mask: Tensor, token_type_ids: Tensor) -> Tuple[Tensor]:
        return self.classify(input_ids, attention_mask, token_type_ids)


# --------------------------------------------------------------------------------------------------
# RoBERTa (modeling_roberta.py): BERT's encoder ("Copied from ...Bert"), other positions and head.
# --------------------------------------------------------------------------------------------------


def create_position_ids_from_input_ids(input_ids: Tensor, padding_idx: int, past_key_values_length: int = 0) -> Tensor:
    """Positions count non-padding tokens from padding_idx + 1; padding tokens get padding_idx."""
    mask = input_ids.ne(padding_idx).int()
    incremental_indices = (torch.cumsum(mask, dim=1).type_as(mask) + past_key_values_length) * mask
    return incremental_indices.long() + padding_idx


class RobertaEmbeddings(nn.Module):
    """BertEmbeddings with padding-aware positions (padding_idx = pad_token_id = 1)."""

    def __init__(self, config: RobertaConfig):
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.register_buffer("position_ids", torch.arange(config.max_position_embeddings).expand((1, -1)))
        self.register_buffer(
            "token_type_ids", torch.zeros(self.position_ids.size(), dtype=torch.long), persistent=False
        )
        self.padding_idx = config.pad_token_id
        # HF replaces position_embeddings with one whose padding_idx is set (its row starts at zero).
        self.position_embeddings = nn.Embedding(
            config.max_position_embeddings, config.hidden_size, padding_idx=self.padding_idx
        )

    def forward(self, input_ids: Tensor, token_type_ids: Optional[Tensor] = None) -> Tensor:
        position_ids = create_position_ids_from_input_ids(input_ids, self.padding_idx)
        input_shape = input_ids.size()
        seq_length = input_shape[1]
        if token_type_ids is None:
            token_type_ids = self.token_type_ids[:, 0:seq_length].expand(input_shape[0], seq_length)
        inputs_embeds = self.word_embeddings(input_ids)
        token_type_embeddings = self.token_type_embeddings(token_type_ids)
        embeddings = inputs_embeds + token_type_embeddings
        position_embeddings = self.position_embeddings(position_ids)
        embeddings = embeddings + position_embeddings
        embeddings = self.LayerNorm(embeddings)
        embeddings = self.dropout(embeddings)
        return embeddings


# The encoder classes are HF's "Copied from transformers.models.bert.modeling_bert.Bert*" copies; here
# they subclass BERT's and only swap the child classes so the TorchScript type names read Roberta*.


class RobertaSelfAttention(BertSelfAttention):
    pass


class RobertaSelfOutput(BertSelfOutput):
    pass


class RobertaAttention(BertAttention):
    def __init__(self, config: RobertaConfig):
        nn.Module.__init__(self)
        self.self = RobertaSelfAttention(config)
        self.output = RobertaSelfOutput(config)


class RobertaIntermediate(BertIntermediate):
    pass


class RobertaOutput(BertOutput):
    pass


class RobertaLayer(BertLayer):
    def __init__(self, config: RobertaConfig):
        nn.Module.__init__(self)
        self.attention = RobertaAttention(config)
        self.intermediate = RobertaIntermediate(config)
        self.output = RobertaOutput(config)


class RobertaEncoder(BertEncoder):
    def __init__(self, config: RobertaConfig):
        nn.Module.__init__(self)
        self.layer = nn.ModuleList([RobertaLayer(config) for _ in range(config.num_hidden_layers)])


class RobertaModel(nn.Module):
    """RoBERTa encoder as built by RobertaForSequenceClassification: add_pooling_layer=False."""

    def __init__(self, config: RobertaConfig):
        super().__init__()
        self.embeddings = RobertaEmbeddings(config)
        self.encoder = RobertaEncoder(config)

    def forward(
        self,
        input_ids: Tensor,
        attention_mask: Optional[Tensor] = None,
        token_type_ids: Optional[Tensor] = None,
    ) -> Tuple[Tensor]:
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        embedding_output = self.embeddings(input_ids, token_type_ids)
        extended_attention_mask = get_extended_attention_mask(attention_mask, embedding_output.dtype)
        encoder_outputs = self.encoder(embedding_output, extended_attention_mask)
        return (encoder_outputs[0],)


class RobertaClassificationHead(nn.Module):
    """<s> token -> dropout -> dense -> tanh -> dropout -> out_proj."""

    def __init__(self, config: RobertaConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        classifier_dropout = (
            config.classifier_dropout if config.classifier_dropout is not None else config.hidden_dropout_prob
        )
        self.dropout = nn.Dropout(classifier_dropout)
        self.out_proj = nn.Linear(config.hidden_size, config.num_labels)

    def forward(self, features: Tensor) -> Tensor:
        x = features[:, 0, :]
        x = self.dropout(x)
        x = self.dense(x)
        x = torch.tanh(x)
        x = self.dropout(x)
        x = self.out_proj(x)
        return x


class RobertaForSequenceClassification(nn.Module):
    """forward(input_ids, attention_mask) -> (logits,)."""

    def __init__(self, config: RobertaConfig):
        super().__init__()
        self.num_labels = config.num_labels
        self.roberta = RobertaModel(config)
        self.classifier = RobertaClassificationHead(config)

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Tuple[Tensor]:
        outputs = self.roberta(input_ids, attention_mask)
        sequence_output = outputs[0]
        logits = self.classifier(sequence_output)
        return (logits,)


# --------------------------------------------------------------------------------------------------
# DistilBERT (modeling_distilbert.py). HF's class names: Embeddings, MultiHeadSelfAttention, FFN,
# TransformerBlock, Transformer.
# --------------------------------------------------------------------------------------------------


class Embeddings(nn.Module):
    """Word + learned absolute position embeddings (no token types), LayerNorm, dropout."""

    def __init__(self, config: DistilBertConfig):
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.dim, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.dim)
        self.LayerNorm = nn.LayerNorm(config.dim, eps=1e-12)
        self.dropout = nn.Dropout(config.dropout)
        self.register_buffer(
            "position_ids", torch.arange(config.max_position_embeddings).expand((1, -1)), persistent=False
        )

    def forward(self, input_ids: Tensor) -> Tensor:
        input_embeds = self.word_embeddings(input_ids)
        seq_length = input_embeds.size(1)
        position_ids = self.position_ids[:, 0:seq_length]
        position_embeddings = self.position_embeddings(position_ids)
        embeddings = input_embeds + position_embeddings
        embeddings = self.LayerNorm(embeddings)
        embeddings = self.dropout(embeddings)
        return embeddings


DistilBertEmbeddings = Embeddings


class MultiHeadSelfAttention(nn.Module):
    """q is scaled by 1/sqrt(dim_per_head) before q.k; masked positions are filled with finfo.min."""

    def __init__(self, config: DistilBertConfig):
        super().__init__()
        self.n_heads = config.n_heads
        self.dim = config.dim
        self.dropout = nn.Dropout(p=config.attention_dropout)
        if self.dim % self.n_heads != 0:
            raise ValueError(f"n_heads {self.n_heads} must divide dim {self.dim} evenly")
        self.q_lin = nn.Linear(config.dim, config.dim)
        self.k_lin = nn.Linear(config.dim, config.dim)
        self.v_lin = nn.Linear(config.dim, config.dim)
        self.out_lin = nn.Linear(config.dim, config.dim)

    def shape(self, x: Tensor, bs: int, dim_per_head: int) -> Tensor:
        """[bs, seq, dim] -> [bs, heads, seq, dim_per_head]"""
        return x.view(bs, -1, self.n_heads, dim_per_head).transpose(1, 2)

    def unshape(self, x: Tensor, bs: int, dim_per_head: int) -> Tensor:
        """[bs, heads, seq, dim_per_head] -> [bs, seq, dim]"""
        return x.transpose(1, 2).contiguous().view(bs, -1, self.n_heads * dim_per_head)

    def forward(self, query: Tensor, key: Tensor, value: Tensor, mask: Tensor) -> Tuple[Tensor]:
        bs = query.size(0)
        k_length = key.size(1)
        dim_per_head = self.dim // self.n_heads
        mask_reshp = [bs, 1, 1, k_length]

        q = self.shape(self.q_lin(query), bs, dim_per_head)
        k = self.shape(self.k_lin(key), bs, dim_per_head)
        v = self.shape(self.v_lin(value), bs, dim_per_head)

        q = q / math.sqrt(dim_per_head)
        scores = torch.matmul(q, k.transpose(2, 3))
        mask = (mask == 0).view(mask_reshp).expand_as(scores)
        scores = scores.masked_fill(mask, torch.tensor(mask_min(scores.dtype)))

        weights = F.softmax(scores, dim=-1)
        weights = self.dropout(weights)
        context = torch.matmul(weights, v)
        context = self.unshape(context, bs, dim_per_head)
        context = self.out_lin(context)
        return (context,)


class FFN(nn.Module):
    def __init__(self, config: DistilBertConfig):
        super().__init__()
        if config.activation != "gelu":
            raise ValueError(f"only activation='gelu' is implemented, got {config.activation!r}")
        self.dropout = nn.Dropout(p=config.dropout)
        self.lin1 = nn.Linear(config.dim, config.hidden_dim)
        self.lin2 = nn.Linear(config.hidden_dim, config.dim)
        self.activation = GELUActivation()

    def forward(self, input: Tensor) -> Tensor:
        x = self.lin1(input)
        x = self.activation(x)
        x = self.lin2(x)
        x = self.dropout(x)
        return x


class TransformerBlock(nn.Module):
    """Post-LN block: attention -> sa_layer_norm(+x) -> ffn -> output_layer_norm(+sa)."""

    def __init__(self, config: DistilBertConfig):
        super().__init__()
        self.attention = MultiHeadSelfAttention(config)
        self.sa_layer_norm = nn.LayerNorm(normalized_shape=config.dim, eps=1e-12)
        self.ffn = FFN(config)
        self.output_layer_norm = nn.LayerNorm(normalized_shape=config.dim, eps=1e-12)

    def forward(self, x: Tensor, attn_mask: Tensor) -> Tuple[Tensor]:
        sa_output = self.attention(x, x, x, attn_mask)[0]
        sa_output = self.sa_layer_norm(sa_output + x)
        ffn_output = self.ffn(sa_output)
        ffn_output = self.output_layer_norm(ffn_output + sa_output)
        return (ffn_output,)


class Transformer(nn.Module):
    def __init__(self, config: DistilBertConfig):
        super().__init__()
        self.n_layers = config.n_layers
        self.layer = nn.ModuleList([TransformerBlock(config) for _ in range(config.n_layers)])

    def forward(self, x: Tensor, attn_mask: Tensor) -> Tuple[Tensor]:
        hidden_state = x
        for layer_module in self.layer:
            layer_outputs = layer_module(hidden_state, attn_mask)
            hidden_state = layer_outputs[-1]
        return (hidden_state,)


class DistilBertModel(nn.Module):
    def __init__(self, config: DistilBertConfig):
        super().__init__()
        self.embeddings = Embeddings(config)
        self.transformer = Transformer(config)

    def forward(self, input_ids: Tensor, attention_mask: Optional[Tensor] = None) -> Tuple[Tensor]:
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        embeddings = self.embeddings(input_ids)
        return self.transformer(embeddings, attention_mask)


class DistilBertForSequenceClassification(nn.Module):
    """[CLS] -> pre_classifier -> ReLU -> dropout -> classifier. forward(input_ids, attention_mask) -> (logits,)."""

    def __init__(self, config: DistilBertConfig):
        super().__init__()
        self.num_labels = config.num_labels
        self.distilbert = DistilBertModel(config)
        self.pre_classifier = nn.Linear(config.dim, config.dim)
        self.classifier = nn.Linear(config.dim, config.num_labels)
        self.dropout = nn.Dropout(config.seq_classif_dropout)

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Tuple[Tensor]:
        distilbert_output = self.distilbert(input_ids, attention_mask)
        hidden_state = distilbert_output[0]
        pooled_output = hidden_state[:, 0]
        pooled_output = self.pre_classifier(pooled_output)
        pooled_output = F.relu(pooled_output)
        pooled_output = self.dropout(pooled_output)
        logits = self.classifier(pooled_output)
        return (logits,)


# --------------------------------------------------------------------------------------------------
# Decoder-family configs (field names as in HF's GPT2Config / OPTConfig / T5Config)
# --------------------------------------------------------------------------------------------------


@dataclass
class GPT2Config:
    vocab_size: int = 50257
    n_positions: int = 1024  # HF alias: max_position_embeddings
    n_embd: int = 768  # hidden_size
    n_layer: int = 12  # num_hidden_layers
    n_head: int = 12  # num_attention_heads
    n_inner: Optional[int] = None  # FFN width; None means 4 * n_embd
    activation_function: str = "gelu_new"
    resid_pdrop: float = 0.1
    embd_pdrop: float = 0.1
    attn_pdrop: float = 0.1
    layer_norm_epsilon: float = 1e-5
    initializer_range: float = 0.02
    bos_token_id: int = 50256
    eos_token_id: int = 50256
    # HF's GPT2Config has no pad token (None); a GPT-2 classifier is given pad = eos, as here.
    pad_token_id: int = 50256
    num_labels: int = 2


@dataclass
class OPTConfig:
    vocab_size: int = 50272
    hidden_size: int = 768
    num_hidden_layers: int = 12
    ffn_dim: int = 3072
    max_position_embeddings: int = 2048  # the position table has 2 more rows (offset 2)
    do_layer_norm_before: bool = True  # pre-LN; False (opt-350m) is post-LN
    _remove_final_layer_norm: bool = False
    word_embed_proj_dim: Optional[int] = None  # None means hidden_size (no project_in / project_out)
    dropout: float = 0.1
    attention_dropout: float = 0.0
    num_attention_heads: int = 12
    activation_function: str = "relu"
    layerdrop: float = 0.0
    init_std: float = 0.02
    enable_bias: bool = True
    pad_token_id: int = 1
    bos_token_id: int = 2
    eos_token_id: int = 2
    num_labels: int = 2

    def __post_init__(self):
        if self.word_embed_proj_dim is None:
            self.word_embed_proj_dim = self.hidden_size


@dataclass
class T5Config:
    vocab_size: int = 32128
    d_model: int = 512
    d_kv: int = 64
    d_ff: int = 2048
    num_layers: int = 6
    num_decoder_layers: Optional[int] = None  # None means num_layers
    num_heads: int = 8
    relative_attention_num_buckets: int = 32
    relative_attention_max_distance: int = 128
    dropout_rate: float = 0.1
    layer_norm_epsilon: float = 1e-6
    initializer_factor: float = 1.0
    feed_forward_proj: str = "relu"  # "gated-gelu" for T5 v1.1 / flan-t5
    tie_word_embeddings: bool = True  # original T5; v1.1 unties lm_head from shared
    is_decoder: bool = False  # set per stack, as HF does with copy.deepcopy(config)
    pad_token_id: int = 0
    eos_token_id: int = 1
    decoder_start_token_id: int = 0

    def __post_init__(self):
        if self.num_decoder_layers is None:
            self.num_decoder_layers = self.num_layers

    @property
    def is_gated_act(self) -> bool:
        return self.feed_forward_proj.split("-")[0] == "gated"

    @property
    def dense_act_fn(self) -> str:
        # HF T5Config: "gated-gelu" means gelu_new (backwards compatibility with the v1.1 checkpoints).
        if self.feed_forward_proj == "gated-gelu":
            return "gelu_new"
        return self.feed_forward_proj.split("-")[-1]


class NewGELUActivation(nn.Module):
    """HF activations.NewGELUActivation ("gelu_new"): the tanh approximation, written as HF writes it
    (F.gelu(approximate="tanh") rounds differently)."""

    def forward(self, input: Tensor) -> Tensor:
        return 0.5 * input * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (input + 0.044715 * torch.pow(input, 3.0))))


def make_activation(name: str) -> nn.Module:
    """HF ACT2FN for the activations these families use."""
    if name == "gelu_new":
        return NewGELUActivation()
    if name == "relu":
        return nn.ReLU()
    if name == "gelu":
        return GELUActivation()
    raise ValueError(f"activation {name!r} is not implemented (gelu_new, relu, gelu)")


def last_non_pad_token(input_ids: Tensor, pad_token_id: int) -> Tensor:
    """Index of the rightmost token that is not ``pad_token_id`` in each row (0 for an all-pad row).

    The rule of HF's *ForSequenceClassification decoders (GPT-2, OPT, ...) since huggingface/transformers
    PR #35911 (merged 2025-01, first released in v4.49): ``(arange(T) * (input_ids != pad)).argmax(-1)``.
    Earlier releases took the first pad token minus one (v4.3x: ``ne(pad).sum(-1) - 1``); all of them
    agree on right-padded rows whose real tokens are never the pad id."""
    non_pad_mask = (input_ids != pad_token_id).to(torch.int32)
    token_indices = torch.arange(input_ids.shape[-1], device=input_ids.device, dtype=torch.int32)
    return (token_indices * non_pad_mask).argmax(-1)


# --------------------------------------------------------------------------------------------------
# GPT-2 (modeling_gpt2.py). Eager attention as in transformers 4.3x-4.4x: GPT2Attention registers the
# causal ``bias`` buffer (bool lower triangle [1, 1, n_positions, n_positions]) and the unused
# ``masked_bias`` (-1e4), both persistent=False since ~4.31 (so not in the state dict, but present in a
# TorchScript file, as in a trace of HF). Later releases build the causal mask per call instead; the
# numbers are the same.
# --------------------------------------------------------------------------------------------------


class Conv1D(nn.Module):
    """HF pytorch_utils.Conv1D: a linear layer with the weight transposed, weight [nx, nf], bias [nf],
    y = addmm(bias, x, weight)."""

    def __init__(self, nf: int, nx: int):
        super().__init__()
        self.nf = nf
        self.weight = nn.Parameter(torch.empty(nx, nf))
        self.bias = nn.Parameter(torch.zeros(nf))
        nn.init.normal_(self.weight, std=0.02)

    def forward(self, x: Tensor) -> Tensor:
        size_out = list(x.size()[:-1]) + [self.nf]
        x = torch.addmm(self.bias, x.view(-1, x.size(-1)), self.weight)
        return x.view(size_out)


class GPT2Attention(nn.Module):
    """Causal self-attention: c_attn gives Q|K|V (split along the last dim, width n_embd each), scores
    scaled by 1/sqrt(head_dim), causal positions filled with finfo.min, then the additive padding mask."""

    def __init__(self, config: GPT2Config, layer_idx: Optional[int] = None):
        super().__init__()
        max_positions = config.n_positions
        self.register_buffer(
            "bias",
            torch.tril(torch.ones((max_positions, max_positions), dtype=torch.bool)).view(
                1, 1, max_positions, max_positions
            ),
            persistent=False,
        )
        self.register_buffer("masked_bias", torch.tensor(-1e4), persistent=False)
        self.embed_dim = config.n_embd
        self.num_heads = config.n_head
        self.head_dim = self.embed_dim // self.num_heads
        self.split_size = self.embed_dim
        if self.head_dim * self.num_heads != self.embed_dim:
            raise ValueError(f"n_embd {self.embed_dim} is not a multiple of n_head {self.num_heads}")
        self.c_attn = Conv1D(3 * self.embed_dim, self.embed_dim)
        self.c_proj = Conv1D(self.embed_dim, self.embed_dim)
        self.attn_dropout = nn.Dropout(config.attn_pdrop)
        self.resid_dropout = nn.Dropout(config.resid_pdrop)

    def _attn(self, query: Tensor, key: Tensor, value: Tensor, attention_mask: Optional[Tensor]) -> Tensor:
        attn_weights = torch.matmul(query, key.transpose(-1, -2))
        # scale_attn_weights=True (the default); HF divides by a 0-dim tensor of the scores' dtype.
        attn_weights = attn_weights / torch.full(
            [], value.size(-1) ** 0.5, dtype=attn_weights.dtype, device=attn_weights.device
        )
        query_length = query.size(-2)
        key_length = key.size(-2)
        causal_mask = self.bias[:, :, key_length - query_length : key_length, :key_length]
        mask_value = torch.full([], mask_min(attn_weights.dtype), dtype=attn_weights.dtype, device=attn_weights.device)
        attn_weights = torch.where(causal_mask, attn_weights, mask_value)
        if attention_mask is not None:
            attn_weights = attn_weights + attention_mask
        attn_weights = F.softmax(attn_weights, dim=-1)
        attn_weights = attn_weights.to(value.dtype)
        attn_weights = self.attn_dropout(attn_weights)
        return torch.matmul(attn_weights, value)

    def _split_heads(self, tensor: Tensor) -> Tensor:
        """[B, T, C] -> [B, heads, T, head_dim]"""
        new_shape = list(tensor.size()[:-1]) + [self.num_heads, self.head_dim]
        return tensor.view(new_shape).permute(0, 2, 1, 3)

    def _merge_heads(self, tensor: Tensor) -> Tensor:
        """[B, heads, T, head_dim] -> [B, T, C]"""
        tensor = tensor.permute(0, 2, 1, 3).contiguous()
        new_shape = list(tensor.size()[:-2]) + [self.num_heads * self.head_dim]
        return tensor.view(new_shape)

    def forward(self, hidden_states: Tensor, attention_mask: Optional[Tensor] = None) -> Tuple[Tensor]:
        qkv = self.c_attn(hidden_states).split(self.split_size, dim=2)
        query = self._split_heads(qkv[0])
        key = self._split_heads(qkv[1])
        value = self._split_heads(qkv[2])
        attn_output = self._attn(query, key, value, attention_mask)
        attn_output = self._merge_heads(attn_output)
        attn_output = self.c_proj(attn_output)
        attn_output = self.resid_dropout(attn_output)
        return (attn_output,)


class GPT2MLP(nn.Module):
    def __init__(self, intermediate_size: int, config: GPT2Config):
        super().__init__()
        embed_dim = config.n_embd
        self.c_fc = Conv1D(intermediate_size, embed_dim)
        self.c_proj = Conv1D(embed_dim, intermediate_size)
        self.act = make_activation(config.activation_function)
        self.dropout = nn.Dropout(config.resid_pdrop)

    def forward(self, hidden_states: Tensor) -> Tensor:
        hidden_states = self.c_fc(hidden_states)
        hidden_states = self.act(hidden_states)
        hidden_states = self.c_proj(hidden_states)
        hidden_states = self.dropout(hidden_states)
        return hidden_states


class GPT2Block(nn.Module):
    """Pre-LN block: x + attn(ln_1(x)), then + mlp(ln_2(.))."""

    def __init__(self, config: GPT2Config, layer_idx: Optional[int] = None):
        super().__init__()
        hidden_size = config.n_embd
        inner_dim = config.n_inner if config.n_inner is not None else 4 * hidden_size
        self.ln_1 = nn.LayerNorm(hidden_size, eps=config.layer_norm_epsilon)
        self.attn = GPT2Attention(config, layer_idx=layer_idx)
        self.ln_2 = nn.LayerNorm(hidden_size, eps=config.layer_norm_epsilon)
        self.mlp = GPT2MLP(inner_dim, config)

    def forward(self, hidden_states: Tensor, attention_mask: Optional[Tensor] = None) -> Tuple[Tensor]:
        residual = hidden_states
        hidden_states = self.ln_1(hidden_states)
        attn_output = self.attn(hidden_states, attention_mask)[0]
        hidden_states = attn_output + residual
        residual = hidden_states
        hidden_states = self.ln_2(hidden_states)
        feed_forward_hidden_states = self.mlp(hidden_states)
        hidden_states = residual + feed_forward_hidden_states
        return (hidden_states,)


class GPT2Model(nn.Module):
    """wte + wpe(arange(T)) -> drop -> blocks -> ln_f. The padding mask is HF's extended mask
    (1 - mask) * finfo.min of shape [B, 1, 1, T], added after the causal fill."""

    def __init__(self, config: GPT2Config):
        super().__init__()
        self.embed_dim = config.n_embd
        self.wte = nn.Embedding(config.vocab_size, self.embed_dim)
        self.wpe = nn.Embedding(config.n_positions, self.embed_dim)
        self.drop = nn.Dropout(config.embd_pdrop)
        self.h = nn.ModuleList([GPT2Block(config, layer_idx=i) for i in range(config.n_layer)])
        self.ln_f = nn.LayerNorm(self.embed_dim, eps=config.layer_norm_epsilon)

    def forward(self, input_ids: Tensor, attention_mask: Optional[Tensor] = None) -> Tuple[Tensor]:
        input_shape = input_ids.size()
        input_ids = input_ids.view(-1, input_shape[-1])
        batch_size = input_ids.shape[0]
        # No past: position_ids = arange(0, T), the same for every row (HF ignores padding here).
        position_ids = torch.arange(0, input_shape[-1], dtype=torch.long, device=input_ids.device)
        position_ids = position_ids.unsqueeze(0).view(-1, input_shape[-1])

        extended_attention_mask: Optional[Tensor] = None
        if attention_mask is not None:
            dtype = self.wte.weight.dtype
            mask = attention_mask.view(batch_size, -1)[:, None, None, :].to(dtype=dtype)
            extended_attention_mask = (1.0 - mask) * mask_min(dtype)

        inputs_embeds = self.wte(input_ids)
        position_embeds = self.wpe(position_ids)
        hidden_states = inputs_embeds + position_embeds
        hidden_states = self.drop(hidden_states)
        for block in self.h:
            hidden_states = block(hidden_states, extended_attention_mask)[0]
        hidden_states = self.ln_f(hidden_states)
        output_shape = list(input_shape) + [hidden_states.size(-1)]
        return (hidden_states.view(output_shape),)


class GPT2ForSequenceClassification(nn.Module):
    """score (no bias) on every position, then the logits of the last non-padding token of each row
    (found from input_ids and pad_token_id, see last_non_pad_token). forward(input_ids, attention_mask)
    -> (logits [B, num_labels],)."""

    def __init__(self, config: GPT2Config):
        super().__init__()
        self.num_labels = config.num_labels
        self.pad_token_id = config.pad_token_id
        self.transformer = GPT2Model(config)
        self.score = nn.Linear(config.n_embd, self.num_labels, bias=False)

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Tuple[Tensor]:
        hidden_states = self.transformer(input_ids, attention_mask)[0]
        logits = self.score(hidden_states)
        batch_size = input_ids.shape[0]
        last = last_non_pad_token(input_ids, self.pad_token_id)
        pooled_logits = logits[torch.arange(batch_size, device=logits.device), last]
        return (pooled_logits,)


class GPT2LMHeadModel(nn.Module):
    """lm_head (no bias) tied to transformer.wte. forward(input_ids, attention_mask) -> (logits [B, T, V],)
    (HF with use_cache=False returns exactly this tuple)."""

    def __init__(self, config: GPT2Config):
        super().__init__()
        self.transformer = GPT2Model(config)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        # HF tie_weights(). (With config.torchscript=True HF clones the weight instead of sharing it; here it
        # is shared, so the TorchScript file stores it once and both names point at the same tensor.)
        self.lm_head.weight = self.transformer.wte.weight

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Tuple[Tensor]:
        hidden_states = self.transformer(input_ids, attention_mask)[0]
        lm_logits = self.lm_head(hidden_states)
        return (lm_logits,)


# --------------------------------------------------------------------------------------------------
# OPT (modeling_opt.py). Positions as in transformers 4.2x-4.4x OPTLearnedPositionalEmbedding; the mask
# as in 4.4x+ eager attention (_prepare_4d_causal_attention_mask_with_cache_position: masked entries are
# exactly finfo.min; 4.2x-4.3x summed two finfo.min masks and clamped, which gives the same softmax).
# --------------------------------------------------------------------------------------------------


class OPTLearnedPositionalEmbedding(nn.Embedding):
    """Positions from the attention mask: (cumsum(mask) * mask) - 1, then + offset 2 (fairseq's hack: rows
    0 and 1 are never used by real tokens; padding tokens read row 1). Table of max_positions + 2 rows."""

    def __init__(self, num_embeddings: int, embedding_dim: int):
        self.offset = 2
        super().__init__(num_embeddings + self.offset, embedding_dim)

    def forward(self, attention_mask: Tensor, past_key_values_length: int = 0) -> Tensor:
        attention_mask = attention_mask.long()
        positions = (torch.cumsum(attention_mask, dim=1).type_as(attention_mask) * attention_mask).long() - 1
        positions = positions[:, past_key_values_length:]
        # HF calls nn.Embedding.forward; F.embedding with this table's (default) options is the same.
        return F.embedding(positions + self.offset, self.weight)


def prepare_4d_causal_attention_mask(attention_mask: Tensor, dtype: torch.dtype) -> Tensor:
    """[B, T] padding mask -> additive [B, 1, T, T]: finfo.min above the diagonal and on padded keys, else 0
    (HF _prepare_4d_causal_attention_mask_with_cache_position without a cache)."""
    min_dtype = mask_min(dtype)
    batch_size = attention_mask.size(0)
    sequence_length = attention_mask.size(1)
    causal_mask = torch.full(
        (sequence_length, sequence_length), min_dtype, dtype=dtype, device=attention_mask.device
    )
    causal_mask = torch.triu(causal_mask, diagonal=1)
    causal_mask = causal_mask[None, None, :, :].expand(batch_size, 1, -1, -1).clone()
    padding_mask = (causal_mask + attention_mask[:, None, None, :].to(dtype)) == 0
    return causal_mask.masked_fill(padding_mask, min_dtype)


class OPTAttention(nn.Module):
    """q = q_proj(x) * head_dim**-0.5 (scaled before q.k, as fairseq); the additive mask; softmax in float32."""

    def __init__(self, config: OPTConfig):
        super().__init__()
        self.embed_dim = config.hidden_size
        self.num_heads = config.num_attention_heads
        self.dropout = config.attention_dropout
        self.head_dim = self.embed_dim // self.num_heads
        if self.head_dim * self.num_heads != self.embed_dim:
            raise ValueError(f"hidden_size {self.embed_dim} is not a multiple of num_attention_heads {self.num_heads}")
        self.scaling = self.head_dim**-0.5
        self.k_proj = nn.Linear(self.embed_dim, self.embed_dim, bias=config.enable_bias)
        self.v_proj = nn.Linear(self.embed_dim, self.embed_dim, bias=config.enable_bias)
        self.q_proj = nn.Linear(self.embed_dim, self.embed_dim, bias=config.enable_bias)
        self.out_proj = nn.Linear(self.embed_dim, self.embed_dim, bias=config.enable_bias)

    def forward(self, hidden_states: Tensor, attention_mask: Optional[Tensor] = None) -> Tuple[Tensor]:
        bsz = hidden_states.size(0)
        tgt_len = hidden_states.size(1)
        query_states = self.q_proj(hidden_states) * self.scaling
        query_states = query_states.view(bsz, -1, self.num_heads, self.head_dim).transpose(1, 2)
        key_states = self.k_proj(hidden_states).view(bsz, -1, self.num_heads, self.head_dim).transpose(1, 2)
        value_states = self.v_proj(hidden_states).view(bsz, -1, self.num_heads, self.head_dim).transpose(1, 2)

        # HF eager_attention_forward with scaling=1.0 (the scale was applied to q above).
        attn_weights = torch.matmul(query_states, key_states.transpose(2, 3))
        if attention_mask is not None:
            attn_weights = attn_weights + attention_mask
        attn_weights = F.softmax(attn_weights, dim=-1, dtype=torch.float32).to(query_states.dtype)
        attn_weights = F.dropout(attn_weights, p=self.dropout, training=self.training)
        attn_output = torch.matmul(attn_weights, value_states)
        attn_output = attn_output.transpose(1, 2).contiguous()
        attn_output = attn_output.reshape(bsz, tgt_len, -1).contiguous()
        attn_output = self.out_proj(attn_output)
        return (attn_output,)


class OPTDecoderLayer(nn.Module):
    """do_layer_norm_before=True: pre-LN (125m, 1.3b, ...); False: post-LN (opt-350m)."""

    def __init__(self, config: OPTConfig):
        super().__init__()
        self.embed_dim = config.hidden_size
        self.self_attn = OPTAttention(config)
        self.do_layer_norm_before = config.do_layer_norm_before
        self.dropout = config.dropout
        self.activation_fn = make_activation(config.activation_function)
        self.self_attn_layer_norm = nn.LayerNorm(self.embed_dim)  # eps 1e-5 (nn.LayerNorm default)
        self.fc1 = nn.Linear(self.embed_dim, config.ffn_dim, bias=config.enable_bias)
        self.fc2 = nn.Linear(config.ffn_dim, self.embed_dim, bias=config.enable_bias)
        self.final_layer_norm = nn.LayerNorm(self.embed_dim)

    def forward(self, hidden_states: Tensor, attention_mask: Optional[Tensor] = None) -> Tuple[Tensor]:
        residual = hidden_states
        if self.do_layer_norm_before:
            hidden_states = self.self_attn_layer_norm(hidden_states)
        hidden_states = self.self_attn(hidden_states, attention_mask)[0]
        hidden_states = F.dropout(hidden_states, p=self.dropout, training=self.training)
        hidden_states = residual + hidden_states
        if not self.do_layer_norm_before:
            hidden_states = self.self_attn_layer_norm(hidden_states)

        # HF runs the FFN on [B*T, C] and views the result back.
        hidden_states_shape = hidden_states.shape
        hidden_states = hidden_states.reshape(-1, hidden_states.size(-1))
        residual = hidden_states
        if self.do_layer_norm_before:
            hidden_states = self.final_layer_norm(hidden_states)
        hidden_states = self.fc1(hidden_states)
        hidden_states = self.activation_fn(hidden_states)
        hidden_states = self.fc2(hidden_states)
        hidden_states = F.dropout(hidden_states, p=self.dropout, training=self.training)
        hidden_states = (residual + hidden_states).view(hidden_states_shape)
        if not self.do_layer_norm_before:
            hidden_states = self.final_layer_norm(hidden_states)
        return (hidden_states,)


class OPTDecoder(nn.Module):
    """embed_tokens (word_embed_proj_dim wide) -> project_in? -> + embed_positions -> layers ->
    final_layer_norm? -> project_out?.

    HF creates final_layer_norm only when ``do_layer_norm_before and not _remove_final_layer_norm`` (the
    post-LN opt-350m has none); project_in/project_out (Linear, no bias) only when word_embed_proj_dim !=
    hidden_size. Absent modules are None attributes, so they are not in the module tree."""

    def __init__(self, config: OPTConfig):
        super().__init__()
        self.dropout = config.dropout
        self.layerdrop = config.layerdrop
        self.padding_idx = config.pad_token_id
        self.max_target_positions = config.max_position_embeddings
        self.vocab_size = config.vocab_size
        self.embed_tokens = nn.Embedding(config.vocab_size, config.word_embed_proj_dim, self.padding_idx)
        self.embed_positions = OPTLearnedPositionalEmbedding(config.max_position_embeddings, config.hidden_size)
        if config.word_embed_proj_dim != config.hidden_size:
            self.project_out = nn.Linear(config.hidden_size, config.word_embed_proj_dim, bias=False)
            self.project_in = nn.Linear(config.word_embed_proj_dim, config.hidden_size, bias=False)
        else:
            self.project_out = None
            self.project_in = None
        if config.do_layer_norm_before and not config._remove_final_layer_norm:
            self.final_layer_norm = nn.LayerNorm(config.hidden_size)
        else:
            self.final_layer_norm = None
        self.layers = nn.ModuleList([OPTDecoderLayer(config) for _ in range(config.num_hidden_layers)])

    def forward(self, input_ids: Tensor, attention_mask: Optional[Tensor] = None) -> Tuple[Tensor]:
        input_ids = input_ids.view(-1, input_ids.shape[-1])
        inputs_embeds = self.embed_tokens(input_ids)
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        causal_mask = prepare_4d_causal_attention_mask(attention_mask, inputs_embeds.dtype)
        pos_embeds = self.embed_positions(attention_mask, 0)
        if self.project_in is not None:
            inputs_embeds = self.project_in(inputs_embeds)
        hidden_states = inputs_embeds + pos_embeds  # no embedding dropout in OPT
        for decoder_layer in self.layers:
            # LayerDrop (layerdrop=0.0 by default) is a training-time no-op here.
            hidden_states = decoder_layer(hidden_states, causal_mask)[0]
        if self.final_layer_norm is not None:
            hidden_states = self.final_layer_norm(hidden_states)
        if self.project_out is not None:
            hidden_states = self.project_out(hidden_states)
        return (hidden_states,)


class OPTModel(nn.Module):
    def __init__(self, config: OPTConfig):
        super().__init__()
        self.decoder = OPTDecoder(config)

    def forward(self, input_ids: Tensor, attention_mask: Optional[Tensor] = None) -> Tuple[Tensor]:
        return self.decoder(input_ids, attention_mask)


class OPTForSequenceClassification(nn.Module):
    """score (no bias, word_embed_proj_dim -> labels) on every position, then the last non-padding token's
    logits (same rule as GPT-2). forward(input_ids, attention_mask) -> (logits [B, num_labels],)."""

    def __init__(self, config: OPTConfig):
        super().__init__()
        self.num_labels = config.num_labels
        self.pad_token_id = config.pad_token_id
        self.model = OPTModel(config)
        self.score = nn.Linear(config.word_embed_proj_dim, self.num_labels, bias=False)

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Tuple[Tensor]:
        hidden_states = self.model(input_ids, attention_mask)[0]
        logits = self.score(hidden_states)
        batch_size = input_ids.shape[0]
        last = last_non_pad_token(input_ids, self.pad_token_id)
        pooled_logits = logits[torch.arange(batch_size, device=logits.device), last]
        return (pooled_logits,)


# --------------------------------------------------------------------------------------------------
# T5 (modeling_t5.py, transformers 4.3x: masks from get_extended_attention_mask / invert_attention_mask,
# relative position bias computed by block 0 of each stack and reused by the later blocks).
# --------------------------------------------------------------------------------------------------


class T5LayerNorm(nn.Module):
    """RMS norm: no mean subtraction, no bias; the variance is accumulated in float32."""

    def __init__(self, hidden_size: int, eps: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden_size))
        self.variance_epsilon = eps

    def forward(self, hidden_states: Tensor) -> Tensor:
        variance = hidden_states.to(torch.float32).pow(2).mean(-1, keepdim=True)
        hidden_states = hidden_states * torch.rsqrt(variance + self.variance_epsilon)
        if self.weight.dtype == torch.float16 or self.weight.dtype == torch.bfloat16:
            hidden_states = hidden_states.to(self.weight.dtype)
        return self.weight * hidden_states


class T5DenseActDense(nn.Module):
    """wi -> act (relu) -> dropout -> wo, no biases."""

    def __init__(self, config: T5Config):
        super().__init__()
        self.wi = nn.Linear(config.d_model, config.d_ff, bias=False)
        self.wo = nn.Linear(config.d_ff, config.d_model, bias=False)
        self.dropout = nn.Dropout(config.dropout_rate)
        self.act = make_activation(config.dense_act_fn)

    def forward(self, hidden_states: Tensor) -> Tensor:
        hidden_states = self.wi(hidden_states)
        hidden_states = self.act(hidden_states)
        hidden_states = self.dropout(hidden_states)
        if hidden_states.dtype != self.wo.weight.dtype and self.wo.weight.dtype != torch.int8:
            hidden_states = hidden_states.to(self.wo.weight.dtype)
        hidden_states = self.wo(hidden_states)
        return hidden_states


class T5DenseGatedActDense(nn.Module):
    """T5 v1.1: act(wi_0(x)) * wi_1(x) -> dropout -> wo (act = gelu_new for "gated-gelu")."""

    def __init__(self, config: T5Config):
        super().__init__()
        self.wi_0 = nn.Linear(config.d_model, config.d_ff, bias=False)
        self.wi_1 = nn.Linear(config.d_model, config.d_ff, bias=False)
        self.wo = nn.Linear(config.d_ff, config.d_model, bias=False)
        self.dropout = nn.Dropout(config.dropout_rate)
        self.act = make_activation(config.dense_act_fn)

    def forward(self, hidden_states: Tensor) -> Tensor:
        hidden_gelu = self.act(self.wi_0(hidden_states))
        hidden_linear = self.wi_1(hidden_states)
        hidden_states = hidden_gelu * hidden_linear
        hidden_states = self.dropout(hidden_states)
        if hidden_states.dtype != self.wo.weight.dtype and self.wo.weight.dtype != torch.int8:
            hidden_states = hidden_states.to(self.wo.weight.dtype)
        hidden_states = self.wo(hidden_states)
        return hidden_states


class T5LayerFF(nn.Module):
    def __init__(self, config: T5Config):
        super().__init__()
        if config.is_gated_act:
            self.DenseReluDense = T5DenseGatedActDense(config)
        else:
            self.DenseReluDense = T5DenseActDense(config)
        self.layer_norm = T5LayerNorm(config.d_model, eps=config.layer_norm_epsilon)
        self.dropout = nn.Dropout(config.dropout_rate)

    def forward(self, hidden_states: Tensor) -> Tensor:
        forwarded_states = self.layer_norm(hidden_states)
        forwarded_states = self.DenseReluDense(forwarded_states)
        hidden_states = hidden_states + self.dropout(forwarded_states)
        return hidden_states


def _relative_position_bucket(
    relative_position: Tensor, bidirectional: bool = True, num_buckets: int = 32, max_distance: int = 128
) -> Tensor:
    """HF T5Attention._relative_position_bucket (from Mesh TensorFlow), relative_position = key - query.

    Bidirectional (encoder): half the buckets for keys after the query. Causal (decoder): only keys at or
    before the query get distinct buckets (later keys fall into bucket 0, and are masked anyway). Of the
    remaining buckets, half are exact distances 0..max_exact-1, the rest logarithmic up to max_distance."""
    relative_buckets = torch.zeros_like(relative_position)  # HF starts from the int 0
    if bidirectional:
        num_buckets = num_buckets // 2
        relative_buckets += (relative_position > 0).to(torch.long) * num_buckets
        relative_position = torch.abs(relative_position)
    else:
        relative_position = -torch.min(relative_position, torch.zeros_like(relative_position))
    max_exact = num_buckets // 2
    is_small = relative_position < max_exact
    relative_position_if_large = max_exact + (
        torch.log(relative_position.float() / max_exact)
        / math.log(max_distance / max_exact)
        * (num_buckets - max_exact)
    ).to(torch.long)
    relative_position_if_large = torch.min(
        relative_position_if_large, torch.full_like(relative_position_if_large, num_buckets - 1)
    )
    relative_buckets += torch.where(is_small, relative_position, relative_position_if_large)
    return relative_buckets


class T5Attention(nn.Module):
    """q, k, v, o without biases and without 1/sqrt(d) scaling (folded into the init). The additive
    position_bias (relative bias + mask) is computed here in block 0 and returned for reuse."""

    has_relative_attention_bias: torch.jit.Final[bool]

    def __init__(self, config: T5Config, has_relative_attention_bias: bool = False):
        super().__init__()
        self.is_decoder = config.is_decoder
        self.has_relative_attention_bias = has_relative_attention_bias
        self.relative_attention_num_buckets = config.relative_attention_num_buckets
        self.relative_attention_max_distance = config.relative_attention_max_distance
        self.d_model = config.d_model
        self.key_value_proj_dim = config.d_kv
        self.n_heads = config.num_heads
        self.dropout = config.dropout_rate
        self.inner_dim = self.n_heads * self.key_value_proj_dim
        self.q = nn.Linear(self.d_model, self.inner_dim, bias=False)
        self.k = nn.Linear(self.d_model, self.inner_dim, bias=False)
        self.v = nn.Linear(self.d_model, self.inner_dim, bias=False)
        self.o = nn.Linear(self.inner_dim, self.d_model, bias=False)
        if self.has_relative_attention_bias:
            self.relative_attention_bias = nn.Embedding(self.relative_attention_num_buckets, self.n_heads)

    def compute_bias(self, query_length: int, key_length: int, device: torch.device) -> Tensor:
        """[1, heads, query_length, key_length] learned bias per relative-position bucket."""
        context_position = torch.arange(query_length, dtype=torch.long, device=device)[:, None]
        memory_position = torch.arange(key_length, dtype=torch.long, device=device)[None, :]
        relative_position = memory_position - context_position
        relative_position_bucket = _relative_position_bucket(
            relative_position,
            bidirectional=(not self.is_decoder),
            num_buckets=self.relative_attention_num_buckets,
            max_distance=self.relative_attention_max_distance,
        )
        values = self.relative_attention_bias(relative_position_bucket)  # [q, k, heads]
        values = values.permute([2, 0, 1]).unsqueeze(0)
        return values

    def shape(self, states: Tensor, batch_size: int) -> Tensor:
        return states.view(batch_size, -1, self.n_heads, self.key_value_proj_dim).transpose(1, 2)

    def unshape(self, states: Tensor, batch_size: int) -> Tensor:
        return states.transpose(1, 2).contiguous().view(batch_size, -1, self.inner_dim)

    def forward(
        self,
        hidden_states: Tensor,
        mask: Optional[Tensor] = None,
        key_value_states: Optional[Tensor] = None,
        position_bias: Optional[Tensor] = None,
    ) -> Tuple[Tensor, Tensor]:
        batch_size = hidden_states.size(0)
        seq_length = hidden_states.size(1)
        # Self-attention, or cross-attention over the encoder output when key_value_states is given.
        current_states = hidden_states if key_value_states is None else key_value_states
        query_states = self.shape(self.q(hidden_states), batch_size)
        key_states = self.shape(self.k(current_states), batch_size)
        value_states = self.shape(self.v(current_states), batch_size)

        scores = torch.matmul(query_states, key_states.transpose(3, 2))
        if position_bias is None:
            key_length = key_states.size(2)
            if self.has_relative_attention_bias:
                position_bias = self.compute_bias(seq_length, key_length, scores.device)
                position_bias = position_bias[:, :, -seq_length:, :]
            else:
                position_bias = torch.zeros(
                    (1, self.n_heads, seq_length, key_length), device=scores.device, dtype=scores.dtype
                )
            if mask is not None:
                position_bias = position_bias + mask[:, :, :, :key_length]
        scores = scores + position_bias
        attn_weights = F.softmax(scores.float(), dim=-1).type_as(scores)
        attn_weights = F.dropout(attn_weights, p=self.dropout, training=self.training)
        attn_output = self.unshape(torch.matmul(attn_weights, value_states), batch_size)
        attn_output = self.o(attn_output)
        return (attn_output, position_bias)


class T5LayerSelfAttention(nn.Module):
    def __init__(self, config: T5Config, has_relative_attention_bias: bool = False):
        super().__init__()
        self.SelfAttention = T5Attention(config, has_relative_attention_bias=has_relative_attention_bias)
        self.layer_norm = T5LayerNorm(config.d_model, eps=config.layer_norm_epsilon)
        self.dropout = nn.Dropout(config.dropout_rate)

    def forward(
        self, hidden_states: Tensor, attention_mask: Optional[Tensor] = None, position_bias: Optional[Tensor] = None
    ) -> Tuple[Tensor, Tensor]:
        normed_hidden_states = self.layer_norm(hidden_states)
        attention_output = self.SelfAttention(normed_hidden_states, attention_mask, None, position_bias)
        hidden_states = hidden_states + self.dropout(attention_output[0])
        return (hidden_states, attention_output[1])


class T5LayerCrossAttention(nn.Module):
    def __init__(self, config: T5Config):
        super().__init__()
        self.EncDecAttention = T5Attention(config, has_relative_attention_bias=False)
        self.layer_norm = T5LayerNorm(config.d_model, eps=config.layer_norm_epsilon)
        self.dropout = nn.Dropout(config.dropout_rate)

    def forward(
        self,
        hidden_states: Tensor,
        key_value_states: Tensor,
        attention_mask: Optional[Tensor] = None,
        position_bias: Optional[Tensor] = None,
    ) -> Tuple[Tensor, Tensor]:
        normed_hidden_states = self.layer_norm(hidden_states)
        attention_output = self.EncDecAttention(normed_hidden_states, attention_mask, key_value_states, position_bias)
        layer_output = hidden_states + self.dropout(attention_output[0])
        return (layer_output, attention_output[1])


class T5Block(nn.Module):
    """layer.0 self-attention, (decoder) layer.1 cross-attention, layer.-1 feed-forward.

    HF also clamps float16 activations here; a no-op in float32, so left out."""

    is_decoder: torch.jit.Final[bool]

    def __init__(self, config: T5Config, has_relative_attention_bias: bool = False):
        super().__init__()
        self.is_decoder = config.is_decoder
        layers: List[nn.Module] = [
            T5LayerSelfAttention(config, has_relative_attention_bias=has_relative_attention_bias)
        ]
        if self.is_decoder:
            layers.append(T5LayerCrossAttention(config))
        layers.append(T5LayerFF(config))
        self.layer = nn.ModuleList(layers)

    def forward(
        self,
        hidden_states: Tensor,
        attention_mask: Optional[Tensor],
        position_bias: Optional[Tensor],
        encoder_hidden_states: Optional[Tensor],
        encoder_attention_mask: Optional[Tensor],
        encoder_decoder_position_bias: Optional[Tensor],
    ) -> Tuple[Tensor, Tensor, Optional[Tensor]]:
        """-> (hidden_states, self-attention position bias, cross-attention position bias or None)."""
        self_attention_outputs = self.layer[0](hidden_states, attention_mask, position_bias)
        hidden_states = self_attention_outputs[0]
        position_bias = self_attention_outputs[1]
        if self.is_decoder:
            assert encoder_hidden_states is not None
            cross_attention_outputs = self.layer[1](
                hidden_states, encoder_hidden_states, encoder_attention_mask, encoder_decoder_position_bias
            )
            hidden_states = cross_attention_outputs[0]
            encoder_decoder_position_bias = cross_attention_outputs[1]
        hidden_states = self.layer[-1](hidden_states)
        return (hidden_states, position_bias, encoder_decoder_position_bias)


class T5Stack(nn.Module):
    """embed_tokens (the shared table) -> dropout -> blocks -> final_layer_norm -> dropout.

    Masks (transformers 4.3x ModuleUtilsMixin): encoder self-attention (1 - mask) * finfo.min as
    [B, 1, 1, S]; decoder self-attention the causal [B, 1, T, T] of create_extended_attention_mask_for_decoder
    times the decoder mask (all ones: the forward takes no decoder_attention_mask), turned into
    (1 - m) * finfo.min; cross-attention invert_attention_mask(encoder mask), [B, 1, 1, S]."""

    is_decoder: torch.jit.Final[bool]

    def __init__(self, config: T5Config, embed_tokens: nn.Embedding):
        super().__init__()
        self.embed_tokens = embed_tokens
        self.is_decoder = config.is_decoder
        num_layers = config.num_decoder_layers if self.is_decoder else config.num_layers
        self.block = nn.ModuleList(
            [T5Block(config, has_relative_attention_bias=bool(i == 0)) for i in range(num_layers)]
        )
        self.final_layer_norm = T5LayerNorm(config.d_model, eps=config.layer_norm_epsilon)
        self.dropout = nn.Dropout(config.dropout_rate)

    def forward(
        self,
        input_ids: Tensor,
        attention_mask: Optional[Tensor] = None,
        encoder_hidden_states: Optional[Tensor] = None,
        encoder_attention_mask: Optional[Tensor] = None,
    ) -> Tuple[Tensor]:
        batch_size = input_ids.size(0)
        seq_length = input_ids.size(1)
        inputs_embeds = self.embed_tokens(input_ids)
        dtype = inputs_embeds.dtype
        if attention_mask is None:
            attention_mask = torch.ones(batch_size, seq_length, device=inputs_embeds.device)
        if self.is_decoder:
            # create_extended_attention_mask_for_decoder: key j is visible from query i iff j <= i.
            seq_ids = torch.arange(seq_length, device=inputs_embeds.device)
            causal_mask = seq_ids[None, None, :].repeat(batch_size, seq_length, 1) <= seq_ids[None, :, None]
            causal_mask = causal_mask.to(attention_mask.dtype)
            extended_attention_mask = causal_mask[:, None, :, :] * attention_mask[:, None, None, :]
        else:
            extended_attention_mask = attention_mask[:, None, None, :]
        extended_attention_mask = (1.0 - extended_attention_mask.to(dtype)) * mask_min(dtype)

        encoder_extended_attention_mask: Optional[Tensor] = None
        if self.is_decoder and encoder_hidden_states is not None:
            if encoder_attention_mask is None:
                encoder_attention_mask = torch.ones(
                    encoder_hidden_states.size(0), encoder_hidden_states.size(1), device=inputs_embeds.device
                )
            encoder_extended_attention_mask = (1.0 - encoder_attention_mask[:, None, None, :].to(dtype)) * mask_min(
                dtype
            )

        position_bias: Optional[Tensor] = None
        encoder_decoder_position_bias: Optional[Tensor] = None
        hidden_states = self.dropout(inputs_embeds)
        for layer_module in self.block:
            layer_outputs = layer_module(
                hidden_states,
                extended_attention_mask,
                position_bias,
                encoder_hidden_states,
                encoder_extended_attention_mask,
                encoder_decoder_position_bias,
            )
            hidden_states = layer_outputs[0]
            # Block 0 returns the bias with the mask already added; later blocks reuse it as is.
            position_bias = layer_outputs[1]
            encoder_decoder_position_bias = layer_outputs[2]
        hidden_states = self.final_layer_norm(hidden_states)
        hidden_states = self.dropout(hidden_states)
        return (hidden_states,)


class T5ForConditionalGeneration(nn.Module):
    """shared embedding, encoder, decoder, lm_head (no bias).

    forward(input_ids, attention_mask, decoder_input_ids) -> (lm_logits [B, T_dec, V], encoder_last_hidden_state)
    which is what HF returns with return_dict=False (torchscript=True) and use_cache=False; with the default
    use_cache=True HF puts past_key_values between the two. decoder_input_ids start with
    decoder_start_token_id (= pad, 0); there is no decoder padding mask (HF uses all ones when none is given).

    tie_word_embeddings=True (original T5): lm_head.weight is shared.weight and the decoder output is scaled
    by d_model**-0.5 before lm_head; False (v1.1): an independent lm_head and no rescale."""

    tie_word_embeddings: torch.jit.Final[bool]

    def __init__(self, config: T5Config):
        super().__init__()
        self.model_dim = config.d_model
        self.tie_word_embeddings = config.tie_word_embeddings
        self.shared = nn.Embedding(config.vocab_size, config.d_model)
        encoder_config = copy.deepcopy(config)
        encoder_config.is_decoder = False
        self.encoder = T5Stack(encoder_config, self.shared)
        decoder_config = copy.deepcopy(config)
        decoder_config.is_decoder = True
        self.decoder = T5Stack(decoder_config, self.shared)
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        if config.tie_word_embeddings:
            self.lm_head.weight = self.shared.weight

    def forward(self, input_ids: Tensor, attention_mask: Tensor, decoder_input_ids: Tensor) -> Tuple[Tensor, Tensor]:
        encoder_hidden_states = self.encoder(input_ids, attention_mask, None, None)[0]
        sequence_output = self.decoder(decoder_input_ids, None, encoder_hidden_states, attention_mask)[0]
        if self.tie_word_embeddings:
            # Rescale output before projecting on vocab (Mesh TensorFlow).
            sequence_output = sequence_output * (self.model_dim**-0.5)
        lm_logits = self.lm_head(sequence_output)
        return (lm_logits, encoder_hidden_states)


# --------------------------------------------------------------------------------------------------
# Construction and initialisation
# --------------------------------------------------------------------------------------------------

FAMILIES = ("bert", "roberta", "distilbert", "gpt2", "opt", "t5")
DECODER_FAMILIES = ("gpt2", "opt", "t5")

# Sizes of the families' own vocabularies (HF configs); the special ids below depend on whether the
# vocabulary given is the family's own. GPT-2's BPE has one special token, <|endoftext|> = 50256.
GPT2_VOCAB_SIZE = 50257
OPT_VOCAB_SIZE = 50272  # <s>=0 <pad>=1 </s>=2 <unk>=3, then GPT-2's BPE (padded to a multiple of 8)
T5_VOCAB_SIZE = 32128  # <pad>=0 </s>=1 <unk>=2, sentinels <extra_id_N> from 32000, unused rows to 32127


def default_pad_token_id(family: str, vocab: Optional[int] = None) -> int:
    """The family's HF pad id for a vocabulary of ``vocab`` tokens.

    gpt2: GPT-2 has no pad token; classifiers use eos <|endoftext|>, the last id (50256 for 50257).
    opt: <pad> = 1 with OPT's own vocabulary; with any other (e.g. GPT-2's BPE) the last id, <|endoftext|>.
    t5: <pad> = 0 (also decoder_start_token_id). bert/distilbert 0, roberta 1."""
    if family in ("gpt2", "opt") and vocab is None:
        vocab = GPT2_VOCAB_SIZE if family == "gpt2" else OPT_VOCAB_SIZE
    if family == "gpt2":
        assert vocab is not None
        return vocab - 1
    if family == "opt":
        assert vocab is not None
        return 1 if vocab == OPT_VOCAB_SIZE else vocab - 1
    return 1 if family == "roberta" else 0


def pad_token_id(family: str, vocab: Optional[int] = None) -> int:
    return default_pad_token_id(family, vocab)


def make_config(
    family: str,
    layers: int,
    hidden: int,
    heads: int,
    intermediate: int,
    vocab: int,
    max_positions: int,
    labels: int,
    pad_id: Optional[int] = None,
    word_embed_proj_dim: Optional[int] = None,
    post_ln: bool = False,
    gated: bool = False,
    tie_word_embeddings: bool = True,
):
    """The HF config for a family from the common CLI hyperparameters.

    ``max_positions`` is the longest input sequence. For RoBERTa the position table has
    max_positions + 2 rows (HF: 514 for 512 tokens), because positions start at padding_idx + 1 = 2;
    OPT's table also has 2 more rows (offset 2). T5 has relative positions only (no table).
    ``intermediate`` is the FFN width (GPT-2 n_inner, OPT ffn_dim, T5 d_ff); T5's d_kv is hidden / heads.
    ``pad_id`` overrides the family's default pad id (default_pad_token_id). The remaining options belong
    to one family each: word_embed_proj_dim and post_ln to OPT, gated and tie_word_embeddings to T5.
    """
    if word_embed_proj_dim is not None and family != "opt":
        raise ValueError("word_embed_proj_dim is an OPT option")
    if post_ln and family != "opt":
        raise ValueError("post_ln is an OPT option")
    if (gated or not tie_word_embeddings) and family != "t5":
        raise ValueError("gated and tie_word_embeddings are T5 options")
    pad = default_pad_token_id(family, vocab) if pad_id is None else pad_id
    if not 0 <= pad < vocab:
        raise ValueError(f"pad id {pad} is outside the vocabulary [0, {vocab})")
    if family == "bert":
        return BertConfig(
            vocab_size=vocab,
            hidden_size=hidden,
            num_hidden_layers=layers,
            num_attention_heads=heads,
            intermediate_size=intermediate,
            max_position_embeddings=max_positions,
            num_labels=labels,
            pad_token_id=pad,
        )
    if family == "roberta":
        return RobertaConfig(
            vocab_size=vocab,
            hidden_size=hidden,
            num_hidden_layers=layers,
            num_attention_heads=heads,
            intermediate_size=intermediate,
            max_position_embeddings=max_positions + 2,
            num_labels=labels,
            pad_token_id=pad,
        )
    if family == "distilbert":
        return DistilBertConfig(
            vocab_size=vocab,
            n_layers=layers,
            dim=hidden,
            n_heads=heads,
            hidden_dim=intermediate,
            max_position_embeddings=max_positions,
            num_labels=labels,
            pad_token_id=pad,
        )
    if family == "gpt2":
        eos = vocab - 1  # <|endoftext|>, GPT-2's bos and eos
        return GPT2Config(
            vocab_size=vocab,
            n_positions=max_positions,
            n_embd=hidden,
            n_layer=layers,
            n_head=heads,
            n_inner=intermediate,
            bos_token_id=eos,
            eos_token_id=eos,
            pad_token_id=pad,
            num_labels=labels,
        )
    if family == "opt":
        eos = 2 if vocab == OPT_VOCAB_SIZE else vocab - 1  # OPT's </s>, or GPT-2's <|endoftext|>
        return OPTConfig(
            vocab_size=vocab,
            hidden_size=hidden,
            num_hidden_layers=layers,
            ffn_dim=intermediate,
            max_position_embeddings=max_positions,
            do_layer_norm_before=not post_ln,
            word_embed_proj_dim=word_embed_proj_dim if word_embed_proj_dim is not None else hidden,
            num_attention_heads=heads,
            pad_token_id=pad,
            bos_token_id=eos,
            eos_token_id=eos,
            num_labels=labels,
        )
    if family == "t5":
        if hidden % heads != 0:
            raise ValueError(f"hidden {hidden} is not a multiple of heads {heads} (d_kv = hidden / heads)")
        return T5Config(
            vocab_size=vocab,
            d_model=hidden,
            d_kv=hidden // heads,
            d_ff=intermediate,
            num_layers=layers,
            num_decoder_layers=layers,
            num_heads=heads,
            feed_forward_proj="gated-gelu" if gated else "relu",
            tie_word_embeddings=tie_word_embeddings,
            pad_token_id=pad,
            decoder_start_token_id=pad,
        )
    raise ValueError(f"unknown family {family!r}; expected one of {', '.join(FAMILIES)}")


def special_token_ids(family: str, config) -> List[int]:
    """Ids a random "real" token must not take: the pad id and, for the decoder families, every other
    special id of the vocabulary (all of OPT's / T5's own specials when the vocabulary is theirs)."""
    ids = {config.pad_token_id}
    if family == "gpt2":
        ids |= {config.bos_token_id, config.eos_token_id}
    elif family == "opt":
        ids |= {config.bos_token_id, config.eos_token_id}
        if config.vocab_size == OPT_VOCAB_SIZE:
            ids |= {0, 1, 2, 3}
    elif family == "t5":
        ids |= {config.eos_token_id, config.decoder_start_token_id, 0, 1, 2}  # T5's <pad> </s> <unk>
        if config.vocab_size == T5_VOCAB_SIZE:
            ids |= set(range(32000, T5_VOCAB_SIZE))
    return sorted(ids)


def build_model(family: str, config, token_types: bool = False, head: Optional[str] = None) -> nn.Module:
    """A fresh (HF-initialised) model for the family.

    head: None or "cls" for the sequence classifiers; "lm" for GPT2LMHeadModel. T5 is always
    T5ForConditionalGeneration (head None or "lm")."""
    if token_types and family != "bert":
        raise ValueError(f"--token-types is only supported for bert, not {family}")
    if head not in (None, "cls", "lm"):
        raise ValueError(f"unknown head {head!r}; expected cls or lm")
    if head == "lm" and family not in ("gpt2", "t5"):
        raise ValueError(f"head 'lm' is only implemented for gpt2 and t5, not {family}")
    if head == "cls" and family == "t5":
        raise ValueError("t5 is T5ForConditionalGeneration only (head 'lm')")
    if family == "bert":
        cls = BertForSequenceClassificationWithTokenTypes if token_types else BertForSequenceClassification
        model = cls(config)
    elif family == "roberta":
        model = RobertaForSequenceClassification(config)
    elif family == "distilbert":
        model = DistilBertForSequenceClassification(config)
    elif family == "gpt2":
        model = GPT2LMHeadModel(config) if head == "lm" else GPT2ForSequenceClassification(config)
        init_gpt2_weights(model, config)
        return model
    elif family == "opt":
        model = OPTForSequenceClassification(config)
        init_weights(model, config.init_std)
        return model
    elif family == "t5":
        model = T5ForConditionalGeneration(config)
        init_t5_weights(model, config)
        return model
    else:
        raise ValueError(f"unknown family {family!r}; expected one of {', '.join(FAMILIES)}")
    init_weights(model, config.initializer_range)
    return model


@torch.no_grad()
def init_weights(model: nn.Module, initializer_range: float = 0.02) -> None:
    """HF PreTrainedModel._init_weights: N(0, 0.02) for Linear, Conv1D and Embedding (padding row
    zeroed), zero biases, LayerNorm weight 1 and bias 0. (OPT's is the same with config.init_std.)"""
    for module in model.modules():
        if isinstance(module, (nn.Linear, Conv1D)):
            module.weight.normal_(mean=0.0, std=initializer_range)
            if module.bias is not None:
                module.bias.zero_()
        elif isinstance(module, nn.Embedding):
            module.weight.normal_(mean=0.0, std=initializer_range)
            if module.padding_idx is not None:
                module.weight[module.padding_idx].zero_()
        elif isinstance(module, nn.LayerNorm):
            module.bias.zero_()
            module.weight.fill_(1.0)


@torch.no_grad()
def init_gpt2_weights(model: nn.Module, config: GPT2Config) -> None:
    """GPT2PreTrainedModel._init_weights: the generic init, then every ``c_proj.weight`` (attention and
    MLP output projections) re-drawn with std initializer_range / sqrt(2 * n_layer) (GPT-2 paper's scaled
    init of residual projections)."""
    init_weights(model, config.initializer_range)
    std = config.initializer_range / math.sqrt(2 * config.n_layer)
    for module in model.modules():
        if isinstance(module, (GPT2Attention, GPT2MLP)):
            module.c_proj.weight.normal_(mean=0.0, std=std)


@torch.no_grad()
def init_t5_weights(model: nn.Module, config: T5Config) -> None:
    """T5PreTrainedModel._init_weights (Mesh TensorFlow init, initializer_factor 1.0): shared N(0, 1)
    (and an untied lm_head too), wi ~ d_model**-0.5, wo ~ d_ff**-0.5, q ~ (d_model*d_kv)**-0.5,
    k, v ~ d_model**-0.5, o ~ (heads*d_kv)**-0.5, relative_attention_bias ~ d_model**-0.5, RMS norm 1."""
    factor = config.initializer_factor
    for module in model.modules():
        if isinstance(module, T5LayerNorm):
            module.weight.fill_(factor * 1.0)
        elif isinstance(module, T5ForConditionalGeneration):
            module.shared.weight.normal_(mean=0.0, std=factor * 1.0)
            if not config.tie_word_embeddings:
                module.lm_head.weight.normal_(mean=0.0, std=factor * 1.0)
        elif isinstance(module, T5DenseActDense):
            module.wi.weight.normal_(mean=0.0, std=factor * (config.d_model**-0.5))
            module.wo.weight.normal_(mean=0.0, std=factor * (config.d_ff**-0.5))
        elif isinstance(module, T5DenseGatedActDense):
            module.wi_0.weight.normal_(mean=0.0, std=factor * (config.d_model**-0.5))
            module.wi_1.weight.normal_(mean=0.0, std=factor * (config.d_model**-0.5))
            module.wo.weight.normal_(mean=0.0, std=factor * (config.d_ff**-0.5))
        elif isinstance(module, T5Attention):
            d_model, d_kv, n_heads = config.d_model, config.d_kv, config.num_heads
            module.q.weight.normal_(mean=0.0, std=factor * ((d_model * d_kv) ** -0.5))
            module.k.weight.normal_(mean=0.0, std=factor * (d_model**-0.5))
            module.v.weight.normal_(mean=0.0, std=factor * (d_model**-0.5))
            module.o.weight.normal_(mean=0.0, std=factor * ((n_heads * d_kv) ** -0.5))
            if module.has_relative_attention_bias:
                module.relative_attention_bias.weight.normal_(mean=0.0, std=factor * (d_model**-0.5))


@torch.no_grad()
def perturb_norms(model: nn.Module, scale: float = 0.1) -> None:
    """Move every LayerNorm off (1, 0): weight 1 + scale*N(0,1), bias scale*N(0,1); T5's RMS norm weight
    (it has no bias) likewise.

    Test models only: a rebuild that drops or misplaces a LayerNorm's affine parameters then changes
    the logits instead of passing by accident."""
    for module in model.modules():
        if isinstance(module, nn.LayerNorm):
            module.weight.add_(torch.randn_like(module.weight) * scale)
            module.bias.add_(torch.randn_like(module.bias) * scale)
        elif isinstance(module, T5LayerNorm):
            module.weight.add_(torch.randn_like(module.weight) * scale)


@torch.no_grad()
def perturb_biases(model: nn.Module, scale: float = 0.02) -> None:
    """Give every Linear and Conv1D a non-zero bias (HF initialises them to zero), for the same reason.
    (T5 has no biases at all.)"""
    for module in model.modules():
        if isinstance(module, (nn.Linear, Conv1D)) and module.bias is not None:
            module.bias.add_(torch.randn_like(module.bias) * scale)


def forward_arg_names(model: nn.Module) -> List[str]:
    """Names of the top-level forward's arguments (input_ids, attention_mask[, token_type_ids |
    decoder_input_ids])."""
    if isinstance(model, BertForSequenceClassificationWithTokenTypes):
        return ["input_ids", "attention_mask", "token_type_ids"]
    if isinstance(model, T5ForConditionalGeneration):
        return ["input_ids", "attention_mask", "decoder_input_ids"]
    return ["input_ids", "attention_mask"]

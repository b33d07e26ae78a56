"""Reference BERT / RoBERTa / DistilBERT sequence classifiers, written to match Hugging Face transformers.

The module tree, parameter and buffer names and forward semantics follow HF's modeling_bert.py,
modeling_roberta.py and modeling_distilbert.py (transformers 4.2x, eager attention, absolute positions,
no cache, no head mask), so a state dict from HF loads here and a TorchScript exported from these
classes has the same names as one traced from HF with ``torchscript=True``:

    bert.embeddings.word_embeddings.weight, bert.encoder.layer.0.attention.self.query.weight, ...
    roberta.embeddings..., classifier.dense / classifier.out_proj
    distilbert.transformer.layer.0.attention.q_lin.weight, pre_classifier, classifier

Every class is scriptable with torch.jit.script (type annotations, no **kwargs) and traceable.
The top-level forward is ``forward(input_ids, attention_mask) -> (logits,)``; BERT also has
``BertForSequenceClassificationWithTokenTypes`` whose forward takes ``token_type_ids`` as a third
argument (same parameters; a subclass only so that the scripted signature is exact).

Used by tools/export_reference.py (export to TorchScript) and bench/python_finetune_epoch.py. Import with
``sys.path.insert(0, "<repo>/tools")`` and run with Debian's /usr/bin/python3 (PyTorch 1.13).

Deliberate differences from HF, none of which changes the numbers:
  * configs are the small dataclasses below, not transformers.PretrainedConfig;
  * GELUActivation calls F.gelu directly (HF stores the function as an attribute);
  * HF's chunked feed-forward (chunk_size_feed_forward=0 by default) is a direct call here;
  * the masking constant is ``torch.finfo(dtype).min`` written as a per-dtype table (finfo is not
    available in TorchScript).
"""

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
# Construction and initialisation
# --------------------------------------------------------------------------------------------------

FAMILIES = ("bert", "roberta", "distilbert")


def make_config(
    family: str,
    layers: int,
    hidden: int,
    heads: int,
    intermediate: int,
    vocab: int,
    max_positions: int,
    labels: int,
):
    """The HF config for a family from the common CLI hyperparameters.

    ``max_positions`` is the longest input sequence. For RoBERTa the position table has
    max_positions + 2 rows (HF: 514 for 512 tokens), because positions start at padding_idx + 1 = 2.
    """
    if family == "bert":
        return BertConfig(
            vocab_size=vocab,
            hidden_size=hidden,
            num_hidden_layers=layers,
            num_attention_heads=heads,
            intermediate_size=intermediate,
            max_position_embeddings=max_positions,
            num_labels=labels,
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
        )
    raise ValueError(f"unknown family {family!r}; expected one of {', '.join(FAMILIES)}")


def build_model(family: str, config, token_types: bool = False) -> nn.Module:
    """A fresh (HF-initialised) sequence classifier for the family."""
    if family == "bert":
        cls = BertForSequenceClassificationWithTokenTypes if token_types else BertForSequenceClassification
        model = cls(config)
    elif token_types:
        raise ValueError(f"--token-types is only supported for bert, not {family}")
    elif family == "roberta":
        model = RobertaForSequenceClassification(config)
    elif family == "distilbert":
        model = DistilBertForSequenceClassification(config)
    else:
        raise ValueError(f"unknown family {family!r}; expected one of {', '.join(FAMILIES)}")
    init_weights(model, config.initializer_range)
    return model


def pad_token_id(family: str) -> int:
    return 1 if family == "roberta" else 0


@torch.no_grad()
def init_weights(model: nn.Module, initializer_range: float = 0.02) -> None:
    """HF PreTrainedModel._init_weights: N(0, 0.02) for Linear and Embedding (padding row zeroed),
    zero biases, LayerNorm weight 1 and bias 0."""
    for module in model.modules():
        if isinstance(module, nn.Linear):
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
def perturb_norms(model: nn.Module, scale: float = 0.1) -> None:
    """Move every LayerNorm off (1, 0): weight 1 + scale*N(0,1), bias scale*N(0,1).

    Test models only: a rebuild that drops or misplaces a LayerNorm's affine parameters then changes
    the logits instead of passing by accident."""
    for module in model.modules():
        if isinstance(module, nn.LayerNorm):
            module.weight.add_(torch.randn_like(module.weight) * scale)
            module.bias.add_(torch.randn_like(module.bias) * scale)


@torch.no_grad()
def perturb_biases(model: nn.Module, scale: float = 0.02) -> None:
    """Give every Linear a non-zero bias (HF initialises them to zero), for the same reason."""
    for module in model.modules():
        if isinstance(module, nn.Linear) and module.bias is not None:
            module.bias.add_(torch.randn_like(module.bias) * scale)


def forward_arg_names(model: nn.Module) -> List[str]:
    """Names of the top-level forward's arguments (input_ids, attention_mask[, token_type_ids])."""
    if isinstance(model, BertForSequenceClassificationWithTokenTypes):
        return ["input_ids", "attention_mask", "token_type_ids"]
    return ["input_ids", "attention_mask"]

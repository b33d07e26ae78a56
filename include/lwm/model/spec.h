#pragma once
// A family-neutral description of a transformer classifier: enough to rebuild
// it natively from its weights, and for the compression stages to reason about
// layers, heads, FFN neurons and the hidden size without family-specific code.
#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

#include "lwm/common/family.h"

namespace lwm {

// gelu (erf, HF "gelu"), gelu_new (tanh approximation), relu, tanh (the BERT / RoBERTa classifier heads).
enum class Activation { GeluErf, GeluTanh, Relu, Tanh };
enum class PositionScheme {
  Absolute,        // position i for token i (BERT, DistilBERT, GPT-2)
  PaddingOffset,   // RoBERTa: non-padding tokens counted from pad_token_id + 1, padding at pad_token_id
  MaskOffset,      // OPT: attended tokens counted from 0 by the attention mask, plus position_offset (2)
};
enum class NormPlacement {
  Post,  // x = norm(x + block(x)) (BERT family; OPT with do_layer_norm_before=False)
  Pre,   // x = x + block(norm(x)), and a final norm after the last layer (GPT-2, OPT)
};
enum class HeadType {
  PoolerClassifier,   // BERT: pooler.dense + tanh on token 0, then classifier
  // RoBERTa, ELECTRA: classifier.dense + head_activation (RoBERTa tanh, ElectraClassificationHead gelu) +
  // classifier.out_proj on token 0, dropout before each projection.
  RobertaClassifier,
  PreClassifier,      // DistilBERT: pre_classifier + ReLU on token 0, then classifier
  LastToken,          // GPT-2, OPT: head_out (no bias) on the last token that is not pad_token_id
  // T5 (encoder-decoder, text to text): rank classification. Each label is a word ("negative", "positive")
  // whose target token ids (label_tokens) the decoder scores; a label's logit is the sum of the log-probs of
  // its tokens given the input (classify()). forward() stays the LM's: (lm_logits, encoder output).
  LabelWords,
};
// Which token a LastToken head (GPT-2, OPT) classifies. Hugging Face's GPT2ForSequenceClassification and
// OPTForSequenceClassification changed the rule; the two agree unless pad_token_id occurs inside a text (a
// GPT-2 whose pad is <|endoftext|>, 50256, given a text that holds it) or a row is left-padded:
enum class Pooling {
  // transformers >= 4.49 (huggingface/transformers#35911, January 2025; the current modeling_gpt2.py and
  // modeling_opt.py): the rightmost token that is not the pad id, (arange(T) * (input_ids != pad)).argmax(-1).
  RightmostNonPad,
  // transformers 4.32 to 4.48: the token before the first pad id, (eq(input_ids, pad).int().argmax(-1) - 1) % T
  // (no pad id in the row, or one at position 0: the last token). (Before 4.32 Hugging Face took
  // ne(input_ids, pad).sum(-1) - 1, a third rule lwm does not rebuild; the faithfulness check refuses such a file.)
  BeforeFirstPad,
};
enum class NormKind {
  LayerNorm,  // (x - mean) / sqrt(var + eps) * w + b
  RmsNorm,    // T5: x / sqrt(mean(x^2) + eps) * w, no mean, no bias
};

std::string to_string(Activation a);
std::string to_string(PositionScheme p);
std::string to_string(HeadType h);
std::string to_string(NormPlacement n);
std::string to_string(NormKind n);
std::string to_string(Pooling p);  // "rightmost-non-pad", "before-first-pad"

struct LayerSpec {
  int heads = 0;     // attention heads kept in this layer
  int head_dim = 0;  // width of one head
  int ffn = 0;       // intermediate (FFN) width
  // Encoder-decoder models: layers of the decoder stack come after the encoder's, and also attend to the
  // encoder output with `cross_heads` heads (of width head_dim).
  bool decoder = false;
  int cross_heads = 0;
  // Relative position bias (T5): which heads of the stack's bias table this layer's heads are, in order.
  // Empty: heads 0..heads-1. Head pruning keeps the table whole and records the survivors here.
  std::vector<int> bias_heads;
  bool operator==(const LayerSpec&) const = default;
};

// Where each weight lives, in the family's own (Hugging Face) parameter names.
// Layer entries are relative to `layer_prefix + N + "."`; each names a module
// holding `weight` (and `bias`), e.g. "attention.self.query". An empty name: the family has no such module.
struct ParamNames {
  std::string word_embeddings, position_embeddings, token_type_embeddings, embedding_norm;
  std::string project_in, project_out;  // OPT: Linear (no bias) between the embedding width and hidden
  // ELECTRA (ElectraModel.embeddings_project): Linear (with bias) from the embedding width to hidden, after the
  // embedding norm; word, position and token type embeddings and that norm are all embedding_width wide.
  std::string embedding_project;
  std::string layer_prefix;  // "bert.encoder.layer."
  // Separate projections (query/key/value), or one fused Q|K|V module (GPT-2's attn.c_attn: output
  // blocks Q, K, V of width heads*head_dim each, head-major inside each block).
  std::string query, key, value, qkv;
  // attn_norm / ffn_norm: the norm after (post-LN) or before (pre-LN) the attention / FFN block.
  std::string attn_out, attn_norm, ffn_in, ffn_out, ffn_norm;
  std::string final_norm;    // pre-LN: the norm after the last layer (GPT-2 ln_f, OPT final_layer_norm)
  // Gated FFN (T5 v1.1): h = act(ffn_in(x)) * ffn_gate(x).
  std::string ffn_gate;
  // Decoder layers of an encoder-decoder: attention over the encoder output, with its pre-norm.
  std::string cross_query, cross_key, cross_value, cross_out, cross_norm;
  // T5: the bucketed relative position bias table [buckets, heads], a module of the stack's first layer
  // that every layer of the stack reads.
  std::string relative_bias;
  std::string lm_head;       // T5 with untied output embedding; empty: logits from word_embeddings
  std::string head_dense;    // pooler.dense / classifier.dense / pre_classifier (empty for LastToken)
  std::string head_out;      // classifier / classifier.out_proj / score
  bool operator==(const ParamNames&) const = default;
};

struct ModelSpec {
  Family family = Family::Bert;
  ParamNames names;
  int vocab_size = 0;              // rows of the word embedding
  // Vocabulary pruning (compress/vocab_pruning.h): > 0 when the word embedding keeps only some rows. The model
  // still takes the teacher's ids, 0 <= id < input_vocab_size, and looks each up through the int64 buffer
  // `vocab_map` [input_vocab_size] of the word embedding module (vocab_map_name()): the row of that id, or the
  // unknown token's row for an id the pruning dropped. 0: no map, ids index the embedding directly.
  int input_vocab_size = 0;
  int max_positions = 0;
  int type_vocab_size = 0;  // 0 when the family has no token types (DistilBERT)
  int hidden = 0;
  int num_labels = 0;
  int pad_token_id = 0;
  double norm_eps = 1e-12;
  double dropout = 0.1;  // applied in train() only
  Activation activation = Activation::GeluErf;
  PositionScheme positions = PositionScheme::Absolute;
  HeadType head = HeadType::PoolerClassifier;
  // The activation after head_dense: tanh (BERT pooler, RoBERTa), relu (DistilBERT), gelu (ELECTRA). A spec JSON
  // without the field (lwm before ELECTRA) means the head type's own: relu for PreClassifier, tanh otherwise.
  Activation head_activation = Activation::Tanh;
  NormPlacement norm = NormPlacement::Post;
  bool causal = false;            // decoder self-attention: token i attends to tokens 0..i only
  int position_offset = 0;        // MaskOffset: added to every position (OPT: 2)
  int embedding_width = 0;        // width of word_embeddings (== hidden unless project_in/out or embedding_project exist)
  // Weights of the layers' projections stored [in, out] (GPT-2's Conv1D) instead of Linear's [out, in].
  bool transposed_weights = false;
  bool head_out_bias = true;      // score of GPT-2/OPT has none
  // LastToken head: the rule the file pools with, read behaviourally on import (importer.h); every rebuild and
  // student keeps it. A spec JSON without the field (lwm before this field existed) means RightmostNonPad.
  Pooling pooling = Pooling::RightmostNonPad;
  NormKind norm_kind = NormKind::LayerNorm;
  bool linear_bias = true;        // T5's projections have no biases
  bool attention_scaling = true;  // scores / sqrt(head_dim); T5 folds it into the weights
  // Encoder-decoder (T5): `names` describe the encoder stack and the shared parts, `decoder_names` the
  // decoder stack (its layer_prefix, per-layer modules and final_norm).
  bool encoder_decoder = false;
  ParamNames decoder_names;
  int relative_buckets = 0;       // T5 relative attention: number of buckets and the largest distance
  int relative_max_distance = 0;
  double output_scale = 1.0;      // T5 with tied embeddings: decoder output * d_model^-0.5 (of the teacher)
  int decoder_start_token_id = 0;
  // LabelWords head: the target token ids of each label's word (T5: SentencePiece pieces then </s>).
  std::vector<std::vector<int64_t>> label_tokens;
  std::vector<LayerSpec> layers;
  // The teacher's forward() argument names, in order (input_ids, attention_mask[, token_type_ids]),
  // and how it returns the logits: a tuple (Hugging Face's return_dict=False / torchscript=True), a dict
  // {output_key: logits} (a ModelOutput traced with strict=False) or a bare tensor.
  std::vector<std::string> forward_args;
  bool returns_tuple = true;
  std::string output_key;  // non-empty: forward() returns {output_key: logits}

  // Field by field (names, layers and label tokens included): what a to_json() -> from_json() round trip keeps.
  bool operator==(const ModelSpec&) const = default;

  int num_layers() const { return static_cast<int>(layers.size()); }
  // The ids the model accepts: [0, input_vocab()).
  int input_vocab() const { return input_vocab_size > 0 ? input_vocab_size : vocab_size; }
  // The weights' key of the vocabulary map (input_vocab_size > 0): "<word_embeddings>.vocab_map".
  std::string vocab_map_name() const { return names.word_embeddings + ".vocab_map"; }
  int num_decoder_layers() const;
  int num_encoder_layers() const { return num_layers() - num_decoder_layers(); }
  // The names of layer `layer`'s stack, and its index within that stack.
  // (A layer not in `layers` yet, as while an importer reads them, is an encoder layer.)
  bool is_decoder_layer(int layer) const { return layer >= 0 && layer < num_layers() && layers[layer].decoder; }
  const ParamNames& names_of(int layer) const { return is_decoder_layer(layer) ? decoder_names : names; }
  int stack_index(int layer) const { return is_decoder_layer(layer) ? layer - num_encoder_layers() : layer; }
  std::string layer_path(int layer) const { return names_of(layer).layer_prefix + std::to_string(stack_index(layer)); }
  std::string layer_param(int layer, const std::string& module, const std::string& leaf) const {
    return layer_path(layer) + "." + module + "." + leaf;
  }
  // The axis of a layer projection's weight that indexes its outputs / its inputs.
  int64_t out_axis() const { return transposed_weights ? 1 : 0; }
  int64_t in_axis() const { return transposed_weights ? 0 : 1; }
  bool fused_qkv() const { return !names.qkv.empty(); }
  // Every field, parameter names included (`names`, `decoder_names`: objects of the non-empty ones), so that
  // from_json(to_json()) == *this for every family: a frozen int8 model, which can no longer be imported from
  // its weights, keeps its whole spec (a GPT-2 LM its label_tokens). docs/report.md lists the keys.
  nlohmann::json to_json() const;
  // Reads what to_json() writes. Keys added after a spec was written take their default when absent (pooling:
  // RightmostNonPad; dropout 0.1; names empty). nlohmann::json's exceptions, or std::invalid_argument for an
  // unknown enum string, on a malformed object (import_model turns them into a ModelError).
  static ModelSpec from_json(const nlohmann::json& j);
};

// Name of the string attribute in which lwm stores a model's spec (as JSON) in files it writes.
constexpr const char* kSpecAttribute = "lwm_spec";
// Name of the string attribute in which every model lwm builds records its family (to_string(Family)): the
// one fact an import cannot read from weights and graphs alike (XLM-R has RoBERTa's names; its HF class name
// tells them apart in an export, and this attribute in an lwm student).
constexpr const char* kFamilyAttribute = "lwm_family";

}  // namespace lwm

#pragma once
// A family-neutral description of a transformer classifier: enough to rebuild
// it natively from its weights, and for the compression stages to reason about
// layers, heads, FFN neurons and the hidden size without family-specific code.
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace lwm {

enum class Family { Bert, Roberta, DistilBert };
enum class Activation { GeluErf, GeluTanh, Relu };
enum class PositionScheme {
  Absolute,        // position i for token i (BERT, DistilBERT)
  PaddingOffset,   // RoBERTa: non-padding tokens counted from pad_token_id + 1, padding at pad_token_id
};
enum class HeadType {
  PoolerClassifier,   // BERT: pooler.dense + tanh on token 0, then classifier
  RobertaClassifier,  // RoBERTa: classifier.dense + tanh + classifier.out_proj on token 0
  PreClassifier,      // DistilBERT: pre_classifier + ReLU on token 0, then classifier
};

std::string to_string(Family f);
std::string to_string(Activation a);
std::string to_string(PositionScheme p);
std::string to_string(HeadType h);

struct LayerSpec {
  int heads = 0;     // attention heads kept in this layer
  int head_dim = 0;  // width of one head
  int ffn = 0;       // intermediate (FFN) width
};

// Where each weight lives, in the family's own (Hugging Face) parameter names.
// Layer entries are relative to `layer_prefix + N + "."`; each names a module
// holding `weight` (and `bias`), e.g. "attention.self.query".
struct ParamNames {
  std::string word_embeddings, position_embeddings, token_type_embeddings, embedding_norm;
  std::string layer_prefix;  // "bert.encoder.layer."
  std::string query, key, value, attn_out, attn_norm, ffn_in, ffn_out, ffn_norm;
  std::string head_dense;    // pooler.dense / classifier.dense / pre_classifier
  std::string head_out;      // classifier / classifier.out_proj
};

struct ModelSpec {
  Family family = Family::Bert;
  ParamNames names;
  int vocab_size = 0;
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
  std::vector<LayerSpec> layers;
  // The teacher's forward() argument names, in order (input_ids, attention_mask[, token_type_ids]),
  // and whether it returns a tuple (Hugging Face's torchscript=True) or a bare logits tensor.
  std::vector<std::string> forward_args;
  bool returns_tuple = true;

  int num_layers() const { return static_cast<int>(layers.size()); }
  std::string layer_param(int layer, const std::string& module, const std::string& leaf) const {
    return names.layer_prefix + std::to_string(layer) + "." + module + "." + leaf;
  }
  nlohmann::json to_json() const;
  // The fields to_json() writes (parameter names are left empty): enough to check data and a
  // tokenizer against a model that can no longer be imported from its weights (a frozen int8 model).
  static ModelSpec from_json(const nlohmann::json& j);
};

// Name of the string attribute in which lwm stores a model's spec (as JSON) in files it writes.
constexpr const char* kSpecAttribute = "lwm_spec";

}  // namespace lwm

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
enum class HeadType {
  PoolerClassifier,   // BERT: pooler.dense + tanh on [CLS], then classifier
  RobertaClassifier,  // RoBERTa: classifier.dense + tanh + classifier.out_proj on <s>
  PreClassifier,      // DistilBERT: pre_classifier + ReLU on [CLS], then classifier
};

std::string to_string(Family f);
std::string to_string(Activation a);
std::string to_string(HeadType h);

struct LayerSpec {
  int heads = 0;     // attention heads kept in this layer
  int head_dim = 0;  // width of one head
  int ffn = 0;       // intermediate (FFN) width
};

struct ModelSpec {
  Family family = Family::Bert;
  std::string prefix;  // "bert", "roberta", "distilbert": root of the encoder's parameter names
  int vocab_size = 0;
  int max_positions = 0;
  int type_vocab_size = 0;  // 0 when the family has no token types (DistilBERT)
  int hidden = 0;
  int num_labels = 0;
  int position_offset = 0;  // RoBERTa: padding_idx + 1; positions are counted over non-padding tokens
  int pad_token_id = 0;
  double norm_eps = 1e-12;
  Activation activation = Activation::GeluErf;
  HeadType head = HeadType::PoolerClassifier;
  std::vector<LayerSpec> layers;
  // The teacher's forward() argument names, in order (e.g. input_ids, attention_mask[, token_type_ids]).
  std::vector<std::string> forward_args;

  int num_layers() const { return static_cast<int>(layers.size()); }
  nlohmann::json to_json() const;
};

}  // namespace lwm

#include "lwm/model/spec.h"

namespace lwm {

std::string to_string(Family f) {
  switch (f) {
    case Family::Bert: return "bert";
    case Family::Roberta: return "roberta";
    case Family::DistilBert: return "distilbert";
  }
  return "?";
}

std::string to_string(Activation a) {
  switch (a) {
    case Activation::GeluErf: return "gelu";
    case Activation::GeluTanh: return "gelu_new";
    case Activation::Relu: return "relu";
  }
  return "?";
}

std::string to_string(PositionScheme p) {
  switch (p) {
    case PositionScheme::Absolute: return "absolute";
    case PositionScheme::PaddingOffset: return "absolute-padding-offset";
  }
  return "?";
}

std::string to_string(HeadType h) {
  switch (h) {
    case HeadType::PoolerClassifier: return "pooler-classifier";
    case HeadType::RobertaClassifier: return "roberta-classifier";
    case HeadType::PreClassifier: return "pre-classifier";
  }
  return "?";
}

nlohmann::json ModelSpec::to_json() const {
  nlohmann::json layers_json = nlohmann::json::array();
  for (const auto& l : layers) {
    layers_json.push_back({{"heads", l.heads}, {"head_dim", l.head_dim}, {"ffn", l.ffn}});
  }
  return {{"family", to_string(family)},
          {"num_layers", num_layers()},
          {"hidden", hidden},
          {"vocab_size", vocab_size},
          {"max_positions", max_positions},
          {"type_vocab_size", type_vocab_size},
          {"num_labels", num_labels},
          {"pad_token_id", pad_token_id},
          {"norm", "layernorm-post"},
          {"norm_eps", norm_eps},
          {"activation", to_string(activation)},
          {"positions", to_string(positions)},
          {"head", to_string(head)},
          {"forward_args", forward_args},
          {"returns_tuple", returns_tuple},
          {"layers", layers_json}};
}

ModelSpec ModelSpec::from_json(const nlohmann::json& j) {
  ModelSpec s;
  const std::string family = j.at("family");
  s.family = family == "roberta" ? Family::Roberta : family == "distilbert" ? Family::DistilBert : Family::Bert;
  s.hidden = j.at("hidden");
  s.vocab_size = j.at("vocab_size");
  s.max_positions = j.at("max_positions");
  s.type_vocab_size = j.at("type_vocab_size");
  s.num_labels = j.at("num_labels");
  s.pad_token_id = j.at("pad_token_id");
  s.norm_eps = j.at("norm_eps");
  const std::string act = j.at("activation");
  s.activation = act == "relu" ? Activation::Relu : act == "gelu_new" ? Activation::GeluTanh : Activation::GeluErf;
  s.positions = j.at("positions") == "absolute" ? PositionScheme::Absolute : PositionScheme::PaddingOffset;
  const std::string head = j.at("head");
  s.head = head == "roberta-classifier" ? HeadType::RobertaClassifier
           : head == "pre-classifier"   ? HeadType::PreClassifier
                                        : HeadType::PoolerClassifier;
  s.forward_args = j.at("forward_args").get<std::vector<std::string>>();
  s.returns_tuple = j.at("returns_tuple");
  for (const auto& l : j.at("layers")) s.layers.push_back({l.at("heads"), l.at("head_dim"), l.at("ffn")});
  return s;
}

}  // namespace lwm

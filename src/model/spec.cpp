#include "lwm/model/spec.h"

namespace lwm {

std::string to_string(Family f) {
  switch (f) {
    case Family::Bert: return "bert";
    case Family::Roberta: return "roberta";
    case Family::DistilBert: return "distilbert";
    case Family::Gpt2: return "gpt2";
    case Family::Opt: return "opt";
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
    case PositionScheme::MaskOffset: return "attention-mask-offset";
  }
  return "?";
}

std::string to_string(HeadType h) {
  switch (h) {
    case HeadType::PoolerClassifier: return "pooler-classifier";
    case HeadType::RobertaClassifier: return "roberta-classifier";
    case HeadType::PreClassifier: return "pre-classifier";
    case HeadType::LastToken: return "last-token";
  }
  return "?";
}

std::string to_string(NormPlacement n) { return n == NormPlacement::Pre ? "layernorm-pre" : "layernorm-post"; }

namespace {

template <typename Enum, typename... Values>
Enum enum_from_string(const std::string& text, const char* what, Values... values) {
  for (Enum v : {values...}) {
    if (to_string(v) == text) return v;
  }
  throw std::invalid_argument(std::string("unknown ") + what + " '" + text + "'");
}

}  // namespace

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
          {"norm", to_string(norm)},
          {"causal", causal},
          {"position_offset", position_offset},
          {"embedding_width", embedding_width},
          {"transposed_weights", transposed_weights},
          {"head_out_bias", head_out_bias},
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
  s.family = enum_from_string<Family>(j.at("family"), "family", Family::Bert, Family::Roberta, Family::DistilBert,
                                      Family::Gpt2, Family::Opt);
  s.hidden = j.at("hidden");
  s.vocab_size = j.at("vocab_size");
  s.max_positions = j.at("max_positions");
  s.type_vocab_size = j.at("type_vocab_size");
  s.num_labels = j.at("num_labels");
  s.pad_token_id = j.at("pad_token_id");
  s.norm_eps = j.at("norm_eps");
  s.activation = enum_from_string<Activation>(j.at("activation"), "activation", Activation::GeluErf,
                                              Activation::GeluTanh, Activation::Relu);
  s.positions = enum_from_string<PositionScheme>(j.at("positions"), "position scheme", PositionScheme::Absolute,
                                                 PositionScheme::PaddingOffset, PositionScheme::MaskOffset);
  s.head = enum_from_string<HeadType>(j.at("head"), "head", HeadType::PoolerClassifier, HeadType::RobertaClassifier,
                                      HeadType::PreClassifier, HeadType::LastToken);
  s.norm = enum_from_string<NormPlacement>(j.value("norm", std::string("layernorm-post")), "norm",
                                           NormPlacement::Post, NormPlacement::Pre);
  s.causal = j.value("causal", false);
  s.position_offset = j.value("position_offset", 0);
  s.embedding_width = j.value("embedding_width", s.hidden);
  s.transposed_weights = j.value("transposed_weights", false);
  s.head_out_bias = j.value("head_out_bias", true);
  s.forward_args = j.at("forward_args").get<std::vector<std::string>>();
  s.returns_tuple = j.at("returns_tuple");
  for (const auto& l : j.at("layers")) s.layers.push_back({l.at("heads"), l.at("head_dim"), l.at("ffn")});
  return s;
}

}  // namespace lwm

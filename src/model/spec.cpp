#include "lwm/model/spec.h"

#include <algorithm>

namespace lwm {

std::string to_string(Family f) {
  switch (f) {
    case Family::Bert: return "bert";
    case Family::Roberta: return "roberta";
    case Family::DistilBert: return "distilbert";
    case Family::Gpt2: return "gpt2";
    case Family::Opt: return "opt";
    case Family::T5: return "t5";
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
    case HeadType::LabelWords: return "label-words";
  }
  return "?";
}

std::string to_string(NormPlacement n) { return n == NormPlacement::Pre ? "layernorm-pre" : "layernorm-post"; }

std::string to_string(NormKind n) { return n == NormKind::RmsNorm ? "rmsnorm" : "layernorm"; }

int ModelSpec::num_decoder_layers() const {
  return static_cast<int>(std::count_if(layers.begin(), layers.end(), [](const LayerSpec& l) { return l.decoder; }));
}

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
    nlohmann::json lj = {{"heads", l.heads}, {"head_dim", l.head_dim}, {"ffn", l.ffn}};
    if (l.decoder) {
      lj["decoder"] = true;
      lj["cross_heads"] = l.cross_heads;
    }
    if (!l.bias_heads.empty()) lj["bias_heads"] = l.bias_heads;
    layers_json.push_back(lj);
  }
  nlohmann::json j = {{"family", to_string(family)},
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
  if (!output_key.empty()) j["output_key"] = output_key;
  if (encoder_decoder) {
    j["encoder_decoder"] = true;
    j["norm_kind"] = to_string(norm_kind);
    j["linear_bias"] = linear_bias;
    j["attention_scaling"] = attention_scaling;
    j["relative_buckets"] = relative_buckets;
    j["relative_max_distance"] = relative_max_distance;
    j["output_scale"] = output_scale;
    j["decoder_start_token_id"] = decoder_start_token_id;
    j["label_tokens"] = label_tokens;
  }
  return j;
}

ModelSpec ModelSpec::from_json(const nlohmann::json& j) {
  ModelSpec s;
  s.family = enum_from_string<Family>(j.at("family"), "family", Family::Bert, Family::Roberta, Family::DistilBert,
                                      Family::Gpt2, Family::Opt, Family::T5);
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
                                      HeadType::PreClassifier, HeadType::LastToken, HeadType::LabelWords);
  s.norm = enum_from_string<NormPlacement>(j.value("norm", std::string("layernorm-post")), "norm",
                                           NormPlacement::Post, NormPlacement::Pre);
  s.causal = j.value("causal", false);
  s.position_offset = j.value("position_offset", 0);
  s.embedding_width = j.value("embedding_width", s.hidden);
  s.transposed_weights = j.value("transposed_weights", false);
  s.head_out_bias = j.value("head_out_bias", true);
  s.forward_args = j.at("forward_args").get<std::vector<std::string>>();
  s.returns_tuple = j.at("returns_tuple");
  s.output_key = j.value("output_key", "");
  for (const auto& l : j.at("layers")) {
    LayerSpec layer;
    layer.heads = l.at("heads");
    layer.head_dim = l.at("head_dim");
    layer.ffn = l.at("ffn");
    layer.decoder = l.value("decoder", false);
    layer.cross_heads = l.value("cross_heads", 0);
    layer.bias_heads = l.value("bias_heads", std::vector<int>{});
    s.layers.push_back(layer);
  }
  s.encoder_decoder = j.value("encoder_decoder", false);
  if (s.encoder_decoder) {
    s.norm_kind = enum_from_string<NormKind>(j.at("norm_kind"), "norm kind", NormKind::LayerNorm, NormKind::RmsNorm);
    s.linear_bias = j.at("linear_bias");
    s.attention_scaling = j.at("attention_scaling");
    s.relative_buckets = j.at("relative_buckets");
    s.relative_max_distance = j.at("relative_max_distance");
    s.output_scale = j.at("output_scale");
    s.decoder_start_token_id = j.at("decoder_start_token_id");
    s.label_tokens = j.at("label_tokens").get<std::vector<std::vector<int64_t>>>();
  }
  return s;
}

}  // namespace lwm

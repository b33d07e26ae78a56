#include "lwm/model/spec.h"

#include "lwm/model/tensor_inventory.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace lwm {

std::string to_string(Activation a) {
  switch (a) {
    case Activation::GeluErf: return "gelu";
    case Activation::GeluTanh: return "gelu_new";
    case Activation::Relu: return "relu";
    case Activation::Tanh: return "tanh";
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

std::string to_string(Pooling p) { return p == Pooling::BeforeFirstPad ? "before-first-pad" : "rightmost-non-pad"; }

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

nlohmann::json names_to_json(const ParamNames& n) {
  nlohmann::json j = nlohmann::json::object();
  if (!n.layer_prefix.empty()) j["layer_prefix"] = n.layer_prefix;
  for (const auto& [role, member] : role_names()) {
    if (!(n.*member).empty()) j[to_string(role)] = n.*member;
  }
  return j;
}

ParamNames names_from_json(const nlohmann::json& j) {
  ParamNames n;
  n.layer_prefix = j.value("layer_prefix", std::string());
  for (const auto& [role, member] : role_names()) n.*member = j.value(to_string(role), std::string());
  return n;
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
  // Every field, whatever the family (from_json() reads each back): a field written only for some families
  // is how a GPT-2 LM's label_tokens were lost from int8 files.
  nlohmann::json j = {{"family", to_string(family)},
          {"num_layers", num_layers()},
          {"hidden", hidden},
          {"vocab_size", vocab_size},
          {"input_vocab_size", input_vocab_size},
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
          {"pooling", to_string(pooling)},
          {"norm_eps", norm_eps},
          {"dropout", dropout},
          {"activation", to_string(activation)},
          {"positions", to_string(positions)},
          {"head", to_string(head)},
          {"head_activation", to_string(head_activation)},
          {"forward_args", forward_args},
          {"returns_tuple", returns_tuple},
          {"output_key", output_key},
          {"encoder_decoder", encoder_decoder},
          {"norm_kind", to_string(norm_kind)},
          {"linear_bias", linear_bias},
          {"attention_scaling", attention_scaling},
          {"relative_buckets", relative_buckets},
          {"relative_max_distance", relative_max_distance},
          {"output_scale", output_scale},
          {"decoder_start_token_id", decoder_start_token_id},
          {"label_tokens", label_tokens},
          {"names", names_to_json(names)},
          {"decoder_names", names_to_json(decoder_names)},
          {"layers", layers_json}};
  return j;
}

ModelSpec ModelSpec::from_json(const nlohmann::json& j) {
  // Keys that lwm has always written are required; later ones take their default when absent.
  ModelSpec s;
  const std::string family = j.at("family");
  if (!family_from_string(family)) throw std::invalid_argument("unknown family '" + family + "'");
  s.family = *family_from_string(family);
  s.hidden = j.at("hidden");
  s.vocab_size = j.at("vocab_size");
  s.input_vocab_size = j.value("input_vocab_size", 0);
  s.max_positions = j.at("max_positions");
  s.type_vocab_size = j.at("type_vocab_size");
  s.num_labels = j.at("num_labels");
  s.pad_token_id = j.at("pad_token_id");
  s.norm_eps = j.at("norm_eps");
  s.dropout = j.value("dropout", s.dropout);
  s.activation = enum_from_string<Activation>(j.at("activation"), "activation", Activation::GeluErf,
                                              Activation::GeluTanh, Activation::Relu, Activation::Tanh);
  s.positions = enum_from_string<PositionScheme>(j.at("positions"), "position scheme", PositionScheme::Absolute,
                                                 PositionScheme::PaddingOffset, PositionScheme::MaskOffset);
  s.head = enum_from_string<HeadType>(j.at("head"), "head", HeadType::PoolerClassifier, HeadType::RobertaClassifier,
                                      HeadType::PreClassifier, HeadType::LastToken, HeadType::LabelWords);
  const Activation head_default = s.head == HeadType::PreClassifier ? Activation::Relu : Activation::Tanh;
  s.head_activation = enum_from_string<Activation>(j.value("head_activation", to_string(head_default)),
                                                   "head activation", Activation::GeluErf, Activation::GeluTanh,
                                                   Activation::Relu, Activation::Tanh);
  s.norm = enum_from_string<NormPlacement>(j.value("norm", std::string("layernorm-post")), "norm",
                                           NormPlacement::Post, NormPlacement::Pre);
  s.causal = j.value("causal", false);
  s.position_offset = j.value("position_offset", 0);
  s.embedding_width = j.value("embedding_width", s.hidden);
  s.transposed_weights = j.value("transposed_weights", false);
  s.head_out_bias = j.value("head_out_bias", true);
  s.pooling = enum_from_string<Pooling>(j.value("pooling", to_string(Pooling::RightmostNonPad)), "pooling",
                                        Pooling::RightmostNonPad, Pooling::BeforeFirstPad);
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
  // Written for T5 only before every field was written; required there.
  const auto t5 = [&](const char* key, auto fallback) {
    return s.encoder_decoder ? j.at(key).get<decltype(fallback)>() : j.value(key, fallback);
  };
  s.norm_kind = enum_from_string<NormKind>(t5("norm_kind", to_string(s.norm_kind)), "norm kind", NormKind::LayerNorm,
                                           NormKind::RmsNorm);
  s.linear_bias = t5("linear_bias", s.linear_bias);
  s.attention_scaling = t5("attention_scaling", s.attention_scaling);
  s.relative_buckets = t5("relative_buckets", s.relative_buckets);
  s.relative_max_distance = t5("relative_max_distance", s.relative_max_distance);
  s.output_scale = t5("output_scale", s.output_scale);
  s.decoder_start_token_id = t5("decoder_start_token_id", s.decoder_start_token_id);
  s.label_tokens = t5("label_tokens", s.label_tokens);
  s.names = names_from_json(j.value("names", nlohmann::json::object()));
  s.decoder_names = names_from_json(j.value("decoder_names", nlohmann::json::object()));
  return s;
}

}  // namespace lwm

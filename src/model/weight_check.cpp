#include "lwm/model/weight_check.h"

#include <algorithm>
#include <sstream>

#include "lwm/common/error.h"

namespace lwm {
namespace {

void check_shape(const Weights& weights, const std::string& name, std::vector<int64_t> shape) {
  auto it = weights.find(name);
  if (it == weights.end()) throw ModelError("cannot build the model: missing weight '" + name + "'");
  if (it->second.sizes().vec() != shape) {
    std::ostringstream msg;
    msg << "cannot build the model: weight '" << name << "' has shape " << it->second.sizes() << ", the spec needs "
        << c10::IntArrayRef(shape);
    throw ModelError(msg.str());
  }
}

}  // namespace

void check_weights(const ModelSpec& spec, const Weights& w) {
  const auto& n = spec.names;
  const int64_t H = spec.hidden;
  const int64_t E = spec.embedding_width > 0 ? spec.embedding_width : H;
  const bool layer_norm = spec.norm_kind == NormKind::LayerNorm;
  // A layer projection's weight shape in the spec's layout.
  auto proj = [&spec](int64_t out, int64_t in) {
    return spec.transposed_weights ? std::vector<int64_t>{in, out} : std::vector<int64_t>{out, in};
  };
  auto check_norm = [&](const std::string& prefix, int64_t width) {
    check_shape(w, prefix + ".weight", {width});
    if (layer_norm) check_shape(w, prefix + ".bias", {width});
  };
  auto check_proj = [&](const std::string& prefix, int64_t out, int64_t in) {
    check_shape(w, prefix + ".weight", proj(out, in));
    if (spec.linear_bias) check_shape(w, prefix + ".bias", {out});
  };
  check_shape(w, n.word_embeddings + ".weight", {spec.vocab_size, E});
  if (!n.project_in.empty()) check_shape(w, n.project_in + ".weight", {H, E});
  if (!n.project_out.empty()) check_shape(w, n.project_out + ".weight", {E, H});
  // The width positions, token types and the embedding norm are added at: E before ELECTRA's embedding_project,
  // H after OPT's project_in.
  const int64_t P = n.embedding_project.empty() ? H : E;
  if (!n.embedding_project.empty()) {
    check_shape(w, n.embedding_project + ".weight", {H, E});
    check_shape(w, n.embedding_project + ".bias", {H});
  }
  if (!n.position_embeddings.empty()) {
    check_shape(w, n.position_embeddings + ".weight", {spec.max_positions + spec.position_offset, P});
  }
  if (spec.type_vocab_size > 0) check_shape(w, n.token_type_embeddings + ".weight", {spec.type_vocab_size, P});
  if (!n.embedding_norm.empty()) check_norm(n.embedding_norm, P);
  if (!n.final_norm.empty()) check_norm(n.final_norm, H);
  if (spec.encoder_decoder) check_norm(spec.decoder_names.final_norm, H);
  for (int l = 0; l < spec.num_layers(); ++l) {
    const auto& ln = spec.names_of(l);
    const auto& layer = spec.layers[l];
    const int64_t A = layer.heads * layer.head_dim, F = layer.ffn;
    if (spec.fused_qkv()) {
      check_proj(spec.layer_path(l) + "." + ln.qkv, 3 * A, H);
    } else {
      for (const auto* m : {&ln.query, &ln.key, &ln.value}) check_proj(spec.layer_path(l) + "." + *m, A, H);
    }
    check_proj(spec.layer_path(l) + "." + ln.attn_out, H, A);
    check_proj(spec.layer_path(l) + "." + ln.ffn_in, F, H);
    if (!ln.ffn_gate.empty()) check_proj(spec.layer_path(l) + "." + ln.ffn_gate, F, H);
    check_proj(spec.layer_path(l) + "." + ln.ffn_out, H, F);
    check_norm(spec.layer_path(l) + "." + ln.attn_norm, H);
    check_norm(spec.layer_path(l) + "." + ln.ffn_norm, H);
    if (layer.decoder) {
      const int64_t C = layer.cross_heads * layer.head_dim;
      for (const auto* m : {&ln.cross_query, &ln.cross_key, &ln.cross_value}) check_proj(spec.layer_path(l) + "." + *m, C, H);
      check_proj(spec.layer_path(l) + "." + ln.cross_out, H, C);
      check_norm(spec.layer_path(l) + "." + ln.cross_norm, H);
    }
    if (!ln.relative_bias.empty()) {
      const std::string table = ln.layer_prefix + "0." + ln.relative_bias + ".weight";
      auto it = w.find(table);
      if (it == w.end()) throw ModelError("cannot build the model: missing weight '" + table + "'");
      const int64_t table_heads = it->second.size(1);
      const int64_t most = layer.bias_heads.empty() ? layer.heads : static_cast<int64_t>(layer.bias_heads.size());
      const int64_t top = layer.bias_heads.empty() ? layer.heads - 1 : *std::max_element(layer.bias_heads.begin(), layer.bias_heads.end());
      if (it->second.size(0) != spec.relative_buckets || most != layer.heads || top >= table_heads) {
        throw ModelError("cannot build the model: relative bias table '" + table + "' does not fit layer " +
                         spec.layer_path(l) + "'s heads");
      }
    }
  }
  if (spec.head == HeadType::LabelWords) {
    if (!n.lm_head.empty()) check_shape(w, n.lm_head + ".weight", {spec.vocab_size, H});
    return;
  }
  const int64_t head_in = !n.head_dense.empty() ? w.at(n.head_dense + ".weight").size(0) : !n.project_out.empty() ? E : H;
  check_shape(w, n.head_out + ".weight", {spec.num_labels, head_in});
}

}  // namespace lwm

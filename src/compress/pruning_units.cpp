// What a prunable unit is (which weight entries it owns) and how important it is (their L2 norm).
#include <torch/utils.h>

#include "lwm/common/error.h"
#include "lwm/compress/pruning.h"

namespace lwm {

std::string to_string(UnitKind k) {
  switch (k) {
    case UnitKind::Head:
      return "heads";
    case UnitKind::Ffn:
      return "ffn";
    case UnitKind::Hidden:
      return "hidden";
  }
  return "?";
}

std::vector<UnitGroup> unit_groups(const ModelSpec& spec) {
  const auto& n = spec.names;
  const int L = spec.num_layers();
  std::vector<UnitGroup> groups;

  for (int l = 0; l < L; ++l) {
    const int64_t d = spec.layers[l].head_dim;
    UnitGroup g{UnitKind::Head, l, spec.layers[l].heads, {}};
    // Separate projections: each is its own tensor at offset 0. (A fused QKV would add three slices
    // of one tensor, at offsets 0, A and 2A, all indexed by the same head.)
    for (const auto* m : {&n.query, &n.key, &n.value}) {
      g.slices.push_back({spec.layer_param(l, *m, "weight"), 0, 0, d});
      g.slices.push_back({spec.layer_param(l, *m, "bias"), 0, 0, d});
    }
    g.slices.push_back({spec.layer_param(l, n.attn_out, "weight"), 1, 0, d});
    groups.push_back(std::move(g));
  }
  for (int l = 0; l < L; ++l) {
    UnitGroup g{UnitKind::Ffn, l, spec.layers[l].ffn, {}};
    g.slices.push_back({spec.layer_param(l, n.ffn_in, "weight"), 0, 0, 1});
    g.slices.push_back({spec.layer_param(l, n.ffn_in, "bias"), 0, 0, 1});
    g.slices.push_back({spec.layer_param(l, n.ffn_out, "weight"), 1, 0, 1});
    groups.push_back(std::move(g));
  }

  UnitGroup h{UnitKind::Hidden, -1, spec.hidden, {}};
  auto column = [&h](const std::string& t) { h.slices.push_back({t, 1, 0, 1}); };
  auto entry = [&h](const std::string& t) { h.slices.push_back({t, 0, 0, 1}); };
  column(n.word_embeddings + ".weight");
  column(n.position_embeddings + ".weight");
  if (spec.type_vocab_size > 0) column(n.token_type_embeddings + ".weight");
  entry(n.embedding_norm + ".weight");
  entry(n.embedding_norm + ".bias");
  for (int l = 0; l < L; ++l) {
    // Readers of the residual stream: their input columns.
    for (const auto* m : {&n.query, &n.key, &n.value, &n.ffn_in}) column(spec.layer_param(l, *m, "weight"));
    // Writers: their output rows and biases; and both LayerNorms.
    for (const auto* m : {&n.attn_out, &n.ffn_out, &n.attn_norm, &n.ffn_norm}) {
      entry(spec.layer_param(l, *m, "weight"));
      entry(spec.layer_param(l, *m, "bias"));
    }
  }
  column(n.head_dense + ".weight");  // the classification head reads token 0 of the stream
  groups.push_back(std::move(h));
  return groups;
}

namespace {

const torch::Tensor& find_weight(const Weights& weights, const std::string& name) {
  auto it = weights.find(name);
  if (it == weights.end()) throw ModelError("pruning: the model has no parameter '" + name + "'");
  return it->second;
}

// The part of `t` a slice covers, with the units along dim 0: [count, everything else a unit owns].
torch::Tensor per_unit(const torch::Tensor& t, const UnitSlice& s, int64_t count) {
  if (s.dim >= t.dim() || s.offset + count * s.width > t.size(s.dim)) {
    throw ModelError("pruning: parameter '" + s.tensor + "' is smaller than the spec says");
  }
  return t.narrow(s.dim, s.offset, count * s.width).movedim(s.dim, 0).reshape({count, -1});
}

}  // namespace

torch::Tensor unit_importance(const UnitGroup& group, const Weights& weights) {
  torch::NoGradGuard no_grad;
  auto squares = torch::zeros({group.count}, torch::kDouble);
  if (group.count == 0) return squares;
  for (const auto& s : group.slices) {
    auto rows = per_unit(find_weight(weights, s.tensor).detach(), s, group.count);
    squares += rows.square().sum(1).to(torch::kCPU, torch::kDouble);
  }
  return squares.sqrt();
}

PruneMasks PruneMasks::keep_all(const ModelSpec& spec) {
  PruneMasks m;
  for (const auto& layer : spec.layers) {
    m.heads.push_back(torch::ones({layer.heads}, torch::kBool));
    m.ffn.push_back(torch::ones({layer.ffn}, torch::kBool));
  }
  m.hidden = torch::ones({spec.hidden}, torch::kBool);
  return m;
}

const torch::Tensor& PruneMasks::of(const UnitGroup& group) const {
  switch (group.kind) {
    case UnitKind::Head:
      return heads.at(group.layer);
    case UnitKind::Ffn:
      return ffn.at(group.layer);
    case UnitKind::Hidden:
      return hidden;
  }
  return hidden;
}

torch::Tensor& PruneMasks::of(const UnitGroup& group) {
  return const_cast<torch::Tensor&>(static_cast<const PruneMasks&>(*this).of(group));
}

}  // namespace lwm

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
  // Projection weights are [out, in] (Linear) or [in, out] (GPT-2's Conv1D): a unit that is an output
  // of a projection owns entries along out_axis, one that is an input along in_axis.
  const int64_t out = spec.out_axis(), in = spec.in_axis();
  std::vector<UnitGroup> groups;

  for (int l = 0; l < L; ++l) {
    const int64_t d = spec.layers[l].head_dim;
    const int64_t A = spec.layers[l].heads * d;
    UnitGroup g{UnitKind::Head, l, spec.layers[l].heads, {}};
    if (spec.fused_qkv()) {
      // One Q|K|V matrix: head h owns d outputs in each of the three blocks, at h*d, A + h*d and
      // 2A + h*d, so a head's q, k and v always go together and the blocks keep their order.
      for (int64_t block = 0; block < 3; ++block) {
        g.slices.push_back({spec.layer_param(l, n.qkv, "weight"), out, block * A, d});
        g.slices.push_back({spec.layer_param(l, n.qkv, "bias"), 0, block * A, d});
      }
    } else {
      for (const auto* m : {&n.query, &n.key, &n.value}) {
        g.slices.push_back({spec.layer_param(l, *m, "weight"), out, 0, d});
        g.slices.push_back({spec.layer_param(l, *m, "bias"), 0, 0, d});
      }
    }
    g.slices.push_back({spec.layer_param(l, n.attn_out, "weight"), in, 0, d});
    groups.push_back(std::move(g));
  }
  for (int l = 0; l < L; ++l) {
    UnitGroup g{UnitKind::Ffn, l, spec.layers[l].ffn, {}};
    g.slices.push_back({spec.layer_param(l, n.ffn_in, "weight"), out, 0, 1});
    g.slices.push_back({spec.layer_param(l, n.ffn_in, "bias"), 0, 0, 1});
    g.slices.push_back({spec.layer_param(l, n.ffn_out, "weight"), in, 0, 1});
    groups.push_back(std::move(g));
  }

  UnitGroup h{UnitKind::Hidden, -1, spec.hidden, {}};
  auto slice = [&h](const std::string& t, int64_t dim) { h.slices.push_back({t, dim, 0, 1}); };
  auto norm = [&](const std::string& m) {
    slice(m + ".weight", 0);
    slice(m + ".bias", 0);
  };
  if (n.project_in.empty()) {
    slice(n.word_embeddings + ".weight", 1);
  } else {
    // OPT with a narrower embedding: the stream starts at project_in's outputs and ends at project_out's
    // inputs; the embedding itself (and the head reading project_out) keep their width.
    slice(n.project_in + ".weight", 0);
    slice(n.project_out + ".weight", 1);
  }
  slice(n.position_embeddings + ".weight", 1);
  if (spec.type_vocab_size > 0) slice(n.token_type_embeddings + ".weight", 1);
  if (!n.embedding_norm.empty()) norm(n.embedding_norm);
  for (int l = 0; l < L; ++l) {
    // Readers of the residual stream: their inputs.
    if (spec.fused_qkv()) {
      slice(spec.layer_param(l, n.qkv, "weight"), in);
    } else {
      for (const auto* m : {&n.query, &n.key, &n.value}) slice(spec.layer_param(l, *m, "weight"), in);
    }
    slice(spec.layer_param(l, n.ffn_in, "weight"), in);
    // Writers: their outputs and biases; and both LayerNorms.
    for (const auto* m : {&n.attn_out, &n.ffn_out}) {
      slice(spec.layer_param(l, *m, "weight"), out);
      slice(spec.layer_param(l, *m, "bias"), 0);
    }
    for (const auto* m : {&n.attn_norm, &n.ffn_norm}) {
      slice(spec.layer_param(l, *m, "weight"), 0);
      slice(spec.layer_param(l, *m, "bias"), 0);
    }
  }
  if (!n.final_norm.empty()) norm(n.final_norm);
  // The classification head reads the stream (token 0, or the last token): its input columns.
  if (!n.head_dense.empty()) {
    slice(n.head_dense + ".weight", 1);
  } else if (n.project_out.empty()) {
    slice(n.head_out + ".weight", 1);
  }
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

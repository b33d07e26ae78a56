// What a prunable unit is (which weight entries it owns) and how important it is (their L2 norm).
#include <torch/utils.h>

#include "lwm/common/error.h"
#include "lwm/compress/pruning.h"
#include "lwm/model/tensor_inventory.h"

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
  // A unit owns the entries of its index along every tensor axis of its kind (tensor_inventory.h): a head of
  // layer l its head_dim entries of each Heads axis of that layer (outputs of query/key/value and their biases,
  // inputs of attn_out) and of each of a fused Q|K|V's three blocks; an FFN neuron one entry of each Ffn axis
  // of its layer; a hidden dimension one entry of every Hidden axis in the model.
  const auto inventory = tensor_inventory(spec);
  auto collect = [&](UnitGroup& g, Axis axis, int64_t width) {
    for (const auto& t : inventory) {
      if (g.layer >= 0 && t.layer != g.layer) continue;
      for (size_t d = 0; d < t.axes.size(); ++d) {
        const auto dim = static_cast<int64_t>(d);
        if (t.axes[d] == axis) g.slices.push_back({t.name(), dim, 0, width});
        if (axis == Axis::Heads && t.axes[d] == Axis::FusedHeads) {
          for (int64_t block = 0; block < 3; ++block) g.slices.push_back({t.name(), dim, block * g.count * width, width});
        }
      }
    }
  };
  const int L = spec.num_layers();
  std::vector<UnitGroup> groups;
  for (int l = 0; l < L; ++l) {
    UnitGroup g{UnitKind::Head, l, spec.layers[l].heads, {}, false};
    collect(g, Axis::Heads, spec.layers[l].head_dim);
    groups.push_back(std::move(g));
  }
  for (int l = 0; l < L; ++l) {
    if (!spec.layers[l].decoder) continue;
    UnitGroup g{UnitKind::Head, l, spec.layers[l].cross_heads, {}, true};
    collect(g, Axis::CrossHeads, spec.layers[l].head_dim);
    groups.push_back(std::move(g));
  }
  for (int l = 0; l < L; ++l) {
    UnitGroup g{UnitKind::Ffn, l, spec.layers[l].ffn, {}, false};
    collect(g, Axis::Ffn, 1);
    groups.push_back(std::move(g));
  }
  UnitGroup hidden{UnitKind::Hidden, -1, spec.hidden, {}, false};
  collect(hidden, Axis::Hidden, 1);
  groups.push_back(std::move(hidden));
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

torch::Tensor unit_taylor(const UnitGroup& group, const Weights& weights) {
  torch::NoGradGuard no_grad;
  auto sums = torch::zeros({group.count}, torch::kDouble);
  if (group.count == 0) return sums;
  for (const auto& s : group.slices) {
    const torch::Tensor& w = find_weight(weights, s.tensor);
    const torch::Tensor& g = w.grad();
    if (!g.defined()) continue;
    sums += per_unit(w.detach() * g, s, group.count).sum(1).to(torch::kCPU, torch::kDouble);
  }
  return sums.square();
}

PruneMasks PruneMasks::keep_all(const ModelSpec& spec) {
  PruneMasks m;
  for (const auto& layer : spec.layers) {
    m.heads.push_back(torch::ones({layer.heads}, torch::kBool));
    m.cross_heads.push_back(torch::ones({layer.cross_heads}, torch::kBool));
    m.ffn.push_back(torch::ones({layer.ffn}, torch::kBool));
  }
  m.hidden = torch::ones({spec.hidden}, torch::kBool);
  return m;
}

const torch::Tensor& PruneMasks::of(const UnitGroup& group) const {
  switch (group.kind) {
    case UnitKind::Head:
      return group.cross ? cross_heads.at(group.layer) : heads.at(group.layer);
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

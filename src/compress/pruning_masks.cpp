// Which units to prune next (global ranking by importance) and keeping pruned units at exactly zero.
#include <torch/utils.h>

#include <algorithm>
#include <tuple>

#include "lwm/common/error.h"
#include "lwm/compress/pruning.h"

namespace lwm {
namespace {

const torch::Tensor& find_weight(const Weights& weights, const std::string& name) {
  auto it = weights.find(name);
  if (it == weights.end()) throw ModelError("pruning: the model has no parameter '" + name + "'");
  return it->second;
}

}  // namespace

void apply_masks(const std::vector<UnitGroup>& groups, const PruneMasks& masks, const Weights& weights) {
  torch::NoGradGuard no_grad;
  for (const auto& g : groups) {
    const torch::Tensor& keep = masks.of(g);
    if (keep.numel() != g.count) {
      throw ModelError("pruning: mask for " + to_string(g.kind) + " of layer " + std::to_string(g.layer) +
                       " has " + std::to_string(keep.numel()) + " entries, the model " +
                       std::to_string(g.count));
    }
    if (g.count == 0 || keep.all().item<bool>()) continue;
    const torch::Tensor pruned = keep.to(torch::kCPU).logical_not();
    for (const auto& s : g.slices) {
      const torch::Tensor& t = find_weight(weights, s.tensor);
      // Writes only the pruned rows/columns (cheap enough to run after every optimizer step).
      const torch::Tensor entries = pruned.repeat_interleave(s.width).nonzero().squeeze(1) + s.offset;
      t.index_fill_(s.dim, entries.to(t.device()), 0);
    }
  }
}

int64_t prune_lowest(const std::vector<torch::Tensor>& scores, const std::vector<torch::Tensor>& keep,
                     int64_t target_pruned, int64_t min_kept) {
  if (scores.size() != keep.size()) throw std::invalid_argument("prune_lowest: one score tensor per mask");
  std::vector<std::tuple<double, size_t, int64_t>> candidates;  // (score, group, unit) of kept units
  std::vector<int64_t> kept(keep.size(), 0);
  int64_t pruned = 0;
  for (size_t g = 0; g < keep.size(); ++g) {
    if (keep[g].scalar_type() != torch::kBool || !keep[g].is_contiguous() || !keep[g].device().is_cpu() ||
        scores[g].numel() != keep[g].numel()) {
      throw std::invalid_argument(
          "prune_lowest: masks must be contiguous CPU bool tensors, one score per unit");
    }
    const bool* k = keep[g].data_ptr<bool>();
    const auto s = scores[g].to(torch::kCPU, torch::kDouble).contiguous();
    const double* v = s.data_ptr<double>();
    for (int64_t u = 0; u < keep[g].numel(); ++u) {
      if (k[u]) {
        ++kept[g];
        candidates.emplace_back(v[u], g, u);
      } else {
        ++pruned;
      }
    }
  }
  // Lowest importance first; ties broken by position, so the result is deterministic.
  std::sort(candidates.begin(), candidates.end());
  for (const auto& [score, g, u] : candidates) {
    if (pruned >= target_pruned) break;
    if (kept[g] <= min_kept) continue;
    keep[g].data_ptr<bool>()[u] = false;
    --kept[g];
    ++pruned;
  }
  return pruned;
}

}  // namespace lwm

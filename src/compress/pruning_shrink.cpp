// Physically removing pruned units: a smaller spec and smaller weights that compute the same function.
#include <torch/utils.h>

#include <map>

#include "lwm/common/error.h"
#include "lwm/compress/pruning.h"

namespace lwm {

ShrunkModel shrink(const ModelSpec& spec, const Weights& weights, const PruneMasks& masks) {
  torch::NoGradGuard no_grad;
  const auto groups = unit_groups(spec);

  // For every tensor axis a unit owns part of: which of its entries stay (true where no unit owns them).
  std::map<std::string, std::map<int64_t, torch::Tensor>> kept_entries;
  for (const auto& g : groups) {
    const torch::Tensor keep = masks.of(g).to(torch::kCPU, torch::kBool);
    if (keep.numel() != g.count) {
      throw ModelError("shrink: mask for " + to_string(g.kind) + " of layer " + std::to_string(g.layer) +
                       " has " + std::to_string(keep.numel()) + " entries, the model " +
                       std::to_string(g.count));
    }
    for (const auto& s : g.slices) {
      auto it = weights.find(s.tensor);
      if (it == weights.end()) throw ModelError("shrink: the model has no parameter '" + s.tensor + "'");
      torch::Tensor& axis = kept_entries[s.tensor][s.dim];
      if (!axis.defined()) axis = torch::ones({it->second.size(s.dim)}, torch::kBool);
      axis.narrow(0, s.offset, g.count * s.width).copy_(keep.repeat_interleave(s.width));
    }
  }

  ShrunkModel out{spec, {}};
  for (const auto& [name, tensor] : weights) {
    torch::Tensor w = tensor.detach();
    if (auto it = kept_entries.find(name); it != kept_entries.end()) {
      for (const auto& [dim, axis] : it->second) {
        w = w.index_select(dim, axis.nonzero().squeeze(1).to(w.device()));
      }
    }
    out.weights[name] = w.clone();
  }
  for (int l = 0; l < spec.num_layers(); ++l) {
    out.spec.layers[l].heads = static_cast<int>(masks.heads.at(l).sum().item<int64_t>());
    out.spec.layers[l].ffn = static_cast<int>(masks.ffn.at(l).sum().item<int64_t>());
  }
  out.spec.hidden = static_cast<int>(masks.hidden.sum().item<int64_t>());
  // The word embedding is the stream's first writer unless project_in sits between them.
  if (spec.names.project_in.empty()) out.spec.embedding_width = out.spec.hidden;
  return out;
}

}  // namespace lwm

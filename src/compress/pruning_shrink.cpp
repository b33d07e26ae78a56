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
  out.spec = pruned_spec(spec, masks);
  return out;
}

ModelSpec pruned_spec(const ModelSpec& spec, const PruneMasks& masks) {
  ModelSpec s = spec;
  for (int l = 0; l < spec.num_layers(); ++l) {
    auto& layer = s.layers[l];
    const auto kept_heads = masks.heads.at(l).to(torch::kCPU, torch::kBool).nonzero().squeeze(1).contiguous();
    layer.heads = static_cast<int>(kept_heads.numel());
    if (!spec.names_of(l).relative_bias.empty()) {
      // The relative bias table stays whole: record which of its heads the kept heads are.
      std::vector<int> before = spec.layers[l].bias_heads;
      if (before.empty()) for (int h = 0; h < spec.layers[l].heads; ++h) before.push_back(h);
      layer.bias_heads.clear();
      for (int64_t i = 0; i < kept_heads.numel(); ++i) layer.bias_heads.push_back(before.at(kept_heads[i].item<int64_t>()));
    }
    if (layer.decoder) layer.cross_heads = static_cast<int>(masks.cross_heads.at(l).sum().item<int64_t>());
    layer.ffn = static_cast<int>(masks.ffn.at(l).sum().item<int64_t>());
  }
  s.hidden = static_cast<int>(masks.hidden.sum().item<int64_t>());
  // The word embedding is the stream's first writer unless project_in or embedding_project sits between them.
  if (spec.names.project_in.empty() && spec.names.embedding_project.empty()) s.embedding_width = s.hidden;
  return s;
}

}  // namespace lwm

// StructuredPruner: gradual magnitude pruning of heads, FFN neurons and hidden dims during training.
#include "lwm/compress/pruning.h"

#include <spdlog/spdlog.h>
#include <torch/utils.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "lwm/common/error.h"

namespace lwm {
namespace {

constexpr UnitKind kKinds[] = {UnitKind::Head, UnitKind::Ffn, UnitKind::Hidden};
// At least one head and one FFN neuron per layer, and one hidden dim, survive.
constexpr int64_t kMinKept = 1;

double of_kind(const PruneTargets& t, UnitKind k) {
  switch (k) {
    case UnitKind::Head:
      return t.heads;
    case UnitKind::Ffn:
      return t.ffn;
    case UnitKind::Hidden:
      return t.hidden;
  }
  return 0;
}

void check_fraction(double v, const std::string& what) {
  if (!(v >= 0 && v < 1)) throw UsageError(what + " must be in [0, 1), got " + std::to_string(v));
}

struct KindCounts {
  int64_t total = 0, pruned = 0, prunable = 0;  // prunable: the most min_kept allows
};

KindCounts counts(const std::vector<UnitGroup>& groups, const PruneMasks& masks, UnitKind kind) {
  KindCounts c;
  for (const auto& g : groups) {
    if (g.kind != kind) continue;
    c.total += g.count;
    c.pruned += g.count - masks.of(g).sum().item<int64_t>();
    c.prunable += std::max<int64_t>(0, g.count - kMinKept);
  }
  return c;
}

// Units to have pruned at sparsity s: rounded down (never above the target), capped by min_kept.
int64_t target_count(const KindCounts& c, double s) {
  return std::min(static_cast<int64_t>(std::floor(s * static_cast<double>(c.total) + 1e-9)), c.prunable);
}

// Every slice of one tensor axis, together, must end exactly at the axis' size: catches a spec that
// does not describe the module.
void check_shapes(const std::vector<UnitGroup>& groups, const Weights& live) {
  std::map<std::pair<std::string, int64_t>, int64_t> ends;
  for (const auto& g : groups) {
    for (const auto& s : g.slices) {
      auto it = live.find(s.tensor);
      if (it == live.end()) throw ModelError("pruning: the model has no parameter '" + s.tensor + "'");
      if (s.dim >= it->second.dim())
        throw ModelError("pruning: parameter '" + s.tensor + "' has too few dims");
      auto& end = ends[{s.tensor, s.dim}];
      end = std::max(end, s.offset + g.count * s.width);
    }
  }
  for (const auto& [axis, end] : ends) {
    const int64_t size = live.at(axis.first).size(axis.second);
    if (size != end) {
      throw ModelError("pruning: parameter '" + axis.first + "' has " + std::to_string(size) +
                       " entries along dim " + std::to_string(axis.second) + ", the spec describes " +
                       std::to_string(end));
    }
  }
}

}  // namespace

StructuredPruner::StructuredPruner(ModelSpec spec, torch::jit::Module module, PruneTargets targets,
                                   PruneSchedule schedule, Importance importance)
    : spec_(std::move(spec)),
      module_(std::move(module)),
      targets_(targets),
      schedule_(schedule),
      groups_(unit_groups(spec_)),
      masks_(PruneMasks::keep_all(spec_)),
      importance_(importance) {
  if (importance_ == Importance::Taylor) {
    for (const auto& g : groups_) taylor_.push_back(torch::zeros({g.count}, torch::kDouble));
  }
  check_fraction(targets_.heads, "pruning target for heads");
  check_fraction(targets_.ffn, "pruning target for FFN neurons");
  check_fraction(targets_.hidden, "pruning target for hidden dims");
  check_fraction(schedule_.initial_sparsity, "pruning initial sparsity");
  if (schedule_.frequency < 1) throw UsageError("pruning frequency must be at least 1 step");
  if (schedule_.start_step < 0 || schedule_.end_step < schedule_.start_step) {
    throw UsageError("pruning schedule: need 0 <= start step <= end step, got " +
                     std::to_string(schedule_.start_step) + " and " + std::to_string(schedule_.end_step));
  }
  for (const auto& p : module_.named_parameters(/*recurse=*/true)) live_[p.name] = p.value;
  check_shapes(groups_, live_);
  for (const auto& b : module_.named_buffers(/*recurse=*/true)) {
    if (b.name == "hidden_mask" ||
        (b.name.size() > 12 && b.name.compare(b.name.size() - 12, 12, ".hidden_mask") == 0)) {
      mask_buffers_.push_back(b.value);
    }
  }
  if (targets_.hidden > 0 && mask_buffers_.size() != static_cast<size_t>(spec_.num_layers() + 1)) {
    throw ModelError(
        "hidden-dimension pruning needs the model built with BuildOptions::hidden_mask (LayerNorm over the "
        "kept "
        "dims), or the shrunk model would not compute what was trained");
  }
}

void StructuredPruner::step(int64_t global_step) {
  if (importance_ == Importance::Taylor) {
    // Only kinds that a later update will still prune: a kind with target 0, or one at its final count, is never
    // ranked again, so its sums would be work for nothing (the hidden group alone touches every matrix).
    for (UnitKind k : kKinds) {
      const KindCounts c = counts(groups_, masks_, k);
      if (target_count(c, of_kind(targets_, k)) <= c.pruned) continue;
      for (size_t i = 0; i < groups_.size(); ++i) {
        if (groups_[i].kind == k) taylor_[i] += unit_taylor(groups_[i], live_);
      }
    }
  }
  if (targets_.any() && schedule_.due(global_step)) {
    PruneTargets s;
    s.heads = cubic_sparsity(std::min(schedule_.initial_sparsity, targets_.heads), targets_.heads,
                             global_step, schedule_.start_step, schedule_.end_step);
    s.ffn = cubic_sparsity(std::min(schedule_.initial_sparsity, targets_.ffn), targets_.ffn, global_step,
                           schedule_.start_step, schedule_.end_step);
    s.hidden = cubic_sparsity(std::min(schedule_.initial_sparsity, targets_.hidden), targets_.hidden,
                              global_step, schedule_.start_step, schedule_.end_step);
    bool more = false;
    for (UnitKind k : kKinds) {
      const KindCounts c = counts(groups_, masks_, k);
      more = more || target_count(c, of_kind(s, k)) > c.pruned;
    }
    if (more) {
      prune_to(s);
      for (auto& t : taylor_) t.zero_();  // the next update ranks on the steps after this one
      last_update_step_ = global_step;
      const PruneTargets now = current_sparsity();
      spdlog::debug("pruning at step {}: sparsity heads {:.3f} ffn {:.3f} hidden {:.3f}", global_step,
                    now.heads, now.ffn, now.hidden);
      return;  // prune_to re-applied the masks
    }
  }
  apply();
}

void StructuredPruner::prune_to(const PruneTargets& sparsity) {
  torch::NoGradGuard no_grad;
  // Every kind is ranked on the same weights: masks change here, weights only in apply() below.
  bool changed = false;
  for (UnitKind k : kKinds) {
    const KindCounts c = counts(groups_, masks_, k);
    const int64_t target = target_count(c, of_kind(sparsity, k));
    if (target <= c.pruned) continue;
    std::vector<torch::Tensor> scores, keep;
    for (size_t i = 0; i < groups_.size(); ++i) {
      const UnitGroup& g = groups_[i];
      if (g.kind != k) continue;
      scores.push_back(importance_ == Importance::Taylor ? taylor_[i].clone() : unit_importance(g, live_));
      keep.push_back(masks_.of(g));
    }
    if (prune_lowest(scores, keep, target, kMinKept) > c.pruned) changed = true;
    if (k == UnitKind::Hidden) {
      for (auto& b : mask_buffers_) b.copy_(masks_.hidden.to(b.device(), b.scalar_type()));
    }
  }
  if (changed) ++updates_;
  apply();
}

void StructuredPruner::apply() { apply_masks(groups_, masks_, live_); }

PruneTargets StructuredPruner::current_sparsity() const {
  PruneTargets s;
  double* out[] = {&s.heads, &s.ffn, &s.hidden};
  for (int i = 0; i < 3; ++i) {
    const KindCounts c = counts(groups_, masks_, kKinds[i]);
    *out[i] = c.total > 0 ? static_cast<double>(c.pruned) / static_cast<double>(c.total) : 0.0;
  }
  return s;
}

ModelSpec StructuredPruner::pruned_spec() const { return lwm::pruned_spec(spec_, masks_); }

ShrunkModel StructuredPruner::shrink() const { return lwm::shrink(spec_, module_weights(module_), masks_); }

nlohmann::json StructuredPruner::summary() const {
  const ModelSpec kept = pruned_spec();
  nlohmann::json heads = nlohmann::json::array(), ffn = nlohmann::json::array(), cross = nlohmann::json::array();
  for (const auto& layer : kept.layers) {
    heads.push_back(layer.heads);
    ffn.push_back(layer.ffn);
    cross.push_back(layer.cross_heads);
  }
  nlohmann::json out = {{"importance", importance_ == Importance::Taylor
                                            ? "first-order Taylor: (sum of w x dL/dw over a unit's weights)^2, summed "
                                              "over the steps since the previous mask update (Molchanov et al. 2019)"
                                            : "L2 norm of each unit's weights"},
          {"targets", targets_.to_json()},
          {"schedule", schedule_.to_json()},
          {"sparsity", current_sparsity().to_json()},
          {"heads_per_layer", heads},
          {"ffn_per_layer", ffn},
          {"hidden", kept.hidden},
          {"hidden_before", spec_.hidden},
          {"mask_updates", updates_},
          {"last_update_step", last_update_step_}};
  if (spec_.encoder_decoder) out["cross_heads_per_layer"] = cross;
  return out;
}

void StructuredPruner::save(torch::serialize::OutputArchive& archive) const {
  archive.write("pruning/counters", torch::tensor({updates_, last_update_step_}, torch::kInt64));
  for (size_t i = 0; i < groups_.size(); ++i) archive.write("pruning/mask/" + std::to_string(i), masks_.of(groups_[i]));
  for (size_t i = 0; i < taylor_.size(); ++i) archive.write("pruning/taylor/" + std::to_string(i), taylor_[i]);
}

void StructuredPruner::load(torch::serialize::InputArchive& archive) {
  torch::NoGradGuard no_grad;
  try {
    torch::Tensor counters;
    archive.read("pruning/counters", counters);
    if (counters.numel() != 2 || counters.scalar_type() != torch::kInt64) throw ModelError("the checkpoint's pruning counters are damaged");
    for (size_t i = 0; i < groups_.size(); ++i) {
      torch::Tensor saved;
      archive.read("pruning/mask/" + std::to_string(i), saved);
      torch::Tensor& mask = masks_.of(groups_[i]);
      if (!saved.sizes().equals(mask.sizes()) || saved.scalar_type() != mask.scalar_type()) {
        throw ModelError("the checkpoint's pruning mask " + std::to_string(i) + " does not fit this student");
      }
      mask.copy_(saved);
    }
    for (size_t i = 0; i < taylor_.size(); ++i) {
      torch::Tensor saved;
      archive.read("pruning/taylor/" + std::to_string(i), saved);
      if (!saved.sizes().equals(taylor_[i].sizes())) throw ModelError("the checkpoint's Taylor scores do not fit this student");
      taylor_[i].copy_(saved);
    }
    updates_ = counters[0].item<int64_t>();
    last_update_step_ = counters[1].item<int64_t>();
  } catch (const c10::Error& e) {
    const std::string why = e.what_without_backtrace();
    throw ModelError("the checkpoint's pruning state cannot be read: " + why.substr(0, why.find('\n')));
  }
  for (auto& b : mask_buffers_) b.copy_(masks_.hidden.to(b.device(), b.scalar_type()));
  apply();
}

}  // namespace lwm

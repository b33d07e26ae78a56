#pragma once
// Magnitude-based structured pruning during fine-tuning: whole attention heads, FFN
// neurons and hidden (residual-stream) dimensions, on a gradual cubic schedule, kept
// at exactly zero by masks, then physically removed by shrink(). See docs/pruning.md.
//
// Use from a training loop (the module built with BuildOptions{/*hidden_mask=*/true} when
// targets.hidden > 0):
//
//   StructuredPruner pruner(spec, module, targets, schedule);
//   for (int64_t step = 0; step < total; ++step) {
//     ... loss.backward(); optimizer.step();
//     pruner.step(step);               // updates masks when due, always re-zeroes pruned weights
//   }
//   ShrunkModel small = pruner.shrink();
//   torch::jit::Module student = build_module(small.spec, small.weights);   // plain LayerNorm: exact
#include <torch/script.h>
#include <torch/serialize/archive.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lwm/compress/importance.h"
#include "lwm/model/importer.h"
#include "lwm/model/spec.h"

namespace lwm {

// Sparsity per unit type: the fraction of the original units pruned, each in [0, 1).
// Used both for targets and for the sparsity reached so far.
struct PruneTargets {
  double heads = 0;
  double ffn = 0;
  double hidden = 0;
  bool any() const { return heads > 0 || ffn > 0 || hidden > 0; }
  nlohmann::json to_json() const;
};

// Zhu & Gupta (2017), "To prune, or not to prune", eq. 1:
//   s_t = s_f + (s_0 - s_f) * (1 - (t - t0) / (t_end - t0))^3   for t0 <= t <= t_end,
// s_0 before t0 and s_f from t_end on: prune fast while the network is redundant, slowly near the end.
// Masks are recomputed every `frequency` steps from start_step, and on every step from end_step on
// until the final sparsity is reached (so a run shorter than end_step still ends at the target).
struct PruneSchedule {
  int64_t start_step = 0;
  int64_t end_step = 0;
  int64_t frequency = 10;
  double initial_sparsity = 0;  // s_0 for every unit type (capped at that type's target)
  bool due(int64_t step) const;
  nlohmann::json to_json() const;
};
double cubic_sparsity(double initial, double final_sparsity, int64_t step, int64_t start, int64_t end);

enum class UnitKind { Head, Ffn, Hidden };
std::string to_string(UnitKind k);

// A stretch of one tensor axis owned by a group of units: unit u owns the entries
// [offset + u * width, offset + (u + 1) * width) along `dim` of parameter `tensor`.
// A head owns `head_dim` consecutive rows of each of query/key/value; a fused QKV matrix (GPT-2)
// is described as three slices of one tensor at offsets 0, A and 2A, so a head's q, k and v rows
// are always selected together by the same unit index.
struct UnitSlice {
  std::string tensor;
  int64_t dim = 0;
  int64_t offset = 0;
  int64_t width = 1;
};

// All units of one kind in one place: the heads of layer 3, the FFN neurons of layer 0, or the
// model's hidden dimensions (layer -1), with every weight slice they own.
struct UnitGroup {
  UnitKind kind = UnitKind::Head;
  int layer = -1;
  int64_t count = 0;
  std::vector<UnitSlice> slices;
  bool cross = false;  // heads of a decoder layer's cross-attention (ranked with the other heads)
};

// Which weights each unit owns: a unit owns its index along every axis of its kind in the spec's tensor inventory
// (lwm/model/tensor_inventory.h; no family names here).
// "Outputs"/"inputs" are rows/columns of a Linear weight [out, in], columns/rows of a Conv1D [in, out].
//  head h of layer l: outputs h*d..(h+1)*d of query/key/value (weight and bias) or, for a fused Q|K|V,
//                     those outputs in each of its three blocks; the same inputs of attn_out;
//  FFN neuron j:      output j of ffn_in (weight and bias), input j of ffn_out;
//  hidden dim i:      column i of the word (or project_in's output row i and project_out's input column i)
//                     / position / token-type embeddings, entry i of every LayerNorm weight and bias, input
//                     i of every matrix reading the residual stream (query, key, value or fused qkv,
//                     ffn_in, and the head: head_dense, or head_out for a last-token head), output i of every
//                     one writing it (attn_out, ffn_out + bias).
//  cross-attention head h of a decoder layer (T5): as a head, in cross_query/key/value and cross_out;
//  T5 also: FFN neuron j owns output j of ffn_gate; hidden dim i the inputs of the cross-attention's
//  query, key and value (keys and values read the encoder output, which has the same dimensions), the
//  output of cross_out, its norm, the decoder's final norm and, untied, input i of lm_head.
// Groups come in a fixed order: heads of every layer, cross-attention heads, FFN of every layer, then hidden.
std::vector<UnitGroup> unit_groups(const ModelSpec& spec);

// Importance of each unit of `group`: the L2 norm of all the weight entries it owns, [count], float64.
// (L2 rather than L1: the norm of a unit's slice bounds how much it can move the next layer's input,
// ||W_u x|| <= ||W_u||_F ||x||, and it favours a unit with a few large weights over one with many
// small ones. Li et al. 2017 found L1 and L2 rank filters alike; docs/pruning.md.)
torch::Tensor unit_importance(const UnitGroup& group, const Weights& weights);

// First-order Taylor importance of each unit of `group` at one step: the squared first-order estimate of how much
// the loss changes when the unit is removed, (sum over every weight entry w the unit owns of w * dL/dw)^2, [count],
// float64 (Molchanov et al. 2019, "Importance Estimation for Neural Network Pruning", CVPR, eq. 4: the group
// criterion), from the tensors' current gradients; a tensor without a gradient adds nothing.
torch::Tensor unit_taylor(const UnitGroup& group, const Weights& weights);

// Which units are kept: bool tensors, true = kept.
struct PruneMasks {
  std::vector<torch::Tensor> heads;  // per layer, [heads of that layer]
  std::vector<torch::Tensor> cross_heads;  // per layer, [cross-attention heads] (empty: not a decoder layer)
  std::vector<torch::Tensor> ffn;    // per layer, [ffn of that layer]
  torch::Tensor hidden;              // [hidden]
  static PruneMasks keep_all(const ModelSpec& spec);
  const torch::Tensor& of(const UnitGroup& group) const;
  torch::Tensor& of(const UnitGroup& group);
};

// Zeroes, in place and without autograd, every entry of `weights` owned by a pruned unit.
// `weights` holds the live tensors (e.g. a module's named_parameters), so the module changes.
void apply_masks(const std::vector<UnitGroup>& groups, const PruneMasks& masks, const Weights& weights);

// Prunes more units of the given groups (all of one kind) until `target_pruned` of them are pruned:
// the kept units are ranked together by `scores` (one per group), lowest first; a unit already pruned
// stays pruned; a group keeps at least `min_kept` units (or all it has, if fewer). `keep` (bool, one
// per group) is updated in place. Returns how many are pruned now (less than the target only where
// min_kept forbids more).
int64_t prune_lowest(const std::vector<torch::Tensor>& scores, const std::vector<torch::Tensor>& keep,
                     int64_t target_pruned, int64_t min_kept);

// A smaller model: the spec with per-layer heads/ffn and hidden set to the kept counts, and the weights
// with every pruned unit's rows/columns removed (fresh tensors). Ready for build_module(spec, weights)
// without BuildOptions::hidden_mask; it computes what the masked model computed.
struct ShrunkModel {
  ModelSpec spec;
  Weights weights;
};
ShrunkModel shrink(const ModelSpec& spec, const Weights& weights, const PruneMasks& masks);
// The spec with the kept counts per layer (and, with a relative bias table, which of its heads are kept).
ModelSpec pruned_spec(const ModelSpec& spec, const PruneMasks& masks);

// Gradual structured pruning of a module under training. The module is a handle on the live
// parameters (build_module's result, whose named_parameters the optimizer updates).
class StructuredPruner {
 public:
  // UsageError on targets outside [0, 1) or a bad schedule; ModelError if the module does not match
  // the spec, or if targets.hidden > 0 and the module was built without BuildOptions::hidden_mask.
  // `importance`: how units are ranked (Magnitude, or Taylor from the gradients step() finds on the parameters).
  StructuredPruner(ModelSpec spec, torch::jit::Module module, PruneTargets targets, PruneSchedule schedule,
                   Importance importance = Importance::Magnitude);

  // Call after every optimizer.step() with the global step (0-based, counted across epochs).
  // When the schedule says so, prunes more units (ranked by current magnitude, or with Taylor importance by the
  // scores of this and every step since the last mask update, read from the gradients the parameters hold; heads
  // and FFN neurons globally across layers, at least one of each kept per layer); then always re-zeroes every
  // pruned unit's weights, so they stay exactly zero through training.
  void step(int64_t global_step);

  // Prunes, now, up to the given sparsity per type (monotone; used by step()) and re-zeroes.
  // prune_to(current_sparsity()) only re-zeroes: e.g. after restoring saved weights.
  void prune_to(const PruneTargets& sparsity);

  PruneTargets current_sparsity() const;
  const PruneMasks& masks() const { return masks_; }
  const PruneTargets& targets() const { return targets_; }
  const PruneSchedule& schedule() const { return schedule_; }
  // The spec the shrunk model will have.
  ModelSpec pruned_spec() const;
  // shrink() of the module's current weights with the current masks.
  ShrunkModel shrink() const;
  // Targets, schedule, sparsity reached, kept heads/FFN per layer, kept hidden, mask updates.
  nlohmann::json summary() const;

  // The masks, update counters and (Taylor) the summed scores, into or from a checkpoint (keys under "pruning/").
  // load() then re-zeroes the pruned units of the (restored) weights; ModelError when the archive's masks do not fit this model.
  void save(torch::serialize::OutputArchive& archive) const;
  void load(torch::serialize::InputArchive& archive);

 private:
  void apply();

  ModelSpec spec_;
  torch::jit::Module module_;
  PruneTargets targets_;
  PruneSchedule schedule_;
  std::vector<UnitGroup> groups_;
  Weights live_;                             // the module's parameters (aliases)
  std::vector<torch::Tensor> mask_buffers_;  // the module's hidden_mask buffers, if any
  PruneMasks masks_;
  Importance importance_ = Importance::Magnitude;
  std::vector<torch::Tensor> taylor_;  // Taylor: per group, the scores summed since the last mask update
  int64_t updates_ = 0;
  int64_t last_update_step_ = -1;
};

}  // namespace lwm

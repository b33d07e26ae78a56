// Structured pruning: the cubic schedule, magnitude importance, masks through real AdamW steps,
// and shrink() to a smaller model that computes what the masked one did (also after save/load,
// and in Python).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>

#include "lwm/common/error.h"
#include "lwm/compress/pruning.h"
#include "lwm/model/builder.h"
#include "lwm/model/importer.h"
#include "lwm/model/runner.h"
#include "test_support.h"

namespace lwm {
namespace {

using torch::indexing::Slice;

ImportedModel reference(const std::string& family = "bert") {
  auto path = test::reference_model(family, "sdpa");
  if (path.empty()) throw std::runtime_error("reference export failed for " + family);
  return import_model(path);
}

// A right-padded batch of three sequences (lengths 9, 5 and 2) of ordinary word ids.
struct Inputs {
  torch::Tensor ids, mask;
};
Inputs padded_batch(const ModelSpec& spec, uint64_t seed = 7) {
  torch::manual_seed(seed);
  const std::vector<int64_t> lengths = {9, 5, 2};
  auto ids = torch::full({3, 9}, spec.pad_token_id, torch::kLong);
  auto mask = torch::zeros({3, 9}, torch::kLong);
  for (int i = 0; i < 3; ++i) {
    ids.index_put_({i, Slice(0, lengths[i])}, torch::randint(1000, 5000, {lengths[i]}, torch::kLong));
    mask.index_put_({i, Slice(0, lengths[i])}, 1);
  }
  return {ids, mask};
}

std::vector<c10::IValue> arguments(const ModelSpec& spec, const Inputs& in) {
  std::vector<c10::IValue> args;
  for (const auto& name : spec.forward_args) {
    if (name == "input_ids") args.emplace_back(in.ids);
    if (name == "attention_mask") args.emplace_back(in.mask);
    if (name == "token_type_ids") args.emplace_back(torch::zeros_like(in.ids));
  }
  return args;
}

// forward_hidden(): logits and every hidden state (embeddings, then each layer's output).
struct Outputs {
  torch::Tensor logits;
  std::vector<torch::Tensor> hidden;
};
Outputs run(torch::jit::Module& m, const ModelSpec& spec, const Inputs& in) {
  torch::NoGradGuard no_grad;
  auto out = m.get_method("forward_hidden")(arguments(spec, in)).toTuple();
  return {out->elements().at(0).toTensor(), out->elements().at(1).toTensorVector()};
}

int64_t parameter_count(const torch::jit::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.named_parameters(true)) n += p.value.numel();
  return n;
}

void scale_(Weights& w, const std::string& name, int64_t dim, int64_t start, int64_t length, double factor) {
  w.at(name).narrow(dim, start, length).mul_(factor);
}

// Scales head h of layer l by hand, by name: q/k/v rows and biases, attention-output columns.
void scale_head(const ModelSpec& s, Weights& w, int l, int64_t h, double f) {
  const int64_t d = s.layers[l].head_dim;
  for (const auto* m : {&s.names.query, &s.names.key, &s.names.value}) {
    scale_(w, s.layer_param(l, *m, "weight"), 0, h * d, d, f);
    scale_(w, s.layer_param(l, *m, "bias"), 0, h * d, d, f);
  }
  scale_(w, s.layer_param(l, s.names.attn_out, "weight"), 1, h * d, d, f);
}

void scale_neuron(const ModelSpec& s, Weights& w, int l, int64_t j, double f) {
  scale_(w, s.layer_param(l, s.names.ffn_in, "weight"), 0, j, 1, f);
  scale_(w, s.layer_param(l, s.names.ffn_in, "bias"), 0, j, 1, f);
  scale_(w, s.layer_param(l, s.names.ffn_out, "weight"), 1, j, 1, f);
}

void scale_hidden_dim(const ModelSpec& s, Weights& w, int64_t i, double f) {
  const auto& n = s.names;
  for (const auto* e : {&n.word_embeddings, &n.position_embeddings, &n.token_type_embeddings}) {
    if (w.count(*e + ".weight")) scale_(w, *e + ".weight", 1, i, 1, f);
  }
  scale_(w, n.embedding_norm + ".weight", 0, i, 1, f);
  scale_(w, n.embedding_norm + ".bias", 0, i, 1, f);
  for (int l = 0; l < s.num_layers(); ++l) {
    for (const auto* m : {&n.query, &n.key, &n.value, &n.ffn_in})
      scale_(w, s.layer_param(l, *m, "weight"), 1, i, 1, f);
    for (const auto* m : {&n.attn_out, &n.ffn_out, &n.attn_norm, &n.ffn_norm}) {
      scale_(w, s.layer_param(l, *m, "weight"), 0, i, 1, f);
      scale_(w, s.layer_param(l, *m, "bias"), 0, i, 1, f);
    }
  }
  scale_(w, n.head_dense + ".weight", 1, i, 1, f);
}

// Prune to the targets at step 0 (one shot).
PruneSchedule one_shot() { return PruneSchedule{0, 0, 1, 0}; }

PruneMasks clone(const PruneMasks& m) {
  PruneMasks c;
  for (const auto& t : m.heads) c.heads.push_back(t.clone());
  for (const auto& t : m.ffn) c.ffn.push_back(t.clone());
  c.hidden = m.hidden.clone();
  return c;
}

std::vector<int64_t> pruned_units(const torch::Tensor& keep) {
  auto idx = keep.logical_not().nonzero().squeeze(1);
  return std::vector<int64_t>(idx.data_ptr<int64_t>(), idx.data_ptr<int64_t>() + idx.numel());
}

// ---------------------------------------------------------------------------------------------------
// Schedule

TEST(Schedule, CubicMatchesHandComputedValues) {
  EXPECT_DOUBLE_EQ(cubic_sparsity(0, 0.5, 50, 0, 100), 0.4375);     // 0.5 - 0.5 * 0.5^3
  EXPECT_DOUBLE_EQ(cubic_sparsity(0, 0.5, 25, 0, 100), 0.2890625);  // 0.5 - 0.5 * 0.75^3
  EXPECT_DOUBLE_EQ(cubic_sparsity(0, 0.5, 0, 0, 100), 0.0);
  EXPECT_DOUBLE_EQ(cubic_sparsity(0, 0.5, 100, 0, 100), 0.5);
  EXPECT_DOUBLE_EQ(cubic_sparsity(0, 0.5, 250, 0, 100), 0.5);
  EXPECT_DOUBLE_EQ(cubic_sparsity(0.1, 0.5, 60, 10, 110), 0.45);  // 0.5 - 0.4 * 0.5^3
  EXPECT_DOUBLE_EQ(cubic_sparsity(0.1, 0.5, 5, 10, 110), 0.1);    // before the start: s_0
  EXPECT_DOUBLE_EQ(cubic_sparsity(0, 0.3, 7, 7, 7), 0.3);         // start == end: one shot
}

TEST(Schedule, DueEveryFrequencyStepsFromStartAndEveryStepFromEnd) {
  PruneSchedule s{10, 50, 10, 0};
  EXPECT_FALSE(s.due(0));
  EXPECT_FALSE(s.due(9));
  EXPECT_TRUE(s.due(10));
  EXPECT_FALSE(s.due(11));
  EXPECT_TRUE(s.due(20));
  EXPECT_FALSE(s.due(45));
  EXPECT_TRUE(s.due(50));
  EXPECT_TRUE(s.due(51));
}

// ---------------------------------------------------------------------------------------------------
// Units and importance

TEST(Prune, UnitGroupsOwnTheDocumentedSlices) {
  ImportedModel m = reference();
  auto groups = unit_groups(m.spec);
  ASSERT_EQ(groups.size(), 5u);  // heads x2, FFN x2, hidden
  auto has = [](const UnitGroup& g, const std::string& t, int64_t dim, int64_t width) {
    for (const auto& s : g.slices) {
      if (s.tensor == t && s.dim == dim && s.width == width) return true;
    }
    return false;
  };
  EXPECT_EQ(groups[1].kind, UnitKind::Head);
  EXPECT_EQ(groups[1].layer, 1);
  EXPECT_EQ(groups[1].count, 4);
  EXPECT_TRUE(has(groups[1], "bert.encoder.layer.1.attention.self.key.bias", 0, 16));
  EXPECT_TRUE(has(groups[1], "bert.encoder.layer.1.attention.output.dense.weight", 1, 16));
  EXPECT_EQ(groups[2].kind, UnitKind::Ffn);
  EXPECT_TRUE(has(groups[2], "bert.encoder.layer.0.intermediate.dense.weight", 0, 1));
  EXPECT_TRUE(has(groups[2], "bert.encoder.layer.0.output.dense.weight", 1, 1));
  const UnitGroup& h = groups[4];
  EXPECT_EQ(h.kind, UnitKind::Hidden);
  EXPECT_EQ(h.count, 64);
  EXPECT_TRUE(has(h, "bert.embeddings.word_embeddings.weight", 1, 1));
  EXPECT_TRUE(has(h, "bert.embeddings.token_type_embeddings.weight", 1, 1));
  EXPECT_TRUE(has(h, "bert.encoder.layer.1.output.dense.bias", 0, 1));
  EXPECT_TRUE(has(h, "bert.encoder.layer.1.attention.output.LayerNorm.bias", 0, 1));
  EXPECT_TRUE(has(h, "bert.pooler.dense.weight", 1, 1));
  EXPECT_FALSE(has(h, "bert.pooler.dense.weight", 0, 1));  // the pooler's output is not the residual stream
  for (const auto& s : h.slices) EXPECT_NE(s.tensor, "classifier.weight");
}

TEST(Prune, ImportanceIsTheL2NormOfTheUnitsWeights) {
  ImportedModel m = reference();
  const auto& s = m.spec;
  const auto& w = m.weights;
  // Head 1 of layer 0, by hand.
  double sq = 0;
  for (const auto* n : {&s.names.query, &s.names.key, &s.names.value}) {
    sq += w.at(s.layer_param(0, *n, "weight")).slice(0, 16, 32).square().sum().item<double>();
    sq += w.at(s.layer_param(0, *n, "bias")).slice(0, 16, 32).square().sum().item<double>();
  }
  sq += w.at(s.layer_param(0, s.names.attn_out, "weight")).slice(1, 16, 32).square().sum().item<double>();
  auto scores = unit_importance(unit_groups(s)[0], w);
  EXPECT_NEAR(scores[1].item<double>(), std::sqrt(sq), 1e-5 * std::sqrt(sq));
}

TEST(Prune, PicksTheSmallestNormHeadNeuronAndHiddenDim) {
  ImportedModel m = reference();
  Weights w = m.weights;
  for (auto& [name, t] : w) t = t.clone();
  scale_head(m.spec, w, 1, 2, 0.01);
  scale_neuron(m.spec, w, 0, 37, 0.01);
  scale_hidden_dim(m.spec, w, 5, 0.01);

  auto groups = unit_groups(m.spec);
  EXPECT_EQ(unit_importance(groups[1], w).argmin().item<int64_t>(), 2);
  EXPECT_EQ(unit_importance(groups[2], w).argmin().item<int64_t>(), 37);
  EXPECT_EQ(unit_importance(groups[4], w).argmin().item<int64_t>(), 5);

  auto module = build_module(m.spec, w, BuildOptions{true});
  // One unit of each kind: 1 of 8 heads, 1 of 256 neurons, 1 of 64 dims (floor of sparsity x total).
  StructuredPruner pruner(m.spec, module, PruneTargets{1.5 / 8, 1.5 / 256, 1.5 / 64}, one_shot());
  pruner.step(0);
  const auto& masks = pruner.masks();
  EXPECT_EQ(pruned_units(masks.heads[0]), std::vector<int64_t>{});
  EXPECT_EQ(pruned_units(masks.heads[1]), std::vector<int64_t>{2});
  EXPECT_EQ(pruned_units(masks.ffn[0]), std::vector<int64_t>{37});
  EXPECT_EQ(pruned_units(masks.ffn[1]), std::vector<int64_t>{});
  EXPECT_EQ(pruned_units(masks.hidden), std::vector<int64_t>{5});
  EXPECT_DOUBLE_EQ(pruner.current_sparsity().heads, 1.0 / 8);
}

// Taylor importance (Molchanov et al. 2019): a unit's (sum of w x dL/dw)^2, by hand for one FFN neuron; and the
// pruner, given it, prunes the unit whose removal the gradient says costs least even when its weights are the
// largest, and sums the scores of every step since the last mask update.
TEST(Prune, TaylorImportanceIsTheSquaredSumOfWeightTimesGradient) {
  ImportedModel m = reference();
  const auto& s = m.spec;
  auto module = build_module(s, m.weights);
  Weights live;
  for (const auto& p : module.named_parameters(true)) live[p.name] = p.value;
  torch::manual_seed(3);
  for (auto& [name, t] : live) t.mutable_grad() = torch::randn_like(t);
  // FFN neuron 37 of layer 1: row 37 of ffn_in (weight and bias) and column 37 of ffn_out.
  auto dot = [&](const std::string& name, int64_t dim) {
    const torch::Tensor& t = live.at(name);
    return (t.detach() * t.grad()).select(dim, 37).sum().item<double>();
  };
  const double sum = dot(s.layer_param(1, s.names.ffn_in, "weight"), 0) + dot(s.layer_param(1, s.names.ffn_in, "bias"), 0) +
                     dot(s.layer_param(1, s.names.ffn_out, "weight"), 1);
  const auto groups = unit_groups(s);
  const UnitGroup& ffn1 = groups[3];
  ASSERT_EQ(ffn1.kind, UnitKind::Ffn);
  ASSERT_EQ(ffn1.layer, 1);
  EXPECT_NEAR(unit_taylor(ffn1, live)[37].item<double>(), sum * sum, 1e-6 * sum * sum + 1e-12);

  // Neuron 5 of layer 0: the largest weights, but no gradient through it; every other neuron has one.
  {
    torch::NoGradGuard no_grad;
    live.at(s.layer_param(0, s.names.ffn_in, "weight")).select(0, 5).mul_(100);
    live.at(s.layer_param(0, s.names.ffn_out, "weight")).select(1, 5).mul_(100);
  }
  live.at(s.layer_param(0, s.names.ffn_in, "weight")).mutable_grad().select(0, 5).zero_();
  live.at(s.layer_param(0, s.names.ffn_in, "bias")).mutable_grad().select(0, 5).zero_();
  live.at(s.layer_param(0, s.names.ffn_out, "weight")).mutable_grad().select(1, 5).zero_();
  EXPECT_EQ(unit_importance(groups[2], live).argmax().item<int64_t>(), 5);  // by magnitude, the last to go
  StructuredPruner taylor(s, module, PruneTargets{0, 1.5 / 256, 0}, one_shot(), Importance::Taylor);
  taylor.step(0);
  EXPECT_EQ(pruned_units(taylor.masks().ffn[0]), std::vector<int64_t>{5});
  EXPECT_EQ(pruned_units(taylor.masks().ffn[1]), std::vector<int64_t>{});
  EXPECT_NE(taylor.summary()["importance"].get<std::string>().find("Taylor"), std::string::npos);
  EXPECT_EQ(importance_from_string("taylor"), Importance::Taylor);
  EXPECT_THROW(importance_from_string("random"), UsageError);
}

// The Taylor scores are summed over every step since the last mask update, reset by an update, and kept by a
// checkpoint. Schedule: FFN updates at steps 1 (1 neuron) and 3 (3 neurons); gradients random each step except
// neuron X (layer 1, #20): large at step 0, none at step 1 (ranked on step 1 alone it would go first); and neuron Y
// (layer 0, #9): large at steps 0-1, none at 2-3 (without the reset its old scores would keep it).
TEST(Prune, TaylorSumsTheStepsSinceTheLastUpdateAndACheckpointKeepsThem) {
  ImportedModel m = reference();
  const auto& s = m.spec;
  auto grads_for = [&](torch::jit::Module& module, int64_t step) {
    torch::manual_seed(100 + step);
    Weights live;
    for (const auto& p : module.named_parameters(true)) {
      live[p.name] = p.value;
      p.value.mutable_grad() = torch::randn_like(p.value);
    }
    auto scale = [&](int layer, int64_t neuron, double by) {
      live.at(s.layer_param(layer, s.names.ffn_in, "weight")).mutable_grad().select(0, neuron).mul_(by);
      live.at(s.layer_param(layer, s.names.ffn_in, "bias")).mutable_grad().select(0, neuron).mul_(by);
      live.at(s.layer_param(layer, s.names.ffn_out, "weight")).mutable_grad().select(1, neuron).mul_(by);
    };
    scale(1, 20, step == 0 ? 1000 : step == 1 ? 0 : 1);
    scale(0, 9, step <= 1 ? 1000 : 0);
  };
  const PruneSchedule schedule{/*start_step=*/1, /*end_step=*/3, /*frequency=*/2, /*initial_sparsity=*/1.5 / 256};
  const PruneTargets targets{0, 3.5 / 256, 0};
  auto a_module = build_module(s, m.weights);
  auto b_module = build_module(s, m.weights);
  StructuredPruner a(s, a_module, targets, schedule, Importance::Taylor);
  StructuredPruner b(s, b_module, targets, schedule, Importance::Taylor);
  for (int64_t step = 0; step <= 2; ++step) {
    grads_for(a_module, step);
    a.step(step);
    grads_for(b_module, step);
    b.step(step);
  }
  EXPECT_DOUBLE_EQ(a.current_sparsity().ffn, 1.0 / 256);
  const auto x = pruned_units(a.masks().ffn[1]);
  EXPECT_EQ(std::find(x.begin(), x.end(), 20), x.end()) << "neuron X went on step 1's score alone";

  // b's state after step 2 through a checkpoint into a fresh pruner c on b's module.
  std::stringstream buffer;
  {
    torch::serialize::OutputArchive out;
    b.save(out);
    out.save_to(buffer);
  }
  StructuredPruner c(s, b_module, targets, schedule, Importance::Taylor);
  torch::serialize::InputArchive in;
  in.load_from(buffer);
  c.load(in);
  {
    torch::serialize::OutputArchive from_b, from_c;
    b.save(from_b);
    c.save(from_c);
    std::stringstream sb, sc;
    from_b.save_to(sb);
    from_c.save_to(sc);
    torch::serialize::InputArchive rb, rc;
    rb.load_from(sb);
    rc.load_from(sc);
    const auto groups = unit_groups(s);
    for (size_t i = 0; i < groups.size(); ++i) {
      torch::Tensor tb, tc;
      rb.read("pruning/taylor/" + std::to_string(i), tb);
      rc.read("pruning/taylor/" + std::to_string(i), tc);
      EXPECT_TRUE(torch::equal(tb, tc)) << "group " << i;
      if (groups[i].kind == UnitKind::Ffn) EXPECT_GT(tb.sum().item<double>(), 0) << "group " << i;
    }
  }

  grads_for(a_module, 3);
  a.step(3);
  grads_for(b_module, 3);
  c.step(3);
  EXPECT_DOUBLE_EQ(a.current_sparsity().ffn, 3.0 / 256);
  const auto y = pruned_units(a.masks().ffn[0]);
  EXPECT_NE(std::find(y.begin(), y.end(), 9), y.end()) << "neuron Y kept by scores from before the last update";
  for (size_t layer = 0; layer < 2; ++layer) {  // ranked on steps 2-3 (on step 3 alone, another neuron goes)
    EXPECT_EQ(pruned_units(c.masks().ffn[layer]), pruned_units(a.masks().ffn[layer])) << "layer " << layer;
  }
}

TEST(Prune, RanksGloballySoLayersDifferButKeepsOneHeadAndNeuronPerLayer) {
  ImportedModel m = reference();
  Weights w = m.weights;
  for (auto& [name, t] : w) t = t.clone();
  for (int64_t h = 0; h < 4; ++h) scale_head(m.spec, w, 0, h, 0.01 * (h + 1));  // layer 0: all heads small
  for (int64_t j = 0; j < 128; ++j) scale_neuron(m.spec, w, 1, j, 0.01);        // layer 1: all neurons small
  auto module = build_module(m.spec, w);
  StructuredPruner pruner(m.spec, module, PruneTargets{0.5, 0.5, 0}, one_shot());
  pruner.step(0);
  ModelSpec kept = pruner.pruned_spec();
  // 4 of 8 heads go: three from layer 0 (its largest, head 3, survives) and layer 1's weakest.
  EXPECT_EQ(kept.layers[0].heads, 1);
  EXPECT_EQ(kept.layers[1].heads, 3);
  EXPECT_EQ(pruned_units(pruner.masks().heads[0]), (std::vector<int64_t>{0, 1, 2}));
  // 128 of 256 neurons go: 127 from layer 1 (one must stay), then layer 0's weakest.
  EXPECT_EQ(kept.layers[0].ffn, 127);
  EXPECT_EQ(kept.layers[1].ffn, 1);
  EXPECT_EQ(pruner.summary()["heads_per_layer"], (nlohmann::json{1, 3}));
  EXPECT_EQ(pruner.summary()["ffn_per_layer"], (nlohmann::json{127, 1}));
}

TEST(Prune, RefusesBadTargetsAndHiddenPruningWithoutMaskedLayerNorm) {
  ImportedModel m = reference();
  auto plain = build_module(m.spec, m.weights);
  EXPECT_THROW(StructuredPruner(m.spec, plain, PruneTargets{1.0, 0, 0}, one_shot()), UsageError);
  EXPECT_THROW(StructuredPruner(m.spec, plain, PruneTargets{0.5, 0, 0}, PruneSchedule{0, 10, 0, 0}),
               UsageError);
  EXPECT_THROW(StructuredPruner(m.spec, plain, PruneTargets{0.5, 0, 0}, PruneSchedule{20, 10, 1, 0}),
               UsageError);
  EXPECT_THROW(StructuredPruner(m.spec, plain, PruneTargets{0, 0, 0.25}, one_shot()), ModelError);
  ModelSpec wrong = m.spec;
  wrong.layers[0].ffn = 64;
  EXPECT_THROW(StructuredPruner(wrong, plain, PruneTargets{0, 0.5, 0}, one_shot()), ModelError);
  EXPECT_NO_THROW(StructuredPruner(m.spec, build_module(m.spec, m.weights, BuildOptions{true}),
                                   PruneTargets{0, 0, 0.25}, one_shot()));
}

TEST(Prune, HiddenMaskBuildMatchesPlainBuildWhenNothingIsPruned) {
  ImportedModel m = reference();
  auto plain = build_module(m.spec, m.weights);
  auto masked = build_module(m.spec, m.weights, BuildOptions{true});
  EXPECT_FALSE(plain.hasattr("hidden_mask"));
  ASSERT_TRUE(masked.hasattr("hidden_mask"));
  const Inputs in = padded_batch(m.spec);
  Outputs a = run(plain, m.spec, in), b = run(masked, m.spec, in);
  EXPECT_LE((a.logits - b.logits).abs().max().item<double>(), 1e-5);
  for (size_t i = 0; i < a.hidden.size(); ++i)
    EXPECT_LE((a.hidden[i] - b.hidden[i]).abs().max().item<double>(), 1e-5);
}

// ---------------------------------------------------------------------------------------------------
// Masks through training

// Every entry owned by a pruned unit, by hand for heads and FFN (by name), and through the unit map for
// hidden.
double largest_pruned_entry(const ModelSpec& s, const Weights& w, const PruneMasks& masks) {
  double worst = 0;
  auto check = [&](const std::string& name, int64_t dim, const torch::Tensor& keep, int64_t width) {
    auto entries = keep.logical_not().repeat_interleave(width).nonzero().squeeze(1);
    if (entries.numel() > 0)
      worst = std::max(worst, w.at(name).index_select(dim, entries).abs().max().item<double>());
  };
  for (int l = 0; l < s.num_layers(); ++l) {
    const int64_t d = s.layers[l].head_dim;
    for (const auto* n : {&s.names.query, &s.names.key, &s.names.value}) {
      check(s.layer_param(l, *n, "weight"), 0, masks.heads[l], d);
      check(s.layer_param(l, *n, "bias"), 0, masks.heads[l], d);
    }
    check(s.layer_param(l, s.names.attn_out, "weight"), 1, masks.heads[l], d);
    check(s.layer_param(l, s.names.ffn_in, "weight"), 0, masks.ffn[l], 1);
    check(s.layer_param(l, s.names.ffn_in, "bias"), 0, masks.ffn[l], 1);
    check(s.layer_param(l, s.names.ffn_out, "weight"), 1, masks.ffn[l], 1);
  }
  const auto groups = unit_groups(s);
  for (const auto& slice : groups.back().slices) check(slice.tensor, slice.dim, masks.hidden, 1);
  return worst;
}

TEST(Prune, MasksKeepPrunedUnitsExactlyZeroThroughAdamWSteps) {
  ImportedModel m = reference();
  auto module = build_module(m.spec, m.weights, BuildOptions{true});
  std::vector<torch::Tensor> params;
  for (const auto& p : module.named_parameters(true)) {
    p.value.requires_grad_(true);
    params.push_back(p.value);
  }
  torch::optim::AdamW optimizer(params, torch::optim::AdamWOptions(1e-2).weight_decay(0.01));
  StructuredPruner pruner(m.spec, module, PruneTargets{0.5, 0.5, 0.25}, PruneSchedule{1, 7, 2, 0});
  ModelRunner runner(module);
  const Inputs in = padded_batch(m.spec);
  const auto labels = torch::tensor({0, 1, 1}, torch::kLong);
  const auto before = m.weights.at("bert.encoder.layer.0.intermediate.dense.weight").clone();

  module.train();
  PruneMasks previous = PruneMasks::keep_all(m.spec);
  std::vector<double> sparsity;
  for (int64_t step = 0; step < 10; ++step) {
    optimizer.zero_grad();
    auto loss = torch::cross_entropy_loss(runner.logits(in.ids, in.mask, torch::zeros_like(in.ids)), labels);
    ASSERT_TRUE(std::isfinite(loss.item<double>()));
    loss.backward();
    optimizer.step();
    pruner.step(step);
    const Weights live = module_weights(module);
    ASSERT_EQ(largest_pruned_entry(m.spec, live, pruner.masks()), 0.0) << "step " << step;
    // Monotone: a pruned unit stays pruned.
    for (int l = 0; l < m.spec.num_layers(); ++l) {
      EXPECT_FALSE(pruner.masks().heads[l].logical_and(previous.heads[l].logical_not()).any().item<bool>());
      EXPECT_FALSE(pruner.masks().ffn[l].logical_and(previous.ffn[l].logical_not()).any().item<bool>());
    }
    EXPECT_FALSE(pruner.masks().hidden.logical_and(previous.hidden.logical_not()).any().item<bool>());
    previous = clone(pruner.masks());
    sparsity.push_back(pruner.current_sparsity().ffn);
  }
  // Nothing before step 3 (s_t is s_0 = 0 at the start step 1), then gradually up to the target at
  // end_step 7: floor(256 * (0.5 - 0.5 * (4/6)^3)) = 90 neurons at step 3, 123 at step 5.
  EXPECT_EQ(sparsity[2], 0.0);
  EXPECT_DOUBLE_EQ(sparsity[3], 90.0 / 256);
  EXPECT_DOUBLE_EQ(sparsity[4], 90.0 / 256);
  EXPECT_DOUBLE_EQ(sparsity[5], 123.0 / 256);
  EXPECT_DOUBLE_EQ(sparsity[7], 0.5);
  EXPECT_DOUBLE_EQ(sparsity[9], 0.5);
  const PruneTargets reached = pruner.current_sparsity();
  EXPECT_DOUBLE_EQ(reached.heads, 0.5);
  EXPECT_DOUBLE_EQ(reached.hidden, 0.25);
  // The masked LayerNorm sees the same hidden mask.
  EXPECT_TRUE(
      module.attr("hidden_mask").toTensor().eq(pruner.masks().hidden.to(torch::kFloat)).all().item<bool>());
  // Training did move the kept weights.
  EXPECT_GT((module_weights(module).at("bert.encoder.layer.0.intermediate.dense.weight") - before)
                .abs()
                .max()
                .item<double>(),
            1e-3);
  // And without the re-application, AdamW's momentum would revive pruned weights: the masks matter.
  optimizer.zero_grad();
  torch::cross_entropy_loss(runner.logits(in.ids, in.mask, torch::zeros_like(in.ids)), labels).backward();
  optimizer.step();
  EXPECT_GT(largest_pruned_entry(m.spec, module_weights(module), pruner.masks()), 0.0);
  pruner.step(10);
  EXPECT_EQ(largest_pruned_entry(m.spec, module_weights(module), pruner.masks()), 0.0);
}

// ---------------------------------------------------------------------------------------------------
// Shrink

struct ShrinkCase {
  std::string name, family;
  PruneTargets targets;
};

class Shrink : public ::testing::TestWithParam<ShrinkCase> {};

// Builds the (masked) training module with 100x classifier weights, so logit differences are
// meaningful, prunes it one-shot after a few AdamW steps, and returns the pruner.
struct Pruned {
  ImportedModel model;
  torch::jit::Module module;
  std::unique_ptr<StructuredPruner> pruner;
};
Pruned prune_reference(const std::string& family, const PruneTargets& targets) {
  Pruned p{reference(family), {}, nullptr};
  Weights w = p.model.weights;
  w.at(p.model.spec.names.head_out + ".weight") = w.at(p.model.spec.names.head_out + ".weight") * 100;
  p.module = build_module(p.model.spec, w, BuildOptions{targets.hidden > 0});
  std::vector<torch::Tensor> params;
  for (const auto& q : p.module.named_parameters(true)) params.push_back(q.value.requires_grad_(true));
  torch::optim::AdamW optimizer(params, torch::optim::AdamWOptions(1e-3));
  p.pruner = std::make_unique<StructuredPruner>(p.model.spec, p.module, targets, PruneSchedule{1, 3, 1, 0});
  ModelRunner runner(p.module);
  const Inputs in = padded_batch(p.model.spec, 11);
  p.module.train();
  for (int64_t step = 0; step < 4; ++step) {
    optimizer.zero_grad();
    torch::cross_entropy_loss(runner.logits(in.ids, in.mask, torch::zeros_like(in.ids)),
                              torch::tensor({1, 0, 1}, torch::kLong))
        .backward();
    optimizer.step();
    p.pruner->step(step);
  }
  p.module.eval();
  for (auto& q : params) q.requires_grad_(false);
  return p;
}

TEST_P(Shrink, ShrunkModelComputesWhatTheMaskedModelDid) {
  const ShrinkCase& c = GetParam();
  Pruned p = prune_reference(c.family, c.targets);
  const ModelSpec& spec = p.model.spec;
  const PruneMasks& masks = p.pruner->masks();
  ShrunkModel small = p.pruner->shrink();
  auto shrunk = build_module(small.spec, small.weights);
  EXPECT_FALSE(shrunk.hasattr("hidden_mask"));

  const Inputs in = padded_batch(spec);
  Outputs masked = run(p.module, spec, in);
  Outputs out = run(shrunk, small.spec, in);
  // Logits well above 1 (100x classifier), so 1e-5 is a tight check; padding positions included.
  EXPECT_GT(masked.logits.abs().max().item<double>(), 1.0);
  const double logit_diff = (masked.logits - out.logits).abs().max().item<double>();
  EXPECT_LE(logit_diff, 1e-5);
  const auto kept_dims = masks.hidden.nonzero().squeeze(1);
  const auto pruned_dims = masks.hidden.logical_not().nonzero().squeeze(1);
  ASSERT_EQ(masked.hidden.size(), out.hidden.size());
  double hidden_diff = 0;
  for (size_t i = 0; i < out.hidden.size(); ++i) {
    const double diff =
        (masked.hidden[i].index_select(2, kept_dims) - out.hidden[i]).abs().max().item<double>();
    EXPECT_LE(diff, 1e-5) << "hidden state " << i;
    hidden_diff = std::max(hidden_diff, diff);
    if (pruned_dims.numel() > 0) {
      EXPECT_EQ(masked.hidden[i].index_select(2, pruned_dims).abs().max().item<double>(), 0.0);
    }
  }
  RecordProperty("max_logit_diff", std::to_string(logit_diff));
  RecordProperty("max_hidden_diff", std::to_string(hidden_diff));
  if (c.targets.hidden > 0) {
    // The masked LayerNorm is what makes this exact: with plain LayerNorm statistics (all-ones mask)
    // over the zeroed dims, the masked model no longer matches the shrunk one.
    for (const auto& b : p.module.named_buffers(true)) b.value.fill_(1.0);
    Outputs plain_norm = run(p.module, spec, in);
    EXPECT_GT(
        (plain_norm.hidden.back().index_select(2, kept_dims) - out.hidden.back()).abs().max().item<double>(),
        1e-3);
  }

  // Smaller, by exactly the pruned units.
  const PruneTargets reached = p.pruner->current_sparsity();
  EXPECT_NEAR(reached.heads, c.targets.heads, 1.0 / 8);
  EXPECT_NEAR(reached.ffn, c.targets.ffn, 1.0 / 256);
  EXPECT_NEAR(reached.hidden, c.targets.hidden, 1.0 / 64);
  EXPECT_LT(parameter_count(shrunk), parameter_count(p.module));
  const int H = small.spec.hidden;
  EXPECT_EQ(H, static_cast<int>(masks.hidden.sum().item<int64_t>()));
  for (int l = 0; l < spec.num_layers(); ++l) {
    const auto& ls = small.spec.layers[l];
    EXPECT_EQ(ls.heads, masks.heads[l].sum().item<int64_t>());
    EXPECT_EQ(ls.ffn, masks.ffn[l].sum().item<int64_t>());
    // [out, in] for Linear, [in, out] for GPT-2's Conv1D; a fused Q|K|V has three blocks of outputs.
    auto shape = [&spec](int64_t out_size, int64_t in_size) {
      return spec.transposed_weights ? std::vector<int64_t>{in_size, out_size} : std::vector<int64_t>{out_size, in_size};
    };
    const std::string& q = spec.fused_qkv() ? spec.names.qkv : spec.names.query;
    const int64_t q_width = (spec.fused_qkv() ? 3 : 1) * ls.heads * ls.head_dim;
    EXPECT_EQ(small.weights.at(spec.layer_param(l, q, "weight")).sizes().vec(), shape(q_width, H));
    EXPECT_EQ(small.weights.at(spec.layer_param(l, spec.names.ffn_out, "weight")).sizes().vec(), shape(H, ls.ffn));
  }
  EXPECT_EQ(small.weights.at(spec.names.word_embeddings + ".weight").size(1), H);
  if (c.targets.heads > 0) EXPECT_LT(small.spec.layers[0].heads + small.spec.layers[1].heads, 8);
  if (c.targets.ffn > 0) EXPECT_LT(small.spec.layers[0].ffn + small.spec.layers[1].ffn, 256);
  if (c.targets.hidden > 0) EXPECT_LT(H, 64);
}

// GPT-2's c_attn holds Q | K | V side by side ([hidden, 3A], Conv1D). Pruning head h must remove its
// columns in all three blocks, and the shrunk matrix must keep the blocks in order, each with the kept
// heads in order: the reference study's GPT-2 collapsed when pruning ignored this layout.
TEST(Prune, Gpt2FusedQkvLosesAWholeHeadInEveryBlockAndKeepsTheOrder) {
  ImportedModel m = reference("gpt2");
  const ModelSpec& spec = m.spec;
  ASSERT_TRUE(spec.fused_qkv());
  ASSERT_TRUE(spec.transposed_weights);
  auto module = build_module(spec, m.weights);
  PruneMasks masks = PruneMasks::keep_all(spec);
  masks.heads[0][1] = false;  // layer 0 loses head 1
  masks.heads[1][0] = false;
  masks.heads[1][3] = false;
  const auto groups = unit_groups(spec);
  Weights live = module_weights(module);
  apply_masks(groups, masks, live);

  const int64_t d = spec.layers[0].head_dim, A = spec.layers[0].heads * d;
  const std::string qkv0 = spec.layer_param(0, spec.names.qkv, "weight");
  const auto w = live.at(qkv0);  // [hidden, 3A]
  for (int64_t block = 0; block < 3; ++block) {
    EXPECT_EQ(w.narrow(1, block * A + 1 * d, d).abs().max().item<double>(), 0.0) << "block " << block;
    EXPECT_GT(w.narrow(1, block * A + 0 * d, d).abs().max().item<double>(), 0.0) << "block " << block;
    EXPECT_EQ(live.at(spec.layer_param(0, spec.names.qkv, "bias")).narrow(0, block * A + d, d).abs().max().item<double>(),
              0.0);
  }
  // c_proj ([A, hidden]) loses the head's input rows.
  EXPECT_EQ(live.at(spec.layer_param(0, spec.names.attn_out, "weight")).narrow(0, d, d).abs().max().item<double>(), 0.0);

  ShrunkModel small = shrink(spec, live, masks);
  const auto& original = m.weights.at(qkv0);
  const auto& shrunk = small.weights.at(qkv0);
  ASSERT_EQ(shrunk.sizes().vec(), (std::vector<int64_t>{spec.hidden, 3 * 3 * d}));
  const std::vector<int64_t> kept = {0, 2, 3};
  for (int64_t block = 0; block < 3; ++block) {
    for (size_t i = 0; i < kept.size(); ++i) {
      EXPECT_TRUE(torch::equal(shrunk.narrow(1, block * 3 * d + static_cast<int64_t>(i) * d, d),
                               original.narrow(1, block * A + kept[i] * d, d)))
          << "block " << block << " kept head " << kept[i];
    }
  }
  EXPECT_EQ(small.spec.layers[0].heads, 3);
  EXPECT_EQ(small.spec.layers[1].heads, 2);
  EXPECT_EQ(small.weights.at(spec.layer_param(1, spec.names.qkv, "weight")).size(1), 3 * 2 * d);

  // The shrunk model computes what the masked one does.
  auto rebuilt = build_module(small.spec, small.weights);
  const Inputs in = padded_batch(spec);
  ModelRunner masked_runner(module), small_runner(rebuilt);
  const auto want = masked_runner.logits(in.ids, in.mask, torch::zeros_like(in.ids));
  const auto got = small_runner.logits(in.ids, in.mask, torch::zeros_like(in.ids));
  EXPECT_LE((want - got).abs().max().item<double>(), 1e-5);
}

INSTANTIATE_TEST_SUITE_P(ShrinkTargets, Shrink,
                         ::testing::Values(ShrinkCase{"heads_only", "bert", {0.5, 0, 0}},
                                           ShrinkCase{"ffn_only", "bert", {0, 0.5, 0}},
                                           ShrinkCase{"hidden_only", "bert", {0, 0, 0.25}},
                                           ShrinkCase{"all_three", "bert", {0.5, 0.5, 0.25}},
                                           ShrinkCase{"all_three_roberta", "roberta", {0.5, 0.5, 0.25}},
                                           ShrinkCase{
                                               "all_three_distilbert", "distilbert", {0.5, 0.5, 0.25}},
                                           ShrinkCase{"all_three_gpt2", "gpt2", {0.5, 0.5, 0.25}},
                                           ShrinkCase{"all_three_opt", "opt", {0.5, 0.5, 0.25}}),
                         [](const auto& info) { return info.param.name; });

TEST(ShrinkSave, SavedShrunkModelReloadsAndRunsInPython) {
  Pruned p = prune_reference("bert", PruneTargets{0.5, 0.5, 0.25});
  ShrunkModel small = p.pruner->shrink();
  auto shrunk = build_module(small.spec, small.weights);
  const auto path = test::models_dir() / "pruned-bert-all.pt";
  shrunk.save(path.string());
  auto reloaded = torch::jit::load(path.string());

  // Two sequences, the second padded: the same batch Python builds below.
  Inputs in{torch::tensor({{101, 2023, 2003, 1037, 3231, 102}, {101, 7592, 102, 0, 0, 0}}, torch::kLong),
            torch::tensor({{1, 1, 1, 1, 1, 1}, {1, 1, 1, 0, 0, 0}}, torch::kLong)};
  const auto masked = run(p.module, p.model.spec, in).logits;
  ModelRunner runner(reloaded);
  const auto logits = runner.logits(in.ids, in.mask, torch::zeros_like(in.ids));
  EXPECT_LE((masked - logits).abs().max().item<double>(), 1e-5);

  std::string output;
  const int rc =
      test::run_command(test::python() + " " + (test::source_dir() / "tools" / "run_torchscript.py").string() +
                            " " + path.string() + " --ids 101,2023,2003,1037,3231,102 --ids 101,7592,102",
                        &output);
  ASSERT_EQ(rc, 0) << output;
  auto json = test::last_json_line(output);
  EXPECT_EQ(json["num_params"].get<int64_t>(), parameter_count(shrunk));
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 2; ++j)
      EXPECT_NEAR(json["logits"][i][j].get<double>(), logits[i][j].item<double>(), 1e-4);
  }
}

TEST(Prune, SummaryReportsTargetsSparsityAndKeptUnits) {
  Pruned p = prune_reference("bert", PruneTargets{0.5, 0.25, 0.25});
  nlohmann::json s = p.pruner->summary();
  EXPECT_DOUBLE_EQ(s["targets"]["ffn"].get<double>(), 0.25);
  EXPECT_DOUBLE_EQ(s["sparsity"]["heads"].get<double>(), 0.5);
  EXPECT_EQ(s["hidden"].get<int>(), 48);
  EXPECT_EQ(s["hidden_before"].get<int>(), 64);
  EXPECT_EQ(s["heads_per_layer"][0].get<int>() + s["heads_per_layer"][1].get<int>(), 4);
  EXPECT_EQ(s["ffn_per_layer"][0].get<int>() + s["ffn_per_layer"][1].get<int>(), 192);
  EXPECT_EQ(s["last_update_step"].get<int64_t>(), 3);
  EXPECT_GE(s["mask_updates"].get<int64_t>(), 1);
  EXPECT_EQ(s["schedule"]["end_step"].get<int64_t>(), 3);
  // Re-applying the masks (after restoring weights) is not a mask update and prunes nothing more.
  p.pruner->prune_to(p.pruner->current_sparsity());
  EXPECT_EQ(p.pruner->summary()["mask_updates"], s["mask_updates"]);
  EXPECT_EQ(p.pruner->summary()["heads_per_layer"], s["heads_per_layer"]);
}

}  // namespace
}  // namespace lwm

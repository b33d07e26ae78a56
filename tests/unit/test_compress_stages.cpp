// Layer selection, distillation losses and the config: values checked against hand-computed ones.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "lwm/common/error.h"
#include "lwm/compress/distill.h"
#include "lwm/compress/layer_removal.h"
#include "lwm/model/builder.h"
#include "lwm/model/importer.h"
#include "lwm/pipeline/config.h"
#include "test_support.h"

namespace lwm {
namespace {

TEST(LayerSelection, EachStrategy) {
  EXPECT_EQ(select_layers(12, 8, LayerStrategy::Top), (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(select_layers(12, 4, LayerStrategy::Top), (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(select_layers(12, 4, LayerStrategy::Bottom), (std::vector<int>{8, 9, 10, 11}));
  EXPECT_EQ(select_layers(12, 6, LayerStrategy::Alternate), (std::vector<int>{1, 3, 5, 7, 9, 11}));
  EXPECT_EQ(select_layers(12, 4, LayerStrategy::Alternate), (std::vector<int>{2, 5, 8, 11}));
  EXPECT_EQ(select_layers(12, 0, LayerStrategy::Explicit, {11, 0, 5}), (std::vector<int>{0, 5, 11}));
  EXPECT_EQ(layers_for_fraction(12, 2.0 / 3.0), 8);
  EXPECT_EQ(layers_for_fraction(12, 1.0 / 3.0), 4);
  EXPECT_EQ(layers_for_fraction(2, 0.1), 1);
}

TEST(LayerSelection, RefusesImpossibleRequests) {
  EXPECT_THROW(select_layers(12, 13, LayerStrategy::Top), UsageError);
  EXPECT_THROW(select_layers(12, 0, LayerStrategy::Top), UsageError);
  EXPECT_THROW(select_layers(12, 0, LayerStrategy::Explicit, {12}), UsageError);
  EXPECT_THROW(select_layers(12, 0, LayerStrategy::Explicit, {1, 1}), UsageError);
  EXPECT_THROW(select_layers(12, 0, LayerStrategy::Explicit, {}), UsageError);
  EXPECT_THROW(layer_strategy_from_string("middle"), UsageError);
}

TEST(LayerRemoval, StudentStartsFromTheKeptTeacherLayers) {
  ImportedModel m = import_model(test::reference_model("bert", "sdpa", "", 4));
  auto [spec, weights] = remove_layers(m.spec, m.weights, {1, 3});
  EXPECT_EQ(spec.num_layers(), 2);
  const std::string q = ".attention.self.query.weight";
  EXPECT_TRUE(torch::equal(weights.at("bert.encoder.layer.0" + q), m.weights.at("bert.encoder.layer.1" + q)));
  EXPECT_TRUE(torch::equal(weights.at("bert.encoder.layer.1" + q), m.weights.at("bert.encoder.layer.3" + q)));
  EXPECT_EQ(weights.count("bert.encoder.layer.2" + q), 0u);
  EXPECT_TRUE(torch::equal(weights.at("classifier.weight"), m.weights.at("classifier.weight")));
  // Builds, runs, and is smaller.
  auto student = build_module(spec, weights);
  EXPECT_LT(module_weights(student).size(), m.weights.size());
}

TEST(DistillLoss, SoftLossMatchesHandComputedKl) {
  // Teacher logits [0, ln 3] at T=1: p_t = [1/4, 3/4]; student [0, 0]: p_s = [1/2, 1/2].
  // KL = 1/4 ln(1/2) + 3/4 ln(3/2) = 0.13081203594113694.
  auto t = torch::tensor({{0.0, std::log(3.0)}});
  auto s = torch::zeros({1, 2});
  EXPECT_NEAR(soft_loss(s, t, 1.0, false).item<double>(), 0.13081203594113694, 1e-6);
  // At T=2 the logits halve: p_t = softmax([0, ln 3 / 2]) = [1/(1+sqrt3), sqrt3/(1+sqrt3)];
  // KL = sum p_t ln(2 p_t), times T^2 = 4.
  const double a = 1.0 / (1.0 + std::sqrt(3.0)), b = 1.0 - a;
  const double kl2 = a * std::log(2 * a) + b * std::log(2 * b);
  EXPECT_NEAR(soft_loss(s, t, 2.0, false).item<double>(), 4 * kl2, 1e-6);
  // Identical logits: zero.
  EXPECT_NEAR(soft_loss(t, t, 3.0, false).item<double>(), 0.0, 1e-7);
  // Regression: MSE to the teacher's score.
  EXPECT_NEAR(soft_loss(torch::tensor({{1.0}, {3.0}}), torch::tensor({{2.0}, {1.0}}), 2.0, true).item<double>(),
              (1.0 + 4.0) / 2, 1e-6);
}

TEST(DistillLoss, HiddenStateLossIgnoresPadding) {
  // Two layers + embeddings, hidden 2, one sequence of 2 tokens where the second is padding.
  auto zeros = torch::zeros({1, 2, 2});
  auto student = std::vector<torch::Tensor>{zeros, zeros, zeros};
  auto teacher_h = torch::tensor({{{1.0, 1.0}, {100.0, 100.0}}});  // padding position differs wildly
  auto teacher = std::vector<torch::Tensor>{zeros, zeros, teacher_h, zeros};
  auto mask = torch::tensor({{1, 0}});
  // Embeddings: 0; student layer 0 <-> teacher layer 0 (hidden[1]): 0; student layer 1 <-> teacher layer 1
  // (hidden[2]): mean over the one real token's 2 dims of 1^2 = 1. Average over 3 pairs = 1/3.
  EXPECT_NEAR(hidden_state_loss(student, teacher, {0, 1}, mask).item<double>(), 1.0 / 3.0, 1e-6);
  EXPECT_THROW(hidden_state_loss(student, teacher, {0}, mask), UsageError);
}

TEST(DistillLoss, HiddenStateLossIgnoresPrunedDimensions) {
  // Hidden 2, one real token; dimension 1 is pruned (zero in the student, 5 in the teacher).
  auto student_h = torch::tensor({{{1.0, 0.0}}});
  auto teacher_h = torch::tensor({{{3.0, 5.0}}});
  auto student = std::vector<torch::Tensor>{student_h, student_h};
  auto teacher = std::vector<torch::Tensor>{teacher_h, teacher_h};
  auto mask = torch::tensor({{1}});
  // Without the mask: mean of (2^2, 5^2) = 14.5 per pair. With it: only dimension 0, 2^2 = 4.
  EXPECT_NEAR(hidden_state_loss(student, teacher, {0}, mask).item<double>(), 14.5, 1e-6);
  EXPECT_NEAR(hidden_state_loss(student, teacher, {0}, mask, torch::tensor({1.0, 0.0})).item<double>(), 4.0, 1e-6);
}

TEST(Config, PresetsLoadAndOverridesApply) {
  int presets = 0;
  for (const auto& file : std::filesystem::directory_iterator(test::source_dir() / "configs")) {  // every preset
    SCOPED_TRACE(file.path().string());
    EXPECT_NO_THROW(load_config(file.path(), {}));
    ++presets;
  }
  EXPECT_GE(presets, 7);
  EXPECT_TRUE(load_config(test::source_dir() / "configs" / "1of3-layers-pruned-vocab.json", {}).prune_vocab);
  EXPECT_FALSE(load_config(test::source_dir() / "configs" / "1of3-layers-pruned.json", {}).prune_vocab);
  auto c = load_config(test::source_dir() / "configs" / "1of3-layers-pruned.json",
                       {{"prune-heads", "0.25"}, {"int8", "true"}, {"layers", "0,5"}, {"temperature", "4"}});
  EXPECT_DOUBLE_EQ(c.prune.heads, 0.25);
  EXPECT_TRUE(c.int8);
  EXPECT_EQ(c.layers, (std::vector<int>{0, 5}));
  EXPECT_EQ(c.layer_strategy, LayerStrategy::Explicit);
  EXPECT_DOUBLE_EQ(c.distill.temperature, 4.0);
  EXPECT_DOUBLE_EQ(c.keep_layer_fraction, 0.3333);
}

TEST(Config, BadKeysAndValuesNameTheKey) {
  auto expect_error = [](std::vector<std::pair<std::string, std::string>> o, const std::string& needle) {
    try {
      load_config(std::nullopt, o);
      ADD_FAILURE() << "no error for " << o.front().first;
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_error({{"prune_head", "0.5"}}, "prune_head");
  // A typo gets the nearest key; another word gets none.
  expect_error({{"prune_head", "0.5"}}, "unknown config key 'prune_head': did you mean 'prune_heads'?");
  expect_error({{"lerning-rate", "1e-4"}}, "did you mean 'learning-rate'?");  // as the user spells keys
  expect_error({{"lerning_rate", "1e-4"}}, "did you mean 'learning_rate'?");
  expect_error({{"--tempreature", "2"}}, "did you mean 'temperature'?");
  for (const char* word : {"colour", "x", "learning"}) {
    try {
      load_config(std::nullopt, {{word, "1"}});
      ADD_FAILURE() << "no error for " << word;
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find("unknown config key"), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).find("did you mean"), std::string::npos) << e.what();
    }
  }
  expect_error({{"prune_heads", "1.0"}}, "prune_heads");
  expect_error({{"prune_ffn", "-0.1"}}, "prune_ffn");
  expect_error({{"epochs", "two"}}, "epochs");
  expect_error({{"keep_layers", "0"}}, "keep_layers");
  expect_error({{"layer_strategy", "middle"}}, "middle");
}

}  // namespace
}  // namespace lwm

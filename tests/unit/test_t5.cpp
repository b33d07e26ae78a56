// T5 (Hugging Face T5ForConditionalGeneration, exported by tools/export_reference.py): import, a faithful
// native rebuild, rank classification of label words, layer removal on both stacks, head/FFN/hidden pruning
// with the shared relative bias table, and int8.
#include <gtest/gtest.h>

#include "lwm/common/error.h"
#include "lwm/compress/layer_removal.h"
#include "lwm/compress/pruning.h"
#include "lwm/compress/quantize.h"
#include "lwm/model/builder.h"
#include "lwm/model/faithfulness.h"
#include "lwm/model/importer.h"
#include "lwm/model/runner.h"
#include "test_support.h"

namespace lwm {
namespace {

struct T5Case {
  std::string name, mode, args;
  bool gated, tied;
  double output_scale;
};

class T5Import : public ::testing::TestWithParam<T5Case> {};

TEST_P(T5Import, SpecMatchesExportAndRebuildIsFaithful) {
  const T5Case& c = GetParam();
  auto path = test::reference_model("t5", c.mode, c.args);
  ASSERT_FALSE(path.empty()) << "export failed";
  ImportedModel m = import_model(path);
  const ModelSpec& s = m.spec;
  EXPECT_EQ(s.family, Family::T5);
  EXPECT_TRUE(s.encoder_decoder);
  EXPECT_EQ(s.head, HeadType::LabelWords);
  EXPECT_EQ(s.num_encoder_layers(), 2);
  EXPECT_EQ(s.num_decoder_layers(), 2);
  EXPECT_EQ(s.hidden, 64);
  EXPECT_EQ(s.vocab_size, 30522);
  EXPECT_EQ(s.norm_kind, NormKind::RmsNorm);
  EXPECT_FALSE(s.linear_bias);
  EXPECT_FALSE(s.attention_scaling);
  EXPECT_EQ(s.relative_buckets, 32);
  EXPECT_EQ(s.relative_max_distance, 128);
  EXPECT_EQ(s.activation, c.gated ? Activation::GeluTanh : Activation::Relu);
  EXPECT_EQ(s.names.ffn_gate.empty(), !c.gated);
  EXPECT_EQ(s.names.lm_head.empty(), c.tied);
  EXPECT_DOUBLE_EQ(s.output_scale, c.output_scale);
  EXPECT_EQ(s.forward_args, (std::vector<std::string>{"input_ids", "attention_mask", "decoder_input_ids"}));
  for (int l = 0; l < s.num_layers(); ++l) {
    EXPECT_EQ(s.layers[l].heads, 4);
    EXPECT_EQ(s.layers[l].head_dim, 16);
    EXPECT_EQ(s.layers[l].ffn, 128);
    EXPECT_EQ(s.layers[l].decoder, l >= 2);
    EXPECT_EQ(s.layers[l].cross_heads, l >= 2 ? 4 : 0);
  }
  auto native = build_module(s, m.weights);
  EXPECT_LE(max_logit_difference(m.module, native, s), 1e-4);
  EXPECT_EQ(module_weights(native).size(), m.weights.size());
}

INSTANTIATE_TEST_SUITE_P(Exports, T5Import,
                         ::testing::Values(T5Case{"sdpa", "sdpa", "", false, true, 0.125},
                                           T5Case{"eager", "eager", "", false, true, 0.125},
                                           // transformers 4's torchscript=True: lm_head.weight a copy of shared
                                           T5Case{"cloned_tie", "sdpa", "--clone-tied", false, true, 0.125},
                                           // T5 v1.1 as transformers 5 exports it: tied, not rescaled
                                           T5Case{"gated_v11", "sdpa", "--gated --no-tie-word-embeddings", true,
                                                  true, 1.0},
                                           // ... and as transformers 4 did: its own lm_head
                                           T5Case{"gated_untied", "eager",
                                                  "--gated --no-tie-word-embeddings --untied-lm-head", true, false,
                                                  1.0}),
                         [](const auto& info) { return info.param.name; });

// Sum over a label's target tokens of log p(token | input, previous tokens), from the exported file's own
// forward(): what classify() must return.
torch::Tensor reference_scores(torch::jit::Module& hf, const torch::Tensor& ids, const torch::Tensor& mask,
                               const std::vector<std::vector<int64_t>>& labels) {
  std::vector<torch::Tensor> columns;
  for (const auto& label : labels) {
    const auto L = static_cast<int64_t>(label.size());
    auto targets = torch::tensor(label, torch::kLong);
    auto dec = torch::cat({torch::zeros({1}, torch::kLong), targets.narrow(0, 0, L - 1)}).unsqueeze(0).expand({ids.size(0), L});
    auto logits = hf.forward({ids, mask, dec.contiguous()}).toTupleRef().elements()[0].toTensor();
    auto logp = torch::log_softmax(logits, -1);
    columns.push_back(logp.gather(2, targets.view({1, L, 1}).expand({ids.size(0), L, 1})).squeeze(2).sum(1));
  }
  return torch::stack(columns, 1);
}

ImportedModel t5_with_labels(const std::string& args = "") {
  auto path = test::reference_model("t5", "sdpa", args);
  ImportedModel m = import_model(path);
  // One single-piece and one three-piece label word, each ending in </s> (id 1).
  m.spec.label_tokens = {{523, 1}, {77, 4012, 1}};
  m.spec.num_labels = 2;
  return m;
}

std::pair<torch::Tensor, torch::Tensor> padded_batch() {
  torch::manual_seed(5);
  auto ids = torch::randint(3, 30000, {3, 9}, torch::kLong);
  auto mask = torch::ones({3, 9}, torch::kLong);
  for (int64_t b = 1; b < 3; ++b) {
    ids[b].narrow(0, 9 - 3 * b, 3 * b).fill_(0);
    mask[b].narrow(0, 9 - 3 * b, 3 * b).fill_(0);
  }
  return {ids, mask};
}

TEST(T5RankClassification, ScoresAreSummedLabelTokenLogProbs) {
  ImportedModel m = t5_with_labels();
  auto native = build_module(m.spec, m.weights);
  auto [ids, mask] = padded_batch();
  torch::NoGradGuard no_grad;
  ModelRunner runner(native);
  auto scores = runner.logits(ids, mask, torch::zeros_like(ids));
  ASSERT_EQ(scores.sizes(), (std::vector<int64_t>{3, 2}));
  auto expected = reference_scores(m.module, ids, mask, m.spec.label_tokens);
  EXPECT_LE((scores - expected).abs().max().item<double>(), 1e-4);
  // Padding does not change a row's scores.
  auto alone = runner.logits(ids[2].narrow(0, 0, 3).unsqueeze(0), torch::ones({1, 3}, torch::kLong), torch::zeros({1, 3}, torch::kLong));
  EXPECT_LE((alone - scores[2]).abs().max().item<double>(), 1e-4);
  // forward_hidden() gives the same scores and the encoder's hidden states (embeddings + 2 layers).
  auto out = native.get_method("forward_hidden")({ids, mask}).toTuple();
  EXPECT_LE((out->elements()[0].toTensor() - scores).abs().max().item<double>(), 1e-6);
  EXPECT_EQ(out->elements()[1].toTensorVector().size(), 3u);
}

TEST(T5Compression, LayerRemovalOnBothStacksKeepsTheRelativeBiasTable) {
  ImportedModel m = t5_with_labels();
  // Keep the upper layer of each stack: block 0 (which holds each stack's bias table) is dropped.
  auto kept = select_model_layers(m.spec, 1, 0, LayerStrategy::Bottom);
  EXPECT_EQ(kept, (std::vector<int>{1, 3}));
  auto [spec, weights] = remove_layers(m.spec, m.weights, kept);
  EXPECT_EQ(spec.num_encoder_layers(), 1);
  EXPECT_EQ(spec.num_decoder_layers(), 1);
  EXPECT_TRUE(weights.count("encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"));
  EXPECT_TRUE(weights.count("decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"));
  EXPECT_TRUE(torch::equal(weights.at("decoder.block.0.layer.2.DenseReluDense.wi.weight"),
                           m.weights.at("decoder.block.1.layer.2.DenseReluDense.wi.weight")));
  EXPECT_FALSE(weights.count("encoder.block.1.layer.0.SelfAttention.q.weight"));
  auto student = build_module(spec, weights);
  torch::NoGradGuard no_grad;
  auto [ids, mask] = padded_batch();
  EXPECT_EQ(ModelRunner(student).logits(ids, mask, torch::zeros_like(ids)).sizes(), (std::vector<int64_t>{3, 2}));
}

TEST(T5Compression, PrunedHeadsFfnAndHiddenShrinkToTheSameFunction) {
  for (const std::string args : {"", "--gated --no-tie-word-embeddings"}) {
    SCOPED_TRACE(args);
    ImportedModel m = t5_with_labels(args);
    BuildOptions opts;
    opts.hidden_mask = true;
    auto masked = build_module(m.spec, m.weights, opts);
    StructuredPruner pruner(m.spec, masked, PruneTargets{0.5, 0.5, 0.25}, PruneSchedule{});
    pruner.prune_to(PruneTargets{0.5, 0.5, 0.25});
    ShrunkModel small = pruner.shrink();
    EXPECT_EQ(small.spec.hidden, 48);
    int heads = 0, cross = 0;
    bool reordered = false;
    for (const auto& l : small.spec.layers) {
      heads += l.heads;
      cross += l.cross_heads;
      for (size_t i = 0; i < l.bias_heads.size(); ++i) reordered = reordered || l.bias_heads[i] != static_cast<int>(i);
    }
    EXPECT_EQ(heads + cross, 12);  // half of 4 layers x 4 self + 2 decoder layers x 4 cross heads
    EXPECT_TRUE(reordered) << "some layer should keep heads other than the first ones of the bias table";
    auto shrunk = build_module(small.spec, small.weights);
    EXPECT_LE(max_logit_difference(masked, shrunk, small.spec), 5e-5);  // LM logits over 30522 ids
    torch::NoGradGuard no_grad;
    auto [ids, mask] = padded_batch();
    auto a = ModelRunner(masked).logits(ids, mask, torch::zeros_like(ids));
    auto b = ModelRunner(shrunk).logits(ids, mask, torch::zeros_like(ids));
    EXPECT_LE((a - b).abs().max().item<double>(), 5e-5);

    // The saved model re-imports with its pruned heads and the bias heads they use, and its label words.
    auto file = test::models_dir() / ("t5-shrunk" + std::to_string(args.size()) + ".pt");
    shrunk.save(file.string());
    ImportedModel back = import_model(file);
    EXPECT_EQ(back.spec.label_tokens, m.spec.label_tokens);
    EXPECT_DOUBLE_EQ(back.spec.output_scale, m.spec.output_scale);  // the teacher's, not the pruned width's
    EXPECT_LE(max_logit_difference(back.module, build_module(back.spec, back.weights), back.spec), 1e-4);
    for (int l = 0; l < small.spec.num_layers(); ++l) {
      EXPECT_EQ(back.spec.layers[l].heads, small.spec.layers[l].heads);
      EXPECT_EQ(back.spec.layers[l].cross_heads, small.spec.layers[l].cross_heads);
      std::vector<int> expected = small.spec.layers[l].bias_heads;
      bool identity = true;
      for (size_t i = 0; i < expected.size(); ++i) identity = identity && expected[i] == static_cast<int>(i);
      EXPECT_EQ(back.spec.layers[l].bias_heads, identity && expected.size() == 4u ? std::vector<int>{} : expected);
    }
  }
}

TEST(T5Compression, Int8BuildKeepsClassifyAndLoadsBack) {
  ImportedModel m = t5_with_labels();
  auto native = build_module(m.spec, m.weights);
  const Int8Weights int8 = quantize_weights(m.spec, m.weights, 0);
  BuildOptions opts;
  opts.int8 = &int8;
  auto q = build_module(m.spec, m.weights, opts);
  EXPECT_FALSE(module_weights(q).count("encoder.block.0.layer.0.SelfAttention.q.weight"));
  auto file = test::models_dir() / "t5-int8.pt";
  q.save(file.string());
  auto loaded = torch::jit::load(file.string());
  torch::NoGradGuard no_grad;
  auto [ids, mask] = padded_batch();
  auto a = ModelRunner(native).logits(ids, mask, torch::zeros_like(ids));
  auto b = ModelRunner(loaded).logits(ids, mask, torch::zeros_like(ids));
  EXPECT_GT((a - b).abs().max().item<double>(), 0.0) << "classify() still runs in fp32";
  EXPECT_LE((a - b).abs().max().item<double>(), 0.05 * a.abs().max().item<double>());
}

}  // namespace
}  // namespace lwm

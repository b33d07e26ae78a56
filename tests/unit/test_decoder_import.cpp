// Import of GPT-2 and OPT sequence classifiers (Hugging Face names and semantics, exported by
// tools/export_reference.py) and the faithfulness of their native rebuild, on padded batches.
#include <gtest/gtest.h>

#include "lwm/common/error.h"
#include "lwm/model/builder.h"
#include "lwm/model/faithfulness.h"
#include "lwm/model/importer.h"
#include "lwm/model/runner.h"
#include "test_support.h"

namespace lwm {
namespace {

struct DecoderCase {
  std::string name, family, mode, args;
  Family expected;
  NormPlacement norm;
  Activation activation;
  int pad;  // the exports use a 30522-token vocabulary: GPT-2 pads with its last id, as does OPT off its own vocab
  bool final_norm, projections;
};

class DecoderImport : public ::testing::TestWithParam<DecoderCase> {};

TEST_P(DecoderImport, SpecMatchesExportAndRebuildIsFaithful) {
  const DecoderCase& c = GetParam();
  auto path = test::reference_model(c.family, c.mode, c.args);
  ASSERT_FALSE(path.empty()) << "export failed";
  ImportedModel m = import_model(path);
  const ModelSpec& s = m.spec;
  EXPECT_EQ(s.family, c.expected);
  EXPECT_EQ(s.num_layers(), 2);
  EXPECT_EQ(s.hidden, 64);
  EXPECT_EQ(s.vocab_size, 30522);
  EXPECT_EQ(s.num_labels, 2);
  EXPECT_EQ(s.type_vocab_size, 0);
  EXPECT_EQ(s.max_positions, 128);
  EXPECT_DOUBLE_EQ(s.norm_eps, 1e-5);
  EXPECT_EQ(s.norm, c.norm);
  EXPECT_TRUE(s.causal);
  EXPECT_EQ(s.head, HeadType::LastToken);
  EXPECT_FALSE(s.head_out_bias);
  EXPECT_EQ(s.activation, c.activation);
  EXPECT_EQ(s.pad_token_id, c.pad);
  EXPECT_EQ(!s.names.final_norm.empty(), c.final_norm);
  EXPECT_EQ(!s.names.project_in.empty(), c.projections);
  EXPECT_EQ(s.forward_args, (std::vector<std::string>{"input_ids", "attention_mask"}));
  for (const auto& layer : s.layers) {
    EXPECT_EQ(layer.heads, 4);
    EXPECT_EQ(layer.head_dim, 16);
    EXPECT_EQ(layer.ffn, 128);
  }
  auto native = build_module(s, m.weights);
  EXPECT_LE(max_logit_difference(m.module, native, s), 1e-4);
  EXPECT_EQ(module_weights(native).size(), m.weights.size());

  // Causal and last-token semantics: a row's logits do not change when more padding follows it.
  torch::manual_seed(3);
  auto ids = torch::randint(100, 20000, {1, 7}, torch::kLong);
  auto padded = torch::cat({ids, torch::full({1, 5}, s.pad_token_id, torch::kLong)}, 1);
  auto mask = torch::cat({torch::ones({1, 7}, torch::kLong), torch::zeros({1, 5}, torch::kLong)}, 1);
  ModelRunner runner(native);
  const auto alone = runner.logits(ids, torch::ones_like(ids), torch::zeros_like(ids));
  const auto with_padding = runner.logits(padded, mask, torch::zeros_like(padded));
  EXPECT_LE((alone - with_padding).abs().max().item<double>(), 1e-5);
}

INSTANTIATE_TEST_SUITE_P(
    Families, DecoderImport,
    ::testing::Values(
        DecoderCase{"gpt2_trace", "gpt2", "trace", "", Family::Gpt2, NormPlacement::Pre, Activation::GeluTanh, 30521,
                    true, false},
        DecoderCase{"gpt2_script", "gpt2", "script", "", Family::Gpt2, NormPlacement::Pre, Activation::GeluTanh,
                    30521, true, false},
        DecoderCase{"opt_trace", "opt", "trace", "", Family::Opt, NormPlacement::Pre, Activation::Relu, 30521, true,
                    false},
        DecoderCase{"opt_script", "opt", "script", "", Family::Opt, NormPlacement::Pre, Activation::Relu, 30521, true,
                    false},
        DecoderCase{"opt_post_ln", "opt", "trace", "--post-ln", Family::Opt, NormPlacement::Post, Activation::Relu,
                    30521, false, false},
        DecoderCase{"opt_projections", "opt", "trace", "--word-embed-proj-dim 32", Family::Opt, NormPlacement::Pre,
                    Activation::Relu, 30521, true, true}),
    [](const auto& info) { return info.param.name; });

TEST(DecoderImport, LanguageModelHeadIsRefusedWithAClearMessage) {
  auto path = test::reference_model("gpt2", "trace", "--head lm");
  ASSERT_FALSE(path.empty());
  try {
    import_model(path);
    FAIL() << "a GPT-2 LM head model was accepted as a classifier";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("no 'score' classification head"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace lwm

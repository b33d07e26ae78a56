// Import of GPT-2 and OPT sequence classifiers and of GPT-2 language models (Hugging Face names and semantics,
// exported by tools/export_reference.py) and the faithfulness of their native rebuild, on padded batches.
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
        DecoderCase{"gpt2_sdpa", "gpt2", "sdpa", "", Family::Gpt2, NormPlacement::Pre, Activation::GeluTanh, 30521,
                    true, false},
        DecoderCase{"gpt2_eager", "gpt2", "eager", "", Family::Gpt2, NormPlacement::Pre, Activation::GeluTanh,
                    30521, true, false},
        DecoderCase{"opt_sdpa", "opt", "sdpa", "", Family::Opt, NormPlacement::Pre, Activation::Relu, 30521, true,
                    false},
        DecoderCase{"opt_eager", "opt", "eager", "", Family::Opt, NormPlacement::Pre, Activation::Relu, 30521, true,
                    false},
        DecoderCase{"opt_post_ln", "opt", "sdpa", "--post-ln", Family::Opt, NormPlacement::Post, Activation::Relu,
                    30521, false, false},
        DecoderCase{"opt_projections", "opt", "sdpa", "--word-embed-proj-dim 32", Family::Opt, NormPlacement::Pre,
                    Activation::Relu, 30521, true, true}),
    [](const auto& info) { return info.param.name; });

// GPT2LMHeadModel: lm_head tied to wte, shared (as eager HF) or cloned (HF's torchscript=True).
class Gpt2LanguageModel : public ::testing::TestWithParam<std::pair<std::string, std::string>> {};

TEST_P(Gpt2LanguageModel, ImportsTiedAndRebuildsFaithfully) {
  auto path = test::reference_model("gpt2", GetParam().first, "--head lm" + GetParam().second);
  ASSERT_FALSE(path.empty());
  ImportedModel m = import_model(path);
  const ModelSpec& s = m.spec;
  EXPECT_EQ(s.family, Family::Gpt2);
  EXPECT_EQ(s.head, HeadType::LabelWords);
  EXPECT_FALSE(s.encoder_decoder);
  EXPECT_TRUE(s.names.lm_head.empty());  // tied: the LM head reads wte
  EXPECT_EQ(m.weights.count("lm_head.weight"), 0u);
  EXPECT_EQ(s.num_labels, 0);  // label words come with the task
  EXPECT_EQ(s.pad_token_id, 30521);
  auto native = build_module(s, m.weights);
  EXPECT_LE(max_logit_difference(m.module, native, s), 1e-4);  // forward(): [B, T, vocab] LM logits
  EXPECT_FALSE(native.find_method("classify"));  // no label words yet
}

INSTANTIATE_TEST_SUITE_P(Exports, Gpt2LanguageModel,
                         ::testing::Values(std::make_pair("sdpa", ""), std::make_pair("sdpa", " --clone-tied"),
                                           std::make_pair("eager", "")),
                         [](const auto& info) {
                           return std::string(info.param.first) + (info.param.second.empty() ? "_shared" : "_cloned");
                         });

// With label words, classify() is each label token's log-probability as the next token after each row's last
// attended token, from the teacher file's own LM logits; padding does not change it.
TEST(Gpt2LanguageModel, ClassifyScoresTheLabelTokensAfterTheLastToken) {
  ImportedModel m = import_model(test::reference_model("gpt2", "sdpa", "--head lm"));
  m.spec.label_tokens = {{523}, {4012}, {77}};
  m.spec.num_labels = 3;
  auto native = build_module(m.spec, m.weights);
  torch::manual_seed(5);
  auto ids = torch::randint(3, 30000, {3, 9}, torch::kLong);
  auto mask = torch::ones({3, 9}, torch::kLong);
  for (int64_t b = 1; b < 3; ++b) {
    ids[b].narrow(0, 9 - 3 * b, 3 * b).fill_(m.spec.pad_token_id);
    mask[b].narrow(0, 9 - 3 * b, 3 * b).fill_(0);
  }
  torch::NoGradGuard no_grad;
  ModelRunner runner(native);
  auto scores = runner.logits(ids, mask, torch::zeros_like(ids));
  ASSERT_EQ(scores.sizes(), (std::vector<int64_t>{3, 3}));
  auto lm = m.module.forward({ids, mask}).toTupleRef().elements()[0].toTensor();
  auto labels = torch::tensor(std::vector<int64_t>{523, 4012, 77});
  for (int64_t b = 0; b < 3; ++b) {
    const int64_t last = mask[b].sum().item<int64_t>() - 1;
    auto expected = torch::log_softmax(lm[b][last], -1).index_select(0, labels);
    EXPECT_LE((scores[b] - expected).abs().max().item<double>(), 1e-4) << "row " << b;
  }
  auto alone = runner.logits(ids[2].narrow(0, 0, 3).unsqueeze(0), torch::ones({1, 3}, torch::kLong),
                             torch::zeros({1, 3}, torch::kLong));
  EXPECT_LE((alone - scores[2]).abs().max().item<double>(), 1e-5);
  // forward() keeps the teacher's output: LM logits of every position.
  auto lm_native = native.forward({ids, mask}).toTupleRef().elements()[0].toTensor();
  EXPECT_EQ(lm_native.sizes(), lm.sizes());
  // forward_hidden() gives the same scores and the hidden states (embeddings + 2 layers) for distillation.
  auto out = native.get_method("forward_hidden")({ids, mask}).toTuple();
  EXPECT_LE((out->elements()[0].toTensor() - scores).abs().max().item<double>(), 1e-6);
  EXPECT_EQ(out->elements()[1].toTensorVector().size(), 3u);

  // The file lwm writes keeps its label words: re-imported, it classifies the same.
  const auto file = test::models_dir() / "gpt2-lm-labels.pt";
  native.save(file.string());
  ImportedModel again = import_model(file);
  EXPECT_EQ(again.spec.head, HeadType::LabelWords);
  EXPECT_EQ(again.spec.label_tokens, m.spec.label_tokens);
  EXPECT_LE((ModelRunner(again.module).logits(ids, mask, torch::zeros_like(ids)) - scores).abs().max().item<double>(), 1e-6);
}

TEST(Gpt2LanguageModel, LabelWordsOfSeveralTokensAreRefusedByTheBuilder) {
  ImportedModel m = import_model(test::reference_model("gpt2", "sdpa", "--head lm"));
  m.spec.label_tokens = {{523}, {77, 4012}};
  m.spec.num_labels = 2;
  try {
    build_module(m.spec, m.weights);
    FAIL() << "a two-token label word was accepted";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("one token per label"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace lwm

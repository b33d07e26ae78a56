// End-to-end runs of the compress binary on GPT-2 and OPT teachers and a GPT-2 language model (tiny,
// fine-tuned here on an SST-2 slice with the real GPT-2 byte-level BPE vocabulary): every pipeline stage,
// and the result loads in Python.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "test_support.h"

namespace lwm {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using test::compress;
using test::read_json;
using test::sst2;
std::string gpt2_vocab() { return (test::shared_data() / "vocab" / "gpt2").string(); }

class CliDecoder : public ::testing::TestWithParam<std::string> {};

// Layer removal + distillation + pruning of heads, FFN neurons and hidden dims + shrink + int8.
// "gpt2_lm": GPT2LMHeadModel (lm_head cloned from wte, as HF's torchscript=True writes it), classifying by
// the next-token log-probabilities of " negative" / " positive".
TEST_P(CliDecoder, CompressesEveryStageAndTheStudentLoadsInPython) {
  const bool lm = GetParam() == "gpt2_lm";
  const std::string family = lm ? "gpt2" : GetParam();
  // GPT-2's vocabulary (50257 ids, pad = <|endoftext|> = 50256) for both families.
  auto init = test::reference_model(family, "sdpa", lm ? "--vocab 50257 --head lm --clone-tied" : "--vocab 50257", 4);
  ASSERT_FALSE(init.empty());
  const fs::path dir = test::models_dir() / "e2e" / ("decoder-" + GetParam());
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string data = " --task sst2 --train " + sst2("train") + " --eval " + sst2("dev") + " --tokenizer " +
                           gpt2_vocab() + " --limit-eval 128";
  std::string out;
  const fs::path teacher = dir / "teacher.pt";
  ASSERT_EQ(compress("finetune --quiet --model " + init.string() + data +
                         " --limit-train 512 --epochs 1 --learning-rate 1e-3 --max-length 32 --out " + teacher.string(),
                     &out),
            0)
      << out;

  // inspect names what makes the family different.
  ASSERT_EQ(compress("inspect " + teacher.string(), &out), 0) << out;
  EXPECT_NE(out.find("pre-LayerNorm"), std::string::npos) << out;
  EXPECT_NE(out.find("causal attention"), std::string::npos) << out;
  EXPECT_EQ(out.find("fused Q|K|V") != std::string::npos, family == "gpt2") << out;
  EXPECT_EQ(out.find("language model") != std::string::npos, lm) << out;
  EXPECT_EQ(out.find("classify(input_ids, attention_mask) -> label scores") != std::string::npos, lm) << out;

  const fs::path student = dir / "out";
  ASSERT_EQ(compress("--quiet --model " + teacher.string() + data +
                         " --limit-train 256 --max_length 32 --keep_layers 2 --epochs 2 --learning_rate 1e-3"
                         " --prune_heads 0.5 --prune_ffn 0.5 --prune_hidden 0.25 --prune_end 0.5 --prune_frequency 2"
                         " --int8 true --latency_samples 8 --out " + student.string(),
                     &out),
            0)
      << out;
  json j = read_json(student / "report.json");
  EXPECT_EQ(j["teacher"]["spec"]["family"], family);
  EXPECT_EQ(j["teacher"]["spec"]["num_layers"], 4);
  EXPECT_EQ(j["student"]["spec"]["num_layers"], 2);
  EXPECT_EQ(j["student"]["spec"]["hidden"], 48);
  int heads = 0;
  for (const auto& layer : j["student"]["layers"]) {
    heads += layer["heads"].get<int>();
    EXPECT_LT(layer["ffn"].get<int>(), 128);
  }
  EXPECT_EQ(heads, 4);  // half of 2 layers x 4 heads
  EXPECT_TRUE(j["student"]["int8"].get<bool>());
  EXPECT_LE(j["stages"]["shrink"]["max_abs_logit_difference_vs_masked"].get<double>(), 1e-4);
  EXPECT_LT(j["relative"]["size"].get<double>(), 0.8);
  EXPECT_GT(j["student"]["measurement"]["metrics"]["accuracy"].get<double>(), 0.0);

  // Same inputs and output structure as the teacher, in Python; padded with the model's pad id.
  std::string py;
  ASSERT_EQ(test::run_command(test::python() + " " + (test::source_dir() / "tools" / "run_torchscript.py").string() +
                                  " " + (student / "model.pt").string() +
                                  " --pad-id 50256 --ids 15496,995,318,1049 --ids 40,588",
                              &py),
            0)
      << py;
  json pj = test::last_json_line(py);
  ASSERT_EQ(pj["logits"].size(), 2u);
  if (lm) {
    // forward() as the teacher's: LM logits [B, T, vocab]; classify(): [B, labels] log-probabilities.
    EXPECT_EQ(pj["logits"][0].size(), 4u);
    EXPECT_EQ(pj["logits"][0][0].size(), 50257u);
    ASSERT_EQ(pj["label_scores"].size(), 2u);
    ASSERT_EQ(pj["label_scores"][0].size(), 2u);
    EXPECT_LT(pj["label_scores"][0][0].get<double>(), 0.0);

    // The int8 file keeps its spec as JSON (lwm_spec): reloaded, it still has its label words.
    const auto& label_tokens = j["student"]["spec"]["label_tokens"];
    ASSERT_EQ(label_tokens.size(), 2u) << j["student"]["spec"].dump();
    ASSERT_EQ(compress("inspect --json " + (student / "model.pt").string(), &out), 0) << out;
    json inspected = json::parse(out.substr(out.find("{\n")));  // after what LibTorch logs loading int8
    EXPECT_TRUE(inspected["frozen_int8"].get<bool>());
    EXPECT_EQ(inspected["spec"]["label_tokens"], label_tokens);
    EXPECT_EQ(inspected["spec"]["num_labels"], 2);
    ASSERT_EQ(compress("inspect " + (student / "model.pt").string(), &out), 0) << out;
    EXPECT_NE(out.find("classify(input_ids, attention_mask) -> label scores"), std::string::npos) << out;
  } else {
    EXPECT_EQ(pj["logits"][0].size(), 2u);
  }
}

INSTANTIATE_TEST_SUITE_P(Families, CliDecoder, ::testing::Values("gpt2", "opt", "gpt2_lm"),
                         [](const auto& info) { return info.param; });

// A BERT WordPiece vocabulary pads with 0: a GPT-2 model would read that padding as text.
TEST(CliDecoderBadInput, TokenizerThatPadsWithAnotherIdIsRefused) {
  auto init = test::reference_model("gpt2", "sdpa", "--vocab 50257", 4);
  ASSERT_FALSE(init.empty());
  std::string out;
  const int code = compress("evaluate --model " + init.string() + " --task sst2 --eval " + sst2("dev") +
                                " --tokenizer " + (test::shared_data() / "vocab" / "bert-base-uncased").string(),
                            &out);
  EXPECT_EQ(code, 4) << out;
  EXPECT_NE(out.find("pads with id 0"), std::string::npos) << out;
}

// A GPT-2 language model scores one next token per label: a label word of several BPE tokens is refused.
TEST(CliDecoderBadInput, LabelWordOfSeveralTokensIsRefusedForALanguageModel) {
  auto init = test::reference_model("gpt2", "sdpa", "--vocab 50257 --head lm --clone-tied", 4);
  ASSERT_FALSE(init.empty());
  std::string out;
  const int code = compress("evaluate --model " + init.string() + " --task sst2 --eval " + sst2("dev") +
                                " --tokenizer " + gpt2_vocab() + " --label-words negative,overwhelmingly_positive",
                            &out);
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find("label word 'overwhelmingly_positive' is"), std::string::npos) << out;
  EXPECT_NE(out.find("one next token per label"), std::string::npos) << out;
}

// The text encoded for a label word is the word after the text, with its space: " negative". A word given
// with its own leading space is that same token, not a second space before it.
TEST(CliDecoderLabelWords, AWordGivenWithItsLeadingSpaceIsTheSameToken) {
  auto init = test::reference_model("gpt2", "sdpa", "--vocab 50257 --head lm --clone-tied", 4);
  ASSERT_FALSE(init.empty());
  auto dir = test::models_dir() / "label-words";
  std::filesystem::create_directories(dir);
  double accuracy[2];
  int i = 0;
  for (const char* words : {"negative,positive", "' negative, positive'"}) {
    SCOPED_TRACE(words);
    std::string out;
    const auto report = dir / (std::to_string(i) + ".json");
    const int code = compress("evaluate --quiet --model " + init.string() + " --task sst2 --eval " + sst2("dev") +
                                  " --tokenizer " + gpt2_vocab() + " --limit 64 --latency-samples 2 --label-words " +
                                  words + " --report " + report.string(),
                              &out);
    ASSERT_EQ(code, 0) << out;
    accuracy[i++] = test::read_json(report)["result"]["metrics"]["accuracy"].get<double>();
  }
  EXPECT_DOUBLE_EQ(accuracy[0], accuracy[1]);
  std::string out;
  EXPECT_EQ(compress("evaluate --model " + init.string() + " --task sst2 --eval " + sst2("dev") + " --tokenizer " +
                         gpt2_vocab() + " --label-words negative,overwhelmingly_positive",
                     &out),
            2);
  EXPECT_NE(out.find("is encoded as ' overwhelmingly_positive'"), std::string::npos) << out;
}

// Hugging Face's last-token rule depends on the transformers version that exported a classifier (spec.h,
// Pooling): inspect names the rule it read, and refuses (exit 3) a file pooling by a rule lwm does not rebuild
// (transformers before 4.32: ne(input_ids, pad).sum(-1) - 1), naming the texts it differs on.
TEST(CliDecoderPooling, InspectNamesTheRuleAndRefusesOneItCannotRebuild) {
  std::string out;
  for (const std::string rule : {"rightmost-non-pad", "before-first-pad"}) {
    auto file = test::reference_model("gpt2", "sdpa", "--vocab 50257 --pooling " + rule);
    ASSERT_FALSE(file.empty());
    ASSERT_EQ(compress("inspect --json " + file.string(), &out), 0) << out;
    json j = json::parse(out.substr(out.find("{\n")));
    EXPECT_EQ(j["spec"]["pooling"], rule);
    EXPECT_LE(j["faithful"]["max_abs_logit_difference"].get<double>(), 1e-4);
  }
  auto older = test::reference_model("gpt2", "sdpa", "--vocab 50257 --pooling count-non-pad");
  ASSERT_FALSE(older.empty());
  EXPECT_EQ(compress("inspect " + older.string(), &out), 3) << out;
  EXPECT_NE(out.find("cannot be rebuilt faithfully"), std::string::npos) << out;
  EXPECT_NE(out.find("texts holding the pad id"), std::string::npos) << out;
}

}  // namespace
}  // namespace lwm

// End to end on T5: a tiny T5ForConditionalGeneration fine-tuned here on an SST-2 slice by rank
// classification of the label words "negative"/"positive" (SentencePiece vocabulary trained on SST-2),
// then compressed through every stage; the student loads in Python with the teacher's forward and classify().
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
std::string t5_vocab() { return (test::source_dir() / "tests" / "data" / "tokenizer" / "t5" / "spiece.model").string(); }

// A task a tiny model learns in one short run: the label is which of two phrases the text holds.
void write_keyword_task(const fs::path& file, int rows, int seed) {
  static const char* fillers[] = {"the plot", "its cast", "this story", "the ending", "the music", "every scene"};
  std::ofstream out(file);
  for (int i = 0; i < rows; ++i) {
    const int label = (i * 7 + seed) % 3 == 0 ? 1 : (i + seed) % 2;
    const std::string filler = fillers[(i * 5 + seed) % 6];
    out << json{{"text", filler + (label ? " is wonderful and moving" : " is dull and tedious")}, {"label", label}}.dump()
        << "\n";
  }
}

TEST(CliT5, FinetunesByLabelWordsAndCompressesEveryStage) {
  auto init = test::reference_model("t5", "sdpa", "--vocab 8000", 4);
  ASSERT_FALSE(init.empty());
  const fs::path dir = test::models_dir() / "e2e" / "t5";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string data = " --task sst2 --train " + sst2("train") + " --eval " + sst2("dev") + " --tokenizer " +
                           t5_vocab() + " --limit-eval 200";
  std::string out;
  // Rank classification learns: the label words "false"/"true" of the generic task, from 512 examples.
  write_keyword_task(dir / "train.jsonl", 512, 0);
  write_keyword_task(dir / "dev.jsonl", 128, 1);
  const fs::path keyword_model = dir / "keyword.pt";
  const fs::path metrics = dir / "keyword.json";
  ASSERT_EQ(compress("finetune --quiet --model " + init.string() + " --task generic --train " +
                         (dir / "train.jsonl").string() + " --eval " + (dir / "dev.jsonl").string() + " --tokenizer " +
                         t5_vocab() + " --epochs 2 --learning-rate 1e-3 --max-length 16 --out " + keyword_model.string() +
                         " --metrics-out " + metrics.string(),
                     &out),
            0)
      << out;
  EXPECT_GT(read_json(metrics)["eval"]["accuracy"].get<double>(), 0.9) << out;

  // The teacher for the pipeline: fine-tuned on an SST-2 slice.
  const fs::path teacher = dir / "teacher.pt";
  ASSERT_EQ(compress("finetune --quiet --model " + init.string() + data +
                         " --limit-train 512 --epochs 1 --learning-rate 1e-3 --max-length 32 --out " + teacher.string(),
                     &out),
            0)
      << out;

  ASSERT_EQ(compress("inspect " + teacher.string(), &out), 0) << out;
  EXPECT_NE(out.find("encoder-decoder"), std::string::npos) << out;
  EXPECT_NE(out.find("4 encoder + 4 decoder layers"), std::string::npos) << out;
  EXPECT_NE(out.find("classify(input_ids, attention_mask)"), std::string::npos) << out;

  const fs::path student = dir / "out";
  ASSERT_EQ(compress("--quiet --model " + teacher.string() + data +
                         " --limit-train 256 --max_length 32 --keep_layers 2 --epochs 2 --learning_rate 1e-3"
                         " --prune_heads 0.5 --prune_ffn 0.5 --prune_hidden 0.25 --prune_end 0.5 --prune_frequency 2"
                         " --hidden_weight 0.1 --int8 true --latency_samples 8 --out " + student.string(),
                     &out),
            0)
      << out;
  json j = read_json(student / "report.json");
  EXPECT_EQ(j["teacher"]["spec"]["family"], "t5");
  EXPECT_EQ(j["teacher"]["spec"]["num_layers"], 8);
  EXPECT_EQ(j["student"]["spec"]["num_layers"], 4);  // 2 encoder + 2 decoder
  EXPECT_EQ(j["student"]["spec"]["hidden"], 48);
  EXPECT_EQ(j["student"]["spec"]["label_tokens"], j["teacher"]["spec"]["label_tokens"]);
  int heads = 0, decoder_layers = 0;
  for (const auto& layer : j["student"]["spec"]["layers"]) {
    heads += layer["heads"].get<int>() + layer.value("cross_heads", 0);
    decoder_layers += layer.value("decoder", false);
    EXPECT_LT(layer["ffn"].get<int>(), 128);
  }
  EXPECT_EQ(decoder_layers, 2);
  EXPECT_EQ(heads, 12);  // half of 4 layers x 4 self-attention heads + 2 decoder layers x 4 cross-attention heads
  EXPECT_TRUE(j["student"]["int8"].get<bool>());
  EXPECT_LE(j["stages"]["shrink"]["max_abs_logit_difference_vs_masked"].get<double>(), 1e-4);
  EXPECT_LT(j["relative"]["size"].get<double>(), 0.8);
  EXPECT_GT(j["student"]["measurement"]["metrics"]["accuracy"].get<double>(), 0.0);

  // In Python: the teacher's forward (LM logits over the vocabulary) and classify() (one score per label).
  std::string py;
  const std::string script =
      "import sys, torch; m = torch.jit.load(sys.argv[1]); ids = torch.tensor([[71, 12, 95, 1], [40, 1, 0, 0]]); "
      "mask = (ids != 0).long(); dec = torch.zeros(2, 1, dtype=torch.long); out = m(ids, mask, dec); "
      "print(tuple(out[0].shape), tuple(out[1].shape), tuple(m.classify(ids, mask).shape))";
  ASSERT_EQ(test::run_command(test::python() + " -c '" + script + "' " + (student / "model.pt").string(), &py), 0) << py;
  EXPECT_NE(py.find("(2, 1, 8000) (2, 4, 48) (2, 2)"), std::string::npos) << py;

  // The int8 student evaluates on its own (its spec and label words come from the file).
  ASSERT_EQ(compress("evaluate --model " + (student / "model.pt").string() + " --task sst2 --eval " + sst2("dev") +
                         " --tokenizer " + t5_vocab() + " --limit 50 --latency-samples 4",
                     &out),
            0)
      << out;
  EXPECT_NE(out.find("accuracy"), std::string::npos) << out;
}

TEST(CliT5BadInput, WordPieceTokenizerIsRefused) {
  auto init = test::reference_model("t5", "sdpa", "--vocab 8000", 4);
  ASSERT_FALSE(init.empty());
  std::string out;
  const int code = compress("evaluate --model " + init.string() + " --task sst2 --eval " + sst2("dev") +
                                " --tokenizer " + (test::shared_data() / "vocab" / "bert-base-uncased").string(),
                            &out);
  EXPECT_NE(code, 0) << out;
  EXPECT_NE(out.find("SentencePiece"), std::string::npos) << out;
}

}  // namespace
}  // namespace lwm

// Every family as users export it from the real transformers classes (tools/export_reference.py: transformers'
// default "sdpa" attention and "eager"), through every stage of `compress` (layer removal, distillation with
// head, FFN and hidden pruning, shrink, int8 on every projection), and the student loaded with torch.jit.load in
// Python: the same outputs there as in C++ (max |difference| <= 1e-5), forward() and, where the family scores
// label words, classify().
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "lwm/compress/quantize.h"
#include "lwm/model/graph_facts.h"
#include "test_support.h"

namespace lwm {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Ids = std::vector<int64_t>;

struct Export {
  std::string name, family, attention, args;
  std::string tokenizer;  // relative to the shared data folder, or absolute
  int64_t pad_id;
  std::vector<Ids> ids;  // two texts of different lengths (right-padded with pad_id)
  bool label_words;      // T5, GPT-2 LM: classify() too
};

std::string join(const Ids& ids) {
  std::ostringstream s;
  for (size_t i = 0; i < ids.size(); ++i) s << (i ? "," : "") << ids[i];
  return s.str();
}

// The padded batch tools/run_torchscript.py builds from the same ids: input_ids, attention_mask, and for T5 one
// decoder start token (0) per row.
std::vector<c10::IValue> inputs(const Export& e, const std::vector<std::string>& args) {
  size_t longest = 0;
  for (const auto& row : e.ids) longest = std::max(longest, row.size());
  const auto rows = static_cast<int64_t>(e.ids.size());
  auto input_ids = torch::full({rows, static_cast<int64_t>(longest)}, e.pad_id, torch::kLong);
  auto mask = torch::zeros({rows, static_cast<int64_t>(longest)}, torch::kLong);
  for (int64_t r = 0; r < rows; ++r) {
    for (size_t t = 0; t < e.ids[r].size(); ++t) {
      input_ids[r][static_cast<int64_t>(t)] = e.ids[r][t];
      mask[r][static_cast<int64_t>(t)] = 1;
    }
  }
  std::vector<c10::IValue> in{input_ids, mask};
  if (args.size() >= 3) {
    in.emplace_back(args[2] == "decoder_input_ids" ? torch::zeros({rows, 1}, torch::kLong)
                                                   : torch::zeros_like(input_ids));
  }
  return in;
}

torch::Tensor first_tensor(c10::IValue out) {
  while (out.isTuple()) out = out.toTupleRef().elements().at(0);
  if (out.isGenericDict()) out = out.toGenericDict().at("logits");
  return out.toTensor();
}

double max_difference(const torch::Tensor& cpp, const json& python) {
  const auto flat = cpp.contiguous().to(torch::kDouble).flatten();
  std::vector<double> values;
  std::function<void(const json&)> walk = [&](const json& j) {
    if (j.is_array()) {
      for (const auto& x : j) walk(x);
    } else {
      values.push_back(j.get<double>());
    }
  };
  walk(python);
  if (static_cast<int64_t>(values.size()) != flat.numel()) return std::numeric_limits<double>::infinity();
  double worst = 0;
  for (int64_t i = 0; i < flat.numel(); ++i) worst = std::max(worst, std::abs(flat[i].item<double>() - values[i]));
  return worst;
}

class HfExport : public ::testing::TestWithParam<Export> {};

TEST_P(HfExport, CompressesEveryStageAndThePythonReloadGivesTheSameOutputs) {
  const Export& e = GetParam();
  if (!fs::exists(test::shared_data())) GTEST_SKIP() << "no shared data at " << test::shared_data();
  const auto init = test::reference_model(e.family, e.attention, e.args);
  ASSERT_FALSE(init.empty()) << "export failed";
  const fs::path out = test::models_dir() / "e2e" / ("hf-" + e.name);
  fs::remove_all(out);
  const std::string tokenizer =
      fs::path(e.tokenizer).is_absolute() ? e.tokenizer : (test::shared_data() / e.tokenizer).string();
  std::string log;
  ASSERT_EQ(test::compress("--quiet --model " + init.string() + " --task sst2 --train " + test::sst2("train") +
                               " --eval " + test::sst2("dev") + " --tokenizer " + tokenizer +
                               " --limit-train 64 --limit-eval 32 --max_length 32 --batch_size 16 --keep_layers 1"
                               " --epochs 2 --prune_heads 0.5 --prune_ffn 0.5 --prune_hidden 0.25 --prune_end 0.5"
                               " --prune_frequency 1 --int8 true --int8_min_weights 1 --latency_samples 4 --out " +
                               out.string(),
                           &log),
            0)
      << log;
  const json report = test::read_json(out / "report.json");
  EXPECT_EQ(report["student"]["spec"]["hidden"], 48) << "a quarter of hidden 64 pruned";
  if (e.family == "electra") {
    // Hidden pruning cuts embeddings_project's outputs; the embedding before it keeps its 32 columns.
    EXPECT_EQ(report["student"]["spec"]["embedding_width"], 32);
  }
  EXPECT_TRUE(report["student"]["int8"].get<bool>());
  EXPECT_EQ(report["stages"]["int8"]["linear_layers_int8"], report["stages"]["int8"]["linear_layers"]);
  EXPECT_LE(report["stages"]["shrink"]["max_abs_logit_difference_vs_masked"].get<double>(), 1e-4);

  // C++: the saved student, as lwm loads it.
  select_quantized_engine();
  auto student = torch::jit::load((out / "model.pt").string());
  student.eval();
  const auto args = forward_arg_names(student);
  torch::NoGradGuard no_grad;
  const auto in = inputs(e, args);
  const torch::Tensor logits = first_tensor(student.forward(in));

  // Python: torch.jit.load of the same file, the same batch.
  std::string cmd = test::python() + " " + (test::source_dir() / "tools" / "run_torchscript.py").string() + " " +
                    (out / "model.pt").string() + " --pad-id " + std::to_string(e.pad_id);
  for (const auto& row : e.ids) cmd += " --ids " + join(row);
  std::string py;
  ASSERT_EQ(test::run_command(cmd, &py), 0) << py;
  const json pj = test::last_json_line(py);
  EXPECT_EQ(pj["forward_args"].get<std::vector<std::string>>(), args);
  EXPECT_LE(max_difference(logits, pj["logits"]), 1e-5) << py.substr(0, 2000);
  if (e.label_words) {
    ASSERT_TRUE(pj.contains("label_scores")) << py.substr(0, 2000);
    const torch::Tensor scores = student.get_method("classify")({in[0], in[1]}).toTensor();
    EXPECT_EQ(scores.size(1), 2);
    EXPECT_LE(max_difference(scores, pj["label_scores"]), 1e-5);
  }
}

std::vector<Export> exports() {
  const std::string wordpiece = "vocab/bert-base-uncased/vocab.txt", bpe = "vocab/gpt2";
  const std::string spm = (test::source_dir() / "tests" / "data" / "tokenizer" / "t5" / "spiece.model").string();
  const std::vector<Ids> bert_ids{{101, 2023, 3185, 2003, 2307, 102}, {101, 2919, 102}};
  const std::vector<Ids> bpe_ids{{15496, 995, 318, 1049}, {40, 588}};
  const std::vector<Ids> t5_ids{{71, 12, 95, 1}, {40, 1}};
  const std::string xlmr_spm =
      (test::source_dir() / "tests" / "data" / "tokenizer" / "xlm-roberta" / "sentencepiece.bpe.model").string();
  const std::vector<Ids> xlmr_ids{{0, 4, 27, 14, 1098, 2}, {0, 3079, 2}};
  std::vector<Export> out;
  for (const std::string attention : {"sdpa", "eager"}) {
    out.push_back({"bert_" + attention, "bert", attention, "", wordpiece, 0, bert_ids, false});
    out.push_back({"roberta_" + attention, "roberta", attention, "--vocab 50257", bpe, 1, bpe_ids, false});
    out.push_back({"distilbert_" + attention, "distilbert", attention, "", wordpiece, 0, bert_ids, false});
    out.push_back({"electra_" + attention, "electra", attention, "", wordpiece, 0, bert_ids, false});
    out.push_back({"xlm_roberta_" + attention, "xlm-roberta", attention, "--vocab 8002", xlmr_spm, 1, xlmr_ids, false});
    out.push_back({"gpt2_" + attention, "gpt2", attention, "--vocab 50257", bpe, 50256, bpe_ids, false});
    out.push_back({"gpt2_lm_" + attention, "gpt2", attention, "--vocab 50257 --head lm", bpe, 50256, bpe_ids, true});
    out.push_back({"opt_" + attention, "opt", attention, "--vocab 50257", bpe, 50256, bpe_ids, false});
    out.push_back({"t5_" + attention, "t5", attention, "--vocab 8000", spm, 0, t5_ids, true});
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Families, HfExport, ::testing::ValuesIn(exports()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace lwm

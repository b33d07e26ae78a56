// Inputs as users hand them over: outputs that would overwrite an input, numbers on the command line and
// in configs, the label order, and the warnings that say what a figure assumes.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "lwm/common/error.h"
#include "lwm/common/number.h"
#include "lwm/data/dataset.h"
#include "lwm/data/task.h"
#include "lwm/measure/energy.h"
#include "lwm/measure/evaluation.h"
#include "lwm/pipeline/config.h"
#include "test_support.h"

namespace lwm {
namespace {

namespace fs = std::filesystem;

fs::path scratch(const std::string& name) {
  auto dir = test::models_dir() / "inputs" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

struct CliRun {
  int code;
  std::string output;
};

// Runs compress in `cwd` (relative paths are the user's).
CliRun compress_in(const fs::path& cwd, const std::string& args) {
  CliRun r;
  r.code = test::run_command("cd '" + cwd.string() + "' && " + test::compress_binary() + " --threads 2 " + args, &r.output);
  return r;
}

void expect_one_line_error(const CliRun& r, int code, const std::string& needle) {
  EXPECT_EQ(r.code, code) << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  EXPECT_EQ(r.output.rfind("compress: error: ", 0), 0u) << r.output;
  EXPECT_NE(r.output.find(needle), std::string::npos) << r.output;
}

// ---- 1. no output may be an input: refused before any work, with or without --overwrite ----

TEST(NeverOverwriteAnInput, EveryWayAnOutputCanNameAnInputIsRefused) {
  const fs::path dir = scratch("overwrite");
  fs::create_directories(dir / "out");
  fs::create_directories(dir / "tok");
  // The guard runs before anything is read: stand-ins are enough, and must come out unchanged.
  const std::string teacher_bytes = "previous release's student\n";
  std::ofstream(dir / "out" / "model.pt") << teacher_bytes;
  std::ofstream(dir / "train.tsv") << "sentence\tlabel\nfine\t1\n";
  std::ofstream(dir / "out" / "report.json") << "{}\n";
  std::ofstream(dir / "tok" / "vocab.txt") << "[PAD]\n[UNK]\n";
  std::ofstream(dir / "tok" / "tokenizer_config.json") << "{}\n";
  fs::create_symlink(dir / "out" / "model.pt", dir / "link.pt");
  fs::create_hard_link(dir / "out" / "model.pt", dir / "hard.pt");
  fs::create_symlink(dir / "out", dir / "out-link");
  std::ofstream(dir / "other.pt") << "another teacher\n";
  const std::string data = " --task sst2 --train train.tsv --eval train.tsv --tokenizer tok ";
  struct Case {
    std::string args;
    std::string needle;
  };
  const std::vector<Case> cases = {
      {"--model out/model.pt" + data + "--out out --overwrite", "would overwrite the teacher (--model)"},
      {"--model out/model.pt" + data + "--out out", "would overwrite the teacher (--model)"},
      {"--model ./out/../out/model.pt" + data + "--out out --overwrite", "the teacher (--model)"},
      {"--model " + (dir / "out" / "model.pt").string() + data + "--out out --overwrite", "the teacher (--model)"},
      {"--model link.pt" + data + "--out out --overwrite", "the teacher (--model)"},
      {"--model hard.pt" + data + "--out out --overwrite", "the teacher (--model)"},
      {"--model hard.pt" + data + "--out out-link --overwrite", "the teacher (--model)"},
      {"--model other.pt --task sst2 --train train.tsv --eval out/report.json --tokenizer tok --out out --overwrite",
       "the eval data (--eval)"},
      {"--model other.pt --task sst2 --train out/report.json --eval train.tsv --tokenizer tok --out out",
       "the training data (--train)"},
      {"--model other.pt" + data + "--config out/report.json --out out --overwrite", "the config (--config)"},
      {"--model other.pt --task sst2 --train train.tsv --eval train.tsv --tokenizer out/report.json --out out "
       "--overwrite",
       "a tokenizer file (--tokenizer)"},
      {"evaluate --model out/model.pt --task sst2 --eval train.tsv --tokenizer tok --report train.tsv",
       "the eval data (--eval)"},
      {"evaluate --model out/model.pt --task sst2 --eval train.tsv --tokenizer tok --report tok/vocab.txt",
       "a tokenizer file (--tokenizer)"},
      {"evaluate --model out/model.pt --task sst2 --eval train.tsv --tokenizer tok --report link.pt", "the model (--model)"},
      {"finetune --model link.pt --task sst2 --train train.tsv --eval train.tsv --tokenizer tok --out hard.pt",
       "the initial model (--model)"},
      {"finetune --model train.tsv --task sst2 --train train.tsv --eval train.tsv --tokenizer tok --out m.pt "
       "--metrics-out ./m.pt",
       "are the same file"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.args);
    expect_one_line_error(compress_in(dir, c.args), 5, c.needle);
    EXPECT_EQ(slurp(dir / "out" / "model.pt"), teacher_bytes);
    EXPECT_EQ(slurp(dir / "out" / "report.json"), "{}\n");
    EXPECT_EQ(slurp(dir / "tok" / "vocab.txt"), "[PAD]\n[UNK]\n");
    EXPECT_EQ(slurp(dir / "train.tsv"), "sentence\tlabel\nfine\t1\n");
  }
  // Precise, not broad: a tokenizer folder that also holds an earlier student may be --out with --overwrite;
  // the run then gets to the (stand-in) teacher and fails there, not on the output guard.
  CliRun r = compress_in(dir, "--model other.pt --task sst2 --train train.tsv --eval train.tsv --tokenizer out "
                           "--out out --overwrite");
  EXPECT_EQ(r.code, 3) << r.output;
}

// ---- 3. numbers: one rule per option, one line naming it and the range, exit 2 ----

TEST(Numbers, InvalidValuesOnTheCommandLineGiveOneLineNamingTheOptionAndRange) {
  const fs::path dir = scratch("numbers");
  const std::string data = " --task sst2 --eval e.tsv --tokenizer t.txt";
  const std::string ft = "finetune --model m.pt --train t.tsv --out o.pt" + data;
  const std::string ev = "evaluate --model m.pt" + data;
  const std::string cp = "--model m.pt --train t.tsv --out o" + data;
  struct Case {
    std::string args;
    std::string option;
    std::string range;
  };
  const std::vector<Case> cases = {
      {ft + " --seed -1", "--seed", "an integer from 0 to"},
      {cp + " --seed -1", "--seed", "an integer from 0 to"},
      {ft + " --limit-train -1", "--limit-train", "an integer from 0 to"},
      {ev + " --limit -1", "--limit", "an integer from 0 to"},
      {cp + " --limit-eval -1", "--limit-eval", "an integer from 0 to"},
      {ev + " --threads 0", "--threads", "an integer from 1 to 1024"},
      {"--threads 0 " + ev, "--threads", "an integer from 1 to 1024"},
      {ev + " --cpu-watts -5", "--cpu-watts", "a number from 0 to 1000"},
      {cp + " --cpu-watts -5", "--cpu-watts", "a number from 0 to 1000"},
      {ev + " --batch-size -1", "--batch-size", "an integer from 1 to 65536"},
      {ft + " --batch-size 2.5", "--batch-size", "an integer from 1 to 65536"},
      {ft + " --learning-rate 0", "--learning-rate", "a number above 0 and at most 10"},
      {ft + " --learning-rate nan", "--learning-rate", "a number above 0"},
      {ft + " --epochs 1e3", "--epochs", "an integer from 1 to 10000"},
      {ev + " --max-length 1", "--max-length", "an integer from 2 to"},
      {ev + " --carbon-intensity inf", "--carbon-intensity", "a number from 0 to 2000"},
      {cp + " --prune-heads 1", "--prune-heads", "a number at least 0 and below 1"},
      {cp + " --prune_ffn=-0.1", "--prune_ffn", "a number at least 0 and below 1"},
      {cp + " --epochs 0x10", "--epochs", "an integer from 1"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.args);
    CliRun r = compress_in(dir, c.args);
    expect_one_line_error(r, 2, c.option + ": ");
    EXPECT_NE(r.output.find("must be " + c.range), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("179769"), std::string::npos) << r.output;  // no double's bound printed
  }
}

TEST(Numbers, TheSameRuleInAConfigFileAndForEveryWritingOfANumber) {
  const fs::path dir = scratch("numbers-config");
  std::ofstream(dir / "c.json") << R"({"seed": -1})";
  CliRun r = compress_in(dir, "--model m.pt --task sst2 --train t.tsv --eval e.tsv --tokenizer t.txt --config c.json --out o");
  expect_one_line_error(r, 2, "c.json: config key 'seed': -1 is not allowed: must be an integer from 0 to");
  for (const char* half : {".5", "5e-1", "0.5", "+0.5", "0.50"}) {
    SCOPED_TRACE(half);
    EXPECT_DOUBLE_EQ(load_config(std::nullopt, {{"prune-heads", half}}).prune.heads, 0.5);
  }
  // An integer key takes integers only, whichever way they come.
  EXPECT_THROW(load_config(std::nullopt, {{"epochs", "3.0"}}), UsageError);
  CompressConfig config;
  EXPECT_THROW(set_config_value(config, "epochs", nlohmann::json(3.0)), UsageError);
  EXPECT_EQ(load_config(std::nullopt, {{"epochs", "3"}}).train.epochs, 3);
  // The rule of a key is the one its command-line twin checks (finetune --learning-rate, evaluate --batch-size).
  EXPECT_EQ(config_number_rule("learning_rate").describe(), "a number above 0 and at most 10");
  EXPECT_EQ(config_number_rule("eval-batch-size").describe(), "an integer from 1 to 65536");
  EXPECT_THROW(config_number_rule("int8"), std::logic_error);
}

// Every config key is an option of the compression run (CLI11): a typo gets the nearest key, a key given to a
// sub-command is refused, and --help shows each key with its kind and range.
TEST(ConfigKeys, AreOptionsWithTypesRangesAndSuggestions) {
  const fs::path dir = scratch("config-keys");
  const std::string cp = "--model m.pt --task sst2 --train t.tsv --eval e.tsv --tokenizer t.txt --out o";
  expect_one_line_error(compress_in(dir, cp + " --lerning-rate 1e-4"), 2,
                        "unknown config key 'lerning-rate': did you mean 'learning-rate'?");
  expect_one_line_error(compress_in(dir, cp + " --keep_layrs=2"), 2, "did you mean 'keep_layers'?");
  expect_one_line_error(compress_in(dir, cp + " --int8"), 2, "--int8");
  expect_one_line_error(compress_in(dir, cp + " stray"), 2, "unexpected argument 'stray'");
  expect_one_line_error(compress_in(dir, "evaluate --model m.pt --eval e.tsv --task sst2 --tokenizer t.txt --epochs 3"), 2,
                        "unexpected argument '--epochs'");
  // '-' and '_' are the same, mixed too (named as the dashed key); "--KEY=" is an empty value, not the next word.
  expect_one_line_error(compress_in(dir, cp + " --int8-min_weights -1"), 2, "--int8-min-weights: -1 is not allowed");
  expect_one_line_error(compress_in(dir, cp + " --seed= --epochs 2"), 2, "--seed: ");
  // Given twice: the last one counts (and is checked), as a later --KEY overrides the preset.
  expect_one_line_error(compress_in(dir, cp + " --seed 1 --seed -1"), 2, "--seed: -1 is not allowed");
  CliRun help = compress_in(dir, "--help");
  ASSERT_EQ(help.code, 0) << help.output;
  for (const char* line : {"--keep-layers INT", "--learning-rate NUMBER", "--int8 BOOL", "--layers LIST",
                           "(a number at least 0 and below 1)"}) {
    EXPECT_NE(help.output.find(line), std::string::npos) << line;
  }
  EXPECT_EQ(help.output.find("--learning_rate"), std::string::npos) << "the '_' spellings are not listed twice";
}

TEST(Numbers, RuleReadsWholeDecimalNumbersOnly) {
  const auto unit = NumberRule::reals(0, 1);
  EXPECT_DOUBLE_EQ(parse_number("x", " .25 ", unit), 0.25);
  for (const char* bad : {"", "0x1", "nan", "inf", "1.5", "-0.1", "1e400", "0.5.1", "5%", "1,0"}) {
    SCOPED_TRACE(bad);
    EXPECT_THROW(parse_number("x", bad, unit), UsageError);
  }
  const auto count = NumberRule::integers(1, 8);
  EXPECT_DOUBLE_EQ(parse_number("n", "8", count), 8);
  for (const char* bad : {"0", "9", "2.0", "1e0", "-1", "18446744073709551615"}) {
    SCOPED_TRACE(bad);
    EXPECT_THROW(parse_number("n", bad, count), UsageError);
  }
  try {
    parse_number("--threads", "0", count);
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "--threads: '0' is not allowed: must be an integer from 1 to 8");
  }
}

// ---- 4. the label order ----

TEST(LabelOrder, APermutationOfTheTaskLabelsReordersClassesAndTheirWords) {
  TaskSpec mnli = with_label_order(task_by_name("mnli"), {"contradiction", "entailment", "neutral"});
  EXPECT_EQ(mnli.label_names, (std::vector<std::string>{"contradiction", "entailment", "neutral"}));
  EXPECT_EQ(mnli.label_words, (std::vector<std::string>{"contradiction", "entailment", "neutral"}));
  TaskSpec sst2 = with_label_order(task_by_name("sst2"), {"1", "0"});
  EXPECT_EQ(sst2.label_words, (std::vector<std::string>{"positive", "negative"}));
  for (const auto& bad : std::vector<std::vector<std::string>>{{"entailment", "neutral"},
                                                               {"entailment", "neutral", "neutral"},
                                                               {"entailment", "neutral", "contradictions"}}) {
    EXPECT_THROW(with_label_order(task_by_name("mnli"), bad), UsageError);
  }
  EXPECT_THROW(with_label_order(task_by_name("stsb"), {"0", "1"}), UsageError);
}

TEST(LabelOrder, DataFilesAreReadInTheModelsOrderWhateverTheLabelsLookLike) {
  const fs::path dir = scratch("labels");
  // Names (TSV), digits (TSV) and JSON integers (HF datasets' ClassLabel order) all land on the model's class.
  std::ofstream(dir / "m.tsv") << "sentence1\tsentence2\tgold_label\na\tb\tentailment\nc\td\tcontradiction\n";
  std::ofstream(dir / "m.jsonl") << R"({"sentence1": "a", "sentence2": "b", "label": 0})" << "\n"
                                 << R"({"sentence1": "c", "sentence2": "d", "label": 2})" << "\n";
  std::ofstream(dir / "s.tsv") << "sentence\tlabel\ngood\t1\nbad\t0\n";
  std::ofstream(dir / "s.jsonl") << R"({"text": "good", "label": 1})" << "\n";
  const TaskSpec mnli = with_label_order(task_by_name("mnli"), {"contradiction", "entailment", "neutral"});
  for (const char* file : {"m.tsv", "m.jsonl"}) {
    SCOPED_TRACE(file);
    Dataset d = read_dataset(dir / file, mnli);
    ASSERT_EQ(d.examples.size(), 2u);
    EXPECT_EQ(d.examples[0].label, 1);  // entailment
    EXPECT_EQ(d.examples[1].label, 0);  // contradiction
  }
  const TaskSpec sst2 = with_label_order(task_by_name("sst2"), {"1", "0"});
  EXPECT_EQ(read_dataset(dir / "s.tsv", sst2).examples[0].label, 0);
  EXPECT_EQ(read_dataset(dir / "s.tsv", sst2).examples[1].label, 1);
  EXPECT_EQ(read_dataset(dir / "s.jsonl", sst2).examples[0].label, 0);
}

TEST(LabelOrder, BelowChanceNamesTheOrderThatFits) {
  const TaskSpec mnli = task_by_name("mnli");
  // A model trained contradiction-first, read entailment-first: classes 0 and 2 swapped, 90% right otherwise.
  std::vector<int> gold, pred;
  for (int i = 0; i < 300; ++i) {
    const int g = i % 3;
    gold.push_back(g);
    const int trained = g == 0 ? 1 : g == 1 ? 2 : 0;  // contradiction, entailment, neutral -> class index
    pred.push_back(i % 10 == 0 ? (trained + 1) % 3 : trained);
  }
  const std::string w = below_chance_warning(mnli, pred, gold);
  EXPECT_NE(w.find("below chance (0.333 for 3 labels)"), std::string::npos) << w;
  EXPECT_NE(w.find("--labels contradiction,entailment,neutral it would score 0.900"), std::string::npos) << w;
  EXPECT_EQ(below_chance_warning(mnli, gold, gold), "");
  // Near chance is not below it: 0.48 on 200 binary examples is within two standard errors of 0.5.
  const TaskSpec sst2 = task_by_name("sst2");
  std::vector<int> g2(200), p2(200);
  for (int i = 0; i < 200; ++i) g2[i] = i % 2, p2[i] = i < 96 ? i % 2 : 1 - i % 2;  // 96 right, 104 wrong
  EXPECT_EQ(below_chance_warning(sst2, p2, g2), "");
  for (int i = 0; i < 200; ++i) p2[i] = i < 60 ? i % 2 : 1 - i % 2;  // 0.30
  EXPECT_NE(below_chance_warning(sst2, p2, g2).find("--labels 1,0 it would score 0.700"), std::string::npos);
}

// ---- empty texts (issue 13): a defined encoding where the family's template has one, else exit 4 ----

TEST(EmptyText, EveryFamilyEncodesItOrRefusesItNamingFileAndLine) {
  const fs::path dir = scratch("empty");
  std::ofstream(dir / "single.tsv") << "sentence\tlabel\ngood film\t1\n\t0\n";
  std::ofstream(dir / "half.tsv") << "#1 String\t#2 String\tQuality\n\tsecond only\t1\n";
  std::ofstream(dir / "pair.tsv") << "#1 String\t#2 String\tQuality\nfine\tfine\t1\n\t\t0\n";
  const std::string bert_vocab = test::bert_vocab();
  const std::string gpt2_vocab = (test::shared_data() / "vocab" / "gpt2").string();
  const std::string t5_vocab = (test::source_dir() / "tests/data/tokenizer/t5/spiece.model").string();
  struct Case {
    fs::path model;
    std::string tokenizer;
    bool refused;  // GPT-2's template adds no token around an empty text
  };
  const std::vector<Case> cases = {
      {test::reference_model("bert", "sdpa"), bert_vocab, false},
      {test::reference_model("distilbert", "sdpa"), bert_vocab, false},
      {test::reference_model("opt", "sdpa", "--vocab 50257"), gpt2_vocab, false},
      {test::reference_model("t5", "sdpa", "--vocab 8000", 4), t5_vocab, false},
      {test::reference_model("gpt2", "sdpa", "--vocab 50257"), gpt2_vocab, true},
      {test::reference_model("gpt2", "sdpa", "--vocab 50257 --head lm --clone-tied", 4), gpt2_vocab, true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.model.filename().string());
    const std::string common = " --tokenizer " + c.tokenizer + " --latency-samples 1 --max-length 16";
    CliRun single = compress_in(dir, "--quiet evaluate --model " + c.model.string() + " --task sst2 --eval single.tsv" + common);
    if (c.refused) {
      expect_one_line_error(single, 4, "single.tsv:3: the text is empty");
    } else {
      EXPECT_EQ(single.code, 0) << single.output;
    }
    if (c.refused) {  // the same rows read for distillation: refused before any training
      CliRun run = compress_in(dir, "--quiet --model " + c.model.string() + " --task sst2 --train single.tsv --eval single.tsv" +
                                        common + " --out out --epochs 1 --keep_layers 1");
      expect_one_line_error(run, 4, "single.tsv:3: the text is empty");
    }
    // Pairs, for the classifiers (the label-word models' MRPC words are not single tokens here).
    const std::string name = c.model.filename().string();
    if (name.find("t5") != std::string::npos || name.find("head_lm") != std::string::npos) continue;
    // An empty half of a pair is the other half alone; an empty pair is the empty text again.
    CliRun half = compress_in(dir, "--quiet evaluate --model " + c.model.string() + " --task mrpc --eval half.tsv" + common);
    EXPECT_EQ(half.code, 0) << half.output;
    CliRun pair = compress_in(dir, "--quiet evaluate --model " + c.model.string() + " --task mrpc --eval pair.tsv" + common);
    if (c.refused) {
      expect_one_line_error(pair, 4, "pair.tsv:3: the text is empty (both texts of the pair)");
    } else {
      EXPECT_EQ(pair.code, 0) << pair.output;
    }
  }
}

// ---- 2. a tokenizer folder's model_max_length bounds --max-length, as its vocabulary bounds the embedding ----

TEST(TokenizerFolder, ModelMaxLengthAndAddedTokensAreCheckedAgainstTheRun) {
  const fs::path dir = scratch("tokenizer-folder");
  const fs::path vocab = test::bert_vocab();
  fs::create_directories(dir / "tok");
  fs::copy_file(vocab, dir / "tok" / "vocab.txt");
  std::ofstream(dir / "tok" / "tokenizer_config.json") << R"({"do_lower_case": true, "model_max_length": 16})";
  const std::string model = test::reference_model("bert", "sdpa").string();
  const std::string run = "--quiet evaluate --model " + model + " --task sst2 --eval " + test::sst2("dev") +
                          " --limit 8 --latency-samples 1 --tokenizer tok";
  expect_one_line_error(compress_in(dir, run + " --max-length 32"), 2, "exceeds the tokenizer's model_max_length 16");
  EXPECT_EQ(compress_in(dir, run + " --max-length 16").code, 0);
  // save_pretrained's added token makes the vocabulary one larger than the embedding: refused.
  std::ofstream(dir / "tok" / "added_tokens.json") << R"({"[NEW]": 30522})";
  expect_one_line_error(compress_in(dir, run + " --max-length 16"), 4, "30523 tokens, the model's embedding has 30522");
}

// ---- 4. energy says when it cannot be trusted ----

TEST(EnergyTrust, AnOversubscribedMachineIsNamedInTheReading) {
  const fs::path dir = scratch("loadavg");
  EnergyOptions opts;
  opts.powercap_root = (dir / "no-powercap").string();
  opts.loadavg_file = (dir / "loadavg").string();
  auto read_with_load = [&](const std::string& line) {
    std::ofstream(dir / "loadavg") << line;
    EnergyMeter meter(opts);
    meter.start();
    return meter.stop();
  };
  EnergyReading busy = read_with_load("4096.00 12.0 8.0 9/800 4242\n");
  EXPECT_DOUBLE_EQ(busy.load_average_1m, 4096.0);
  EXPECT_GT(busy.cores, 0);
  EXPECT_NE(energy_trust_warning(busy).find("load average was 4096.0 on"), std::string::npos);
  EnergyReading quiet = read_with_load("0.00 0.0 0.0 1/800 4242\n");
  EXPECT_EQ(energy_trust_warning(quiet), "");
  fs::remove(dir / "loadavg");
  EnergyMeter meter(opts);
  meter.start();
  EnergyReading unknown = meter.stop();
  EXPECT_DOUBLE_EQ(unknown.load_average_1m, -1);
  EXPECT_EQ(energy_trust_warning(unknown), "");
}

}  // namespace
}  // namespace lwm

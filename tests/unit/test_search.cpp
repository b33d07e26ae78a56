// compress search: tiny searches (one or two recipes, each measured in fp32 and int8) on real SST-2 data with
// a BERT and a GPT-2 teacher: the front, the picture, best/, the exit code that gates, reuse and skipping.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <torch/script.h>

#include <fstream>

#include "lwm/common/error.h"
#include "lwm/pipeline/search.h"
#include "test_support.h"

namespace lwm {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::read_json;
using test::bert_vocab;
using test::sst2;

std::string gpt2_vocab() { return (test::shared_data() / "vocab" / "gpt2").string(); }

fs::path scratch(const std::string& name) {
  auto dir = test::models_dir() / "search" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// A 4-layer teacher fine-tuned briefly on SST-2 by `compress finetune`.
fs::path teacher(const std::string& family, const std::string& vocab, const std::string& export_args) {
  auto init = test::reference_model(family, "sdpa", export_args, 4);
  EXPECT_FALSE(init.empty());
  const fs::path out = test::models_dir() / "search" / (family + "-teacher.pt");
  if (!fs::exists(out)) {
    // Made beside it and linked into place only if no parallel test got there first: a candidate's identity
    // includes the teacher's modification time, which must not change under a test.
    fs::create_directories(out.parent_path());
    const fs::path part = out.string() + ".part" + std::to_string(::getpid()) + ".pt";
    std::string log;
    EXPECT_EQ(test::compress("finetune --quiet --model " + init.string() + " --task sst2 --train " + sst2("train") +
                                 " --eval " + sst2("dev") + " --tokenizer " + vocab +
                                 " --limit-train 512 --limit-eval 128 --epochs 1 --learning-rate 1e-3 --max-length 32 --out " +
                                 part.string(),
                             &log),
              0)
        << log;
    std::error_code ec;
    fs::create_hard_link(part, out, ec);  // fails when `out` exists: the first one stays
    fs::remove(part, ec);
  }
  return out;
}

std::string search_args(const fs::path& model, const std::string& vocab, const fs::path& out) {
  return "search --model " + model.string() + " --task sst2 --train " + sst2("train") + " --eval " + sst2("dev") +
         " --tokenizer " + vocab + " --limit-train 192 --limit-eval 64 --max-length 32 --epochs 1 --learning-rate 1e-3" +
         " --latency-samples 4 --prune-frequency 2 --out " + out.string();
}

// Width and height of a PNG, from its IHDR chunk.
std::pair<uint32_t, uint32_t> png_size(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  unsigned char h[24] = {};
  in.read(reinterpret_cast<char*>(h), sizeof h);
  const unsigned char magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (!in || !std::equal(magic, magic + 8, h)) return {0, 0};
  auto be = [&](int o) { return uint32_t(h[o]) << 24 | uint32_t(h[o + 1]) << 16 | uint32_t(h[o + 2]) << 8 | h[o + 3]; };
  return {be(16), be(20)};
}

json point(const json& pareto, const std::string& id) {
  for (const json& p : pareto["points"]) {
    if (p["id"] == id) return p;
  }
  return json();
}

TEST(Search, BertFrontPlotAndBestThenReGatedFromTheSameCandidates) {
  const fs::path model = teacher("bert", bert_vocab(), "");
  const fs::path dir = scratch("bert");
  std::string out;
  ASSERT_EQ(test::compress(search_args(model, bert_vocab(), dir) +
                               " --keep-layers 2 --sparsities 0,0.5 --min-relative-accuracy 0.5",
                           &out),
            0)
      << out;
  EXPECT_NE(out.find("chosen: L2-s"), std::string::npos) << out;
  const json pareto = read_json(dir / "pareto.json");
  // Two distillations, each measured in fp32 and int8.
  ASSERT_EQ(pareto["points"].size(), 4u) << pareto.dump(2);
  EXPECT_EQ(pareto["search"]["candidates_run"], 2);
  EXPECT_EQ(pareto["search"]["candidates_reused"], 0);
  EXPECT_TRUE(pareto["search"]["finished"].get<bool>());
  EXPECT_GT(pareto["search"]["energy_joules"].get<double>(), 0);
  // Conservative first: the dense recipe before the pruned one.
  EXPECT_EQ(pareto["search"]["order"][0]["recipe"], "L2-s0.00");
  for (const json& p : pareto["points"]) {
    for (const char* k : {"metric", "relative_accuracy", "relative_size", "relative_time", "relative_latency_batch_1",
                          "relative_emissions"}) {
      EXPECT_TRUE(p[k].is_number()) << p["id"] << " " << k;
    }
    EXPECT_GT(p["cost"]["wall_seconds"].get<double>(), 0);
    EXPECT_EQ(p["meets_targets"].get<bool>(), p["metric"].get<double>() >= 0.5 * p["teacher_metric"].get<double>());
  }
  // The pruned student is smaller than the dense one; int8 is smaller than fp32.
  EXPECT_LT(point(pareto, "L2-s0.50-fp32")["relative_size"].get<double>(),
            point(pareto, "L2-s0.00-fp32")["relative_size"].get<double>());
  EXPECT_LT(point(pareto, "L2-s0.00-int8")["absolute"]["file_bytes"].get<double>(),
            point(pareto, "L2-s0.00-fp32")["absolute"]["file_bytes"].get<double>());

  // The chosen point meets the targets and has the lowest relative emissions of those that do; it is on the front.
  ASSERT_TRUE(pareto["chosen"].is_string());
  const json chosen = point(pareto, pareto["chosen"].get<std::string>());
  EXPECT_TRUE(chosen["meets_targets"].get<bool>());
  for (const json& p : pareto["points"]) {
    if (p["meets_targets"].get<bool>()) {
      EXPECT_LE(chosen["relative_emissions"].get<double>(), p["relative_emissions"].get<double>());
    }
  }
  const json& front = pareto["front"]["relative_emissions"];
  EXPECT_NE(std::find(front.begin(), front.end(), chosen["id"]), front.end());

  // best/ is the chosen candidate's result, and it loads.
  const json best = read_json(dir / "best" / "report.json");
  EXPECT_EQ(best, read_json(fs::path(chosen["path"].get<std::string>()) / "report.json"));
  EXPECT_EQ(best["student"]["spec"]["num_layers"], 2);
  EXPECT_EQ(best["stages"]["int8"].is_null(), !chosen["recipe"]["int8"].get<bool>());
  EXPECT_NO_THROW(torch::jit::load((dir / "best" / "model.pt").string()));
  // The fp32 point is the int8 run's student before int8: its report says int8 off, and the same run cost.
  const json fp32 = read_json(dir / "candidates" / "L2-s0.50" / "fp32" / "report.json");
  const json int8 = read_json(dir / "candidates" / "L2-s0.50" / "int8" / "report.json");
  EXPECT_FALSE(fp32["config"]["int8"].get<bool>());
  EXPECT_TRUE(fp32["stages"]["int8"].is_null());
  EXPECT_EQ(fp32["compression_run"]["energy_joules"], int8["compression_run"]["energy_joules"]);
  EXPECT_EQ(fp32["student"]["measurement"]["size"]["file_bytes"],
            int8["stages"]["int8"]["fp32_student"]["size"]["file_bytes"]);

  // The picture and the table.
  const auto [width, height] = png_size(dir / "pareto.png");
  EXPECT_EQ(width, 1600u);
  EXPECT_EQ(height, 700u);
  EXPECT_GT(fs::file_size(dir / "pareto.png"), 20000u);  // drawn, not blank
  EXPECT_TRUE(fs::exists(dir / "pareto.gp"));
  std::ifstream md_in(dir / "pareto.md");
  const std::string md((std::istreambuf_iterator<char>(md_in)), std::istreambuf_iterator<char>());
  EXPECT_NE(md.find("(chosen)"), std::string::npos) << md;
  for (const json& p : pareto["points"]) EXPECT_NE(md.find(p["id"].get<std::string>()), std::string::npos);

  // Re-gated with a target nothing meets: every candidate is reused, exit 7, the front is still written, and
  // best/ no longer holds a model.
  ASSERT_EQ(test::compress(search_args(model, bert_vocab(), dir) +
                               " --keep-layers 2 --sparsities 0,0.5 --min-relative-accuracy 2",
                           &out),
            7)
      << out;
  EXPECT_NE(out.find("no candidate met the targets"), std::string::npos) << out;
  const json regated = read_json(dir / "pareto.json");
  EXPECT_EQ(regated["search"]["candidates_reused"], 2);
  EXPECT_EQ(regated["points"].size(), 4u);
  EXPECT_TRUE(regated["chosen"].is_null());
  EXPECT_FALSE(regated["front"]["relative_emissions"].empty());
  EXPECT_FALSE(fs::exists(dir / "best" / "model.pt"));
  EXPECT_TRUE(fs::exists(dir / "pareto.png"));
}

TEST(Search, ARecipeThatMissesRulesOutTheGreenerOnesItPredicts) {
  const fs::path model = teacher("bert", bert_vocab(), "");
  const fs::path dir = scratch("skip");
  std::string out;
  ASSERT_EQ(test::compress(search_args(model, bert_vocab(), dir) +
                               " --keep-layers 2 --sparsities 0,0.5 --no-int8 --no-plot --min-relative-accuracy 1.9",
                           &out),
            7)
      << out;
  const json pareto = read_json(dir / "pareto.json");
  ASSERT_EQ(pareto["points"].size(), 1u);
  EXPECT_EQ(pareto["points"][0]["id"], "L2-s0.00-fp32");
  ASSERT_EQ(pareto["not_run"].size(), 1u);
  EXPECT_EQ(pareto["not_run"][0]["recipe"], "L2-s0.50");
  EXPECT_NE(pareto["not_run"][0]["reason"].get<std::string>().find("L2-s0.00"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir / "pareto.png"));
  EXPECT_FALSE(fs::exists(dir / "best" / "model.pt"));
}

// kill -9 once the first candidate is published: the next search reuses it and runs only the rest.
TEST(Search, AKilledSearchResumesWithTheCandidatesItFinished) {
  const fs::path model = teacher("bert", bert_vocab(), "");
  const fs::path dir = scratch("killed");
  const std::string args = search_args(model, bert_vocab(), dir) +
                           " --keep-layers 2 --sparsities 0,0.5 --no-plot --min-relative-accuracy 0.5";
  const fs::path first = dir / "candidates" / "L2-s0.00" / "int8" / "report.json";
  const test::Killed k = test::run_and_kill_when("--quiet " + args, dir / "log.txt", [&] { return fs::exists(first); });
  ASSERT_TRUE(k.seen) << "no first candidate; the search log: " << (dir / "log.txt");
  const bool killed = k.signaled;

  std::string out;
  ASSERT_EQ(test::compress(args, &out), 0) << out;
  const json pareto = read_json(dir / "pareto.json");
  EXPECT_EQ(pareto["points"].size(), 4u);
  EXPECT_EQ(pareto["search"]["candidates_run"], 2);
  // The first candidate is always reused; the second too when the kill came after the search had ended.
  EXPECT_GE(pareto["search"]["candidates_reused"].get<int>(), 1);
  if (killed) {
    EXPECT_NE(out.find("L2-s0.00 reused"), std::string::npos) << out;
  }
  EXPECT_TRUE(fs::exists(dir / "best" / "model.pt"));
}

TEST(Search, Gpt2DecoderSearchWritesItsFrontAndBest) {
  const fs::path model = teacher("gpt2", gpt2_vocab(), "--vocab 50257");
  const fs::path dir = scratch("gpt2");
  std::string out;
  ASSERT_EQ(test::compress(search_args(model, gpt2_vocab(), dir) +
                               " --keep-layers 2 --sparsities 0.25 --min-relative-accuracy 0.5 --objective latency-batch-1",
                           &out),
            0)
      << out;
  const json pareto = read_json(dir / "pareto.json");
  ASSERT_EQ(pareto["points"].size(), 2u);
  EXPECT_EQ(pareto["teacher"]["spec_family"], "gpt2");
  EXPECT_EQ(pareto["search"]["objective_key"], "relative_latency_batch_1");
  const json best = read_json(dir / "best" / "report.json");
  EXPECT_EQ(best["student"]["spec"]["family"], "gpt2");
  EXPECT_EQ(png_size(dir / "pareto.png").first, 1600u);
}

TEST(Search, BadSearchesAreOneLineBeforeAnyWork) {
  const fs::path model = test::reference_model("bert", "sdpa", "", 4);
  ASSERT_FALSE(model.empty());
  const fs::path dir = scratch("bad");
  const std::string base = search_args(model, bert_vocab(), dir);
  struct Case {
    std::string args;
    int code;
    std::string says;
  };
  for (const Case& c : std::vector<Case>{
           {" --min-relative-accuracy 0.9 --budget 2x", 2, "--budget"},
           {" --min-relative-accuracy 0.9 --objective speed", 2, "--objective"},
           {" --min-relative-accuracy 0.9 --sparsities 1.5", 2, "--sparsities"},
           {" --min-relative-accuracy 0.9 --keep-layers 9", 2, "the teacher has 4 layers"},
           {" --min-relative-accuracy 0.9 --lerning-rate 1", 2, "did you mean"},
           {"", 2, "--min-relative-accuracy"},
           {" --min-relative-accuracy 0.9 --prune-heads 0.5", 2, "search sets it per recipe"},
           {" --min-relative-accuracy 0.9 --int8 true", 2, "search sets it per recipe"},
       }) {
    std::string out;
    EXPECT_EQ(test::compress(base + c.args, &out), c.code) << c.args << ": " << out;
    EXPECT_NE(out.find(c.says), std::string::npos) << c.args << ": " << out;
    EXPECT_FALSE(fs::exists(dir / "candidates")) << c.args;
  }
  // Without gnuplot a picture cannot be drawn: said before any work, exit 5 (--no-plot would go on).
  std::string out;
  EXPECT_EQ(test::run_command("env PATH=/nonexistent " + test::compress_binary() + " --threads 2 " + base +
                                  " --min-relative-accuracy 0.9",
                              &out),
            5)
      << out;
  EXPECT_NE(out.find("gnuplot"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(dir / "candidates"));
}

// The reference study's findings as the default space: fewer layers removed and less pruning with few data and
// for T5.
TEST(Search, DefaultSpaceFollowsTheStudysPriors) {
  const SearchSpace big = default_search_space(Family::Bert, 12, 67349);
  EXPECT_EQ(big.keep_layers, (std::vector<int>{8, 6, 4}));
  EXPECT_EQ(big.sparsities, (std::vector<double>{0.0, 0.3, 0.6}));
  const SearchSpace few = default_search_space(Family::Bert, 12, 2490);  // RTE
  EXPECT_EQ(few.keep_layers, (std::vector<int>{10, 8, 6}));
  EXPECT_EQ(few.sparsities, (std::vector<double>{0.0, 0.3}));
  EXPECT_NE(few.rule.find("10,000"), std::string::npos);
  EXPECT_EQ(default_search_space(Family::T5, 12, 67349).keep_layers, (std::vector<int>{10, 8, 6}));
  EXPECT_EQ(default_search_space(Family::T5, 12, 2490).keep_layers, (std::vector<int>{10, 8}));
  EXPECT_EQ(default_search_space(Family::T5, 12, 67349).sparsities, (std::vector<double>{0.0, 0.3}));
  EXPECT_EQ(default_search_space(Family::Gpt2, 12, 67349).sparsities, big.sparsities);
  // Tiny teachers: distinct counts, never 0.
  EXPECT_EQ(default_search_space(Family::Bert, 2, 67349).keep_layers, (std::vector<int>{1}));
  EXPECT_EQ(default_search_space(Family::Bert, 4, 67349).keep_layers, (std::vector<int>{3, 2, 1}));
}

TEST(Search, FrontBudgetAndObjectiveWords) {
  const json points = json::parse(R"([
    {"id": "a", "metric": 0.90, "relative_emissions": 0.5},
    {"id": "b", "metric": 0.85, "relative_emissions": 0.3},
    {"id": "c", "metric": 0.80, "relative_emissions": 0.4},
    {"id": "d", "metric": 0.90, "relative_emissions": 0.6},
    {"id": "e", "metric": null, "relative_emissions": 0.1},
    {"id": "f", "metric": 0.85, "relative_emissions": 0.3}])");
  // c is beaten by b on both; d by a on emissions at equal accuracy; e has no metric; b and f tie (both stay).
  EXPECT_EQ(pareto_front(points, "relative_emissions"), (std::vector<size_t>{0, 1, 5}));
  EXPECT_DOUBLE_EQ(parse_budget("2h"), 7200);
  EXPECT_DOUBLE_EQ(parse_budget("1h30m"), 5400);
  EXPECT_DOUBLE_EQ(parse_budget("90m"), 5400);
  EXPECT_DOUBLE_EQ(parse_budget("45s"), 45);
  EXPECT_DOUBLE_EQ(parse_budget("600"), 600);
  EXPECT_DOUBLE_EQ(parse_budget("0.5h"), 1800);
  for (const char* bad : {"", "2x", "-1h", "h", "1h30", "inf", " 5", "1h 30m", "nan"}) {
    EXPECT_THROW(parse_budget(bad), UsageError) << bad;
  }
  EXPECT_EQ(search_objective_from_string("latency-batch-1"), SearchObjective::LatencyBatch1);
  EXPECT_EQ(to_string(search_objective_from_string("size")), "size");
  EXPECT_THROW(search_objective_from_string("co2"), UsageError);
}

}  // namespace
}  // namespace lwm

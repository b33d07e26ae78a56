#pragma once
// compress search: compress one teacher with several recipes (layers kept x structured sparsity, each
// measured in fp32 and int8), and pick the greenest student that meets the user's targets, with the measured
// Pareto front of relative accuracy against the objective. Schema of pareto.json in docs/search.md.
//
// Every point is measured by a full compression run (run_compress), its teacher timed in the same process;
// the size model below only orders the work. One distillation yields two points: the int8 student and the
// same student in fp32 (CompressArgs::fp32_out). Candidates live in DIR/candidates/<recipe>/ and are reused
// when the search runs again over the same inputs and base config (a killed search resumes; a finished one
// re-gates at once with other targets).
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "lwm/common/family.h"
#include "lwm/pipeline/pipeline.h"

namespace lwm {

// What the chosen model minimises, among those that meet every target; each is a student / teacher ratio of
// the same run (report.json "relative"): emissions per 1,000 inferences, batch-1 median latency, eval-pass
// time, file size.
enum class SearchObjective { Emissions, LatencyBatch1, Latency, Size };
std::string to_string(SearchObjective o);
// "emissions", "latency-batch-1", "latency", "size"; UsageError for another word.
SearchObjective search_objective_from_string(const std::string& word);

// A time budget: "2h", "90m", "45s", "1h30m" or plain seconds ("5400"). UsageError for anything else.
double parse_budget(const std::string& text);

// One recipe: which layers stay, how much structured sparsity (the same fraction of heads, FFN neurons and
// hidden dimensions), int8 or not.
struct SearchRecipe {
  int keep_layers = 0;  // per stack (an encoder-decoder keeps this many in each)
  double sparsity = 0;  // [0, 1)
  std::string id() const;  // "L4-s0.30": the candidate's directory name
};

struct SearchArgs {
  // Teacher, data, tokenizer, labels, limits, quiet, checkpoint_every, and the base config (training keys:
  // epochs, learning rate, layer strategy, ...); its layer, pruning and int8 keys are set per recipe. `out` is
  // the search directory.
  CompressArgs base;
  double min_relative_accuracy = 0;  // above 0 (required): report.json's min_relative_accuracy rule
  double max_relative_time = 0;      // 0: none; else relative eval-pass time must not exceed it
  double max_relative_size = 0;      // 0: none; else relative file size must not exceed it
  SearchObjective objective = SearchObjective::Emissions;
  double budget_seconds = 0;         // 0: none. No candidate starts that would end past it (estimated from
                                     // the candidates timed so far); time of earlier processes counts too
  std::vector<int> keep_layers;      // empty: default_search_space()'s
  std::vector<double> sparsities;    // empty: default_search_space()'s
  bool int8 = true;                  // each distillation also measured with int8
  bool plot = true;                  // pareto.png with gnuplot
};

// The space searched when the user names none: the reference study's findings as priors (whitepaper, "Model-specific
// trends": with under 10,000 training examples accuracy falls as pruning rises, so few layers should go; T5, a
// generative model, loses the most accuracy, even with few layers removed). Layer counts are round(fraction x
// the teacher's layers per stack), distinct, at least 1:
//   >= 10,000 examples: fractions 2/3, 1/2, 1/3; sparsities 0, 0.3, 0.6
//   <  10,000 examples: fractions 5/6, 2/3, 1/2; sparsities 0, 0.3
//   T5:                 fractions 5/6, 2/3, 1/2 (5/6, 2/3 under 10,000 examples); sparsities 0, 0.3
// (The study also advised against matrix pruning for GPT-2, whose fused Q|K|V its pruning disordered; lwm prunes a
// fused head's Q, K and V rows together (model/tensor_inventory.h, Axis::FusedHeads), so GPT-2 keeps the default.)
struct SearchSpace {
  std::vector<int> keep_layers;
  std::vector<double> sparsities;
  std::string rule;  // which row above, for pareto.json
};
SearchSpace default_search_space(Family family, int layers_per_stack, size_t train_examples);

struct SearchOutcome {
  nlohmann::json pareto;  // what pareto.json holds
  bool found = false;     // a candidate met every target (then DIR/best/ holds it)
};

// Writes DIR/pareto.json, DIR/pareto.md, DIR/pareto.png (unless !plot) and, when a candidate meets the targets,
// DIR/best/{model.pt,report.json} (a copy of the chosen candidate's result; a stale best/ is removed when none
// meets them). pareto.json and pareto.md are rewritten after every candidate, so a killed search leaves the front
// of what it measured. Throws UsageError for a bad space or target (before any work), OutputError when gnuplot
// is missing and a plot is asked for (before any work) or an output cannot be written, and what run_compress
// throws for bad inputs.
SearchOutcome run_search(const SearchArgs& args);

// A few lines for people: points measured, the chosen model's ratios (or the targets none met), the front of
// the objective, and where the outputs are.
std::string search_summary(const nlohmann::json& pareto, const std::filesystem::path& dir);

// The Pareto front over points with "metric" (the student's primary metric, higher is better: all points share
// one teacher and eval set, so it orders them as relative accuracy does, and is defined where a ratio is not)
// and `key` (lower is better): indices of the points no other point beats on one and equals or beats on the
// other. Points where either is not a number are never on it.
std::vector<size_t> pareto_front(const nlohmann::json& points, const std::string& key);

}  // namespace lwm

#include "lwm/pipeline/search.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <optional>
#include <set>

#include "lwm/common/atomic_file.h"
#include "lwm/common/directory_lock.h"
#include "lwm/common/error.h"
#include "lwm/common/input_guard.h"
#include "lwm/common/publish.h"
#include "lwm/compress/layer_removal.h"
#include "lwm/data/dataset.h"
#include "lwm/data/tokenizer_files.h"
#include "lwm/measure/energy.h"
#include "lwm/model/importer.h"
#include "lwm/model/tensor_inventory.h"
#include "lwm/pipeline/checkpoint.h"
#include "lwm/pipeline/pareto_plot.h"
#include "lwm/pipeline/report.h"
#include "lwm/train/progress.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace lwm {

std::string to_string(SearchObjective o) {
  switch (o) {
    case SearchObjective::Emissions: return "emissions";
    case SearchObjective::LatencyBatch1: return "latency-batch-1";
    case SearchObjective::Latency: return "latency";
    case SearchObjective::Size: return "size";
  }
  return "?";
}

SearchObjective search_objective_from_string(const std::string& word) {
  for (auto o : {SearchObjective::Emissions, SearchObjective::LatencyBatch1, SearchObjective::Latency,
                 SearchObjective::Size}) {
    if (to_string(o) == word) return o;
  }
  throw UsageError("--objective '" + word + "': must be emissions, latency-batch-1, latency or size");
}

double parse_budget(const std::string& text) {
  const std::string bad = "--budget '" + text + "': give a duration such as 2h, 90m, 45s, 1h30m or seconds";
  if (text.empty()) throw UsageError(bad);
  double total = 0;
  size_t i = 0;
  bool unit_seen = false;
  while (i < text.size()) {
    size_t used = 0;
    double value = 0;
    try {
      value = std::stod(text.substr(i), &used);
    } catch (const std::exception&) {
      throw UsageError(bad);
    }
    if (used == 0 || !std::isfinite(value) || value < 0 || text[i] == '+' || text[i] == '-' || text[i] == ' ') {
      throw UsageError(bad);
    }
    i += used;
    if (i == text.size()) {
      if (unit_seen) throw UsageError(bad);  // "1h30": a unit is needed after the first
      return total + value;
    }
    const char unit = text[i++];
    const double scale = unit == 'h' ? 3600 : unit == 'm' ? 60 : unit == 's' ? 1 : -1;
    if (scale < 0) throw UsageError(bad);
    total += value * scale;
    unit_seen = true;
  }
  return total;
}

SearchSpace default_search_space(Family family, int layers_per_stack, size_t train_examples) {
  const bool few = train_examples < 10000;
  const bool t5 = family == Family::T5;
  SearchSpace space;
  std::vector<double> fractions;
  if (t5) {
    fractions = few ? std::vector<double>{5.0 / 6.0, 2.0 / 3.0} : std::vector<double>{5.0 / 6.0, 2.0 / 3.0, 1.0 / 2.0};
    space.sparsities = {0.0, 0.3};
    space.rule = few ? "T5 with under 10,000 training examples: few layers removed, little pruning"
                     : "T5: fewer layers removed and less pruning than other families";
  } else if (few) {
    fractions = {5.0 / 6.0, 2.0 / 3.0, 1.0 / 2.0};
    space.sparsities = {0.0, 0.3};
    space.rule = "under 10,000 training examples: few layers removed, little pruning";
  } else {
    fractions = {2.0 / 3.0, 1.0 / 2.0, 1.0 / 3.0};
    space.sparsities = {0.0, 0.3, 0.6};
    space.rule = "10,000 training examples or more";
  }
  for (double f : fractions) {
    const int k = std::max(1, static_cast<int>(std::lround(f * layers_per_stack)));
    if (std::find(space.keep_layers.begin(), space.keep_layers.end(), k) == space.keep_layers.end()) {
      space.keep_layers.push_back(k);
    }
  }
  return space;
}

std::string SearchRecipe::id() const { return fmt::format("L{}-s{:.2f}", keep_layers, sparsity); }

std::vector<size_t> pareto_front(const json& points, const std::string& key) {
  std::vector<size_t> front;
  auto usable = [&](const json& p) {
    return p.contains("metric") && p.contains(key) && p.at("metric").is_number() && p.at(key).is_number();
  };
  for (size_t i = 0; i < points.size(); ++i) {
    if (!usable(points[i])) continue;
    const double a = points[i].at("metric").get<double>(), c = points[i].at(key).get<double>();
    bool dominated = false;
    for (size_t j = 0; j < points.size() && !dominated; ++j) {
      if (j == i || !usable(points[j])) continue;
      const double aj = points[j].at("metric").get<double>(), cj = points[j].at(key).get<double>();
      dominated = (aj >= a && cj <= c) && (aj > a || cj < c);
    }
    if (!dominated) front.push_back(i);
  }
  return front;
}

namespace {

// pareto.json's key for an objective: a student / teacher ratio of the candidate's own run.
std::string objective_key(SearchObjective o) {
  switch (o) {
    case SearchObjective::Emissions: return "relative_emissions";
    case SearchObjective::LatencyBatch1: return "relative_latency_batch_1";
    case SearchObjective::Latency: return "relative_time";
    case SearchObjective::Size: return "relative_size";
  }
  return "relative_emissions";
}

void validate(const SearchArgs& a) {
  if (!(a.min_relative_accuracy > 0 && a.min_relative_accuracy <= 10)) {
    throw UsageError(fmt::format("--min-relative-accuracy {}: must be above 0 (and at most 10)", a.min_relative_accuracy));
  }
  for (double limit : {a.max_relative_time, a.max_relative_size}) {
    if (!(limit >= 0 && std::isfinite(limit))) throw UsageError("--max-relative-time/-size must be 0 (none) or above");
  }
  if (!(a.budget_seconds >= 0 && std::isfinite(a.budget_seconds))) throw UsageError("--budget must be 0 (none) or above");
  for (double s : a.sparsities) {
    if (!(s >= 0 && s <= 0.95)) throw UsageError(fmt::format("--sparsities: {} is outside [0, 0.95]", s));
  }
  for (int k : a.keep_layers) {
    if (k < 1) throw UsageError(fmt::format("--keep-layers: {} must be 1 or more", k));
  }
}

// Parameters of the teacher outside its layers, and in each layer (tensor_inventory order).
struct SizeModel {
  double outside = 0;
  std::vector<double> per_layer;
  double total() const {
    double t = outside;
    for (double p : per_layer) t += p;
    return t;
  }
};

SizeModel size_model(const ImportedModel& teacher) {
  SizeModel m;
  m.per_layer.assign(static_cast<size_t>(teacher.spec.num_layers()), 0.0);
  for (const InventoryTensor& t : tensor_inventory(teacher.spec)) {
    auto it = teacher.weights.find(t.module + "." + t.leaf);
    if (it == teacher.weights.end()) continue;
    const double n = static_cast<double>(it->second.numel());
    if (t.layer < 0) {
      m.outside += n;
    } else {
      m.per_layer[static_cast<size_t>(t.layer)] += n;
    }
  }
  return m;
}

struct Candidate {
  SearchRecipe recipe;
  std::vector<int> kept;         // teacher layer indices
  double predicted_size = 1;     // parameters kept / the teacher's (embedding x (1-s), layers x (1-s)^2)
  double predicted_compute = 1;  // layer parameters kept / the teacher's: what per-token time follows
  CompressConfig config;
};

fs::path candidate_dir(const SearchArgs& a, const SearchRecipe& r) { return a.base.out / "candidates" / r.id(); }
fs::path result_dir(const SearchArgs& a, const SearchRecipe& r, bool int8) {
  return candidate_dir(a, r) / (int8 ? "int8" : "fp32");
}

// What makes a candidate's result this search's: its recipe's full config and the inputs (the teacher by
// path, size and modification time).
json file_identity(const fs::path& p) {
  std::error_code ec;
  const auto size = fs::file_size(p, ec);
  const auto mtime = fs::last_write_time(p, ec).time_since_epoch().count();
  return {{"path", fs::absolute(p).string()}, {"bytes", ec ? 0 : size}, {"mtime", ec ? 0 : mtime}};
}

json candidate_identity(const SearchArgs& a, const Candidate& c) {
  json tokenizer = json::array();
  for (const fs::path& f : tokenizer_input_files(a.base.tokenizer)) tokenizer.push_back(file_identity(f));
  return {{"config", c.config.to_json()},
          {"int8_variant", a.int8},
          {"teacher", file_identity(a.base.model)},
          {"task", a.base.task},
          {"train", file_identity(a.base.train)},
          {"eval", file_identity(a.base.eval)},
          {"tokenizer", tokenizer},
          {"limit_train", a.base.limit_train},
          {"limit_eval", a.base.limit_eval},
          {"labels", a.base.labels},
          {"label_words", a.base.label_words}};
}

json read_json_file(const fs::path& path) {
  std::ifstream in(path);
  try {
    return json::parse(in);
  } catch (const json::exception&) {
    return json();
  }
}

// One measured point of a candidate's report.json.
json make_point(const SearchArgs& a, const Candidate& c, bool int8, const json& report) {
  const json& rel = report.at("relative");
  const json& sm = report.at("student").at("measurement");
  const json& tm = report.at("teacher").at("measurement");
  const std::string metric = rel.at("metric").get<std::string>();
  const double student = sm.at("metrics").at(metric).get<double>(), teacher = tm.at("metrics").at(metric).get<double>();
  json p;
  p["id"] = c.recipe.id() + (int8 ? "-int8" : "-fp32");
  p["recipe"] = {{"keep_layers", c.recipe.keep_layers},
                 {"kept_teacher_layers", c.kept},
                 {"layer_strategy", c.config.to_json()["layer_strategy"]},
                 {"sparsity", c.recipe.sparsity},
                 {"int8", int8}};
  p["path"] = result_dir(a, c.recipe, int8).string();
  p["metric_name"] = metric;
  p["metric"] = student;
  p["teacher_metric"] = teacher;
  p["relative_accuracy"] = rel.at("accuracy");
  for (const char* k : {"size", "time", "latency_batch_1", "latency_eval_batch", "emissions", "energy"}) {
    p[std::string("relative_") + k] = rel[k];
  }
  p["absolute"] = {{"file_bytes", sm.at("size").at("file_bytes")},
                   {"parameters", sm.at("size").at("parameters")},
                   {"latency_batch_1_ms", sm.at("latency").at("batch_1").at("median_ms")},
                   {"latency_eval_batch_ms", sm.at("latency").at("eval_batch").at("median_ms")},
                   {"joules_per_1000_inferences", sm.at("energy").at("joules_per_1000_inferences")},
                   {"co2_grams_per_1000_inferences", sm.at("co2").at("grams_per_1000_inferences")}};
  p["teacher"] = {{"file_bytes", tm.at("size").at("file_bytes")},
                  {"latency_batch_1_ms", tm.at("latency").at("batch_1").at("median_ms")},
                  {"co2_grams_per_1000_inferences", tm.at("co2").at("grams_per_1000_inferences")}};
  const json& run = report.at("compression_run");
  p["cost"] = {{"wall_seconds", run.at("wall_seconds")},
               {"energy_joules", run.at("energy_joules")},
               {"co2_grams", run.at("co2_grams")},
               {"note", a.int8 ? "one distillation made both the fp32 and the int8 point: the cost is theirs together"
                               : "this point's own distillation"}};
  p["break_even_inferences"] = run.at("break_even").at("inferences");
  // The targets, by the rules report.json's checks use (lwm/pipeline/report.h).
  json missed = json::array();
  if (!meets_min_relative(teacher, student, a.min_relative_accuracy)) missed.push_back("min_relative_accuracy");
  if (a.max_relative_time > 0 && !(rel.at("time").get<double>() <= a.max_relative_time)) missed.push_back("max_relative_time");
  if (a.max_relative_size > 0 && !(rel.at("size").get<double>() <= a.max_relative_size)) missed.push_back("max_relative_size");
  p["missed"] = missed;
  p["meets_targets"] = missed.empty();
  return p;
}

// The training examples a candidate distils on (the file's rows, at most --limit-train): what the priors ask.
size_t training_examples(const SearchArgs& a) {
  TaskSpec task = task_by_name(a.base.task);
  try {
    return read_dataset(a.base.train, task, a.base.limit_train).examples.size();
  } catch (const DataError&) {
    return 0;  // a label order of --labels the plain reader does not know: run_compress reports real errors
  }
}

std::vector<Candidate> plan(const SearchArgs& a, const ImportedModel& teacher, json& space_rule) {
  const ModelSpec& spec = teacher.spec;
  const int stack = spec.num_encoder_layers();
  std::vector<int> counts = a.keep_layers;
  std::vector<double> levels = a.sparsities;
  if (counts.empty() || levels.empty()) {
    const size_t examples = training_examples(a);
    const SearchSpace prior = default_search_space(spec.family, stack, examples);
    if (counts.empty()) counts = prior.keep_layers;
    if (levels.empty()) levels = prior.sparsities;
    space_rule = {{"rule", prior.rule}, {"training_examples", examples}};
  }
  std::sort(counts.begin(), counts.end(), std::greater<>());
  counts.erase(std::unique(counts.begin(), counts.end()), counts.end());
  std::sort(levels.begin(), levels.end());
  // Levels are named to two decimals (the candidate's directory): two that round alike are one.
  levels.erase(std::unique(levels.begin(), levels.end(),
                           [](double x, double y) { return SearchRecipe{1, x}.id() == SearchRecipe{1, y}.id(); }),
               levels.end());

  const SizeModel size = size_model(teacher);
  double layer_total = 0;
  for (double p : size.per_layer) layer_total += p;
  std::vector<Candidate> out;
  for (int k : counts) {
    if (k > stack) {
      throw UsageError(fmt::format("--keep-layers {}: the teacher has {} layers{}", k, stack,
                                   spec.encoder_decoder ? " per stack" : ""));
    }
    for (double s : levels) {
      Candidate c;
      c.recipe = {k, s};
      c.config = a.base.config;
      c.config.keep_layers = k;
      c.config.layers.clear();
      if (c.config.layer_strategy == LayerStrategy::Explicit) c.config.layer_strategy = LayerStrategy::Top;
      c.config.prune = PruneTargets{s, s, s};
      c.config.int8 = a.int8;
      c.config.min_relative_accuracy = c.config.max_relative_size = c.config.max_relative_time = 0;
      c.kept = select_model_layers(spec, k, 0, c.config.layer_strategy, {});
      double kept_params = 0;
      for (int l : c.kept) kept_params += size.per_layer[static_cast<size_t>(l)];
      c.predicted_size = (size.outside * (1 - s) + kept_params * (1 - s) * (1 - s)) / size.total();
      c.predicted_compute = layer_total > 0 ? kept_params * (1 - s) * (1 - s) / layer_total : c.predicted_size;
      out.push_back(c);
    }
  }
  // Most conservative first (largest predicted cost), greener ones after: the first candidates are the likeliest
  // to meet the targets, so a budget that runs out still leaves a model, and each one that misses the accuracy
  // target rules out the greener recipes it predicts to miss too (run_search).
  const bool by_size = a.objective == SearchObjective::Size;
  std::stable_sort(out.begin(), out.end(), [&](const Candidate& x, const Candidate& y) {
    return by_size ? x.predicted_size > y.predicted_size : x.predicted_compute > y.predicted_compute;
  });
  return out;
}

// Copies the chosen result into DIR/best/ as a unit; removes a stale one when nothing was chosen.
void publish_best(const fs::path& dir, const std::optional<fs::path>& chosen) {
  const fs::path best = dir / "best";
  std::error_code ec;
  if (!chosen) {
    if (fs::exists(best, ec)) {
      DirectoryLock lock(best);
      recover_publish(best);
      for (const char* f : {"model.pt", "report.json"}) fs::remove(best / f, ec);
    }
    return;
  }
  fs::create_directories(best, ec);
  if (ec) throw OutputError(best.string() + ": cannot create: " + ec.message());
  DirectoryLock lock(best);
  recover_publish(best);
  std::vector<StagedFile> files;
  for (const char* f : {"model.pt", "report.json"}) {
    const fs::path staged = best / (std::string(".") + f + ".staged");
    fs::remove(staged, ec);
    fs::copy_file(*chosen / f, staged, fs::copy_options::overwrite_existing, ec);
    if (ec) throw OutputError((best / f).string() + ": cannot write: " + ec.message());
    sync_file(staged);
    files.push_back({staged, best / f});
  }
  publish_together(files);
}

std::string fmt_ratio(const json& v) { return v.is_number() ? fmt::format("{:.3f}", v.get<double>()) : "n/a"; }

std::string markdown(const json& pareto) {
  const json& s = pareto["search"];
  std::string md = "# compress search\n\n";
  md += fmt::format("Teacher `{}` on {} ({} = {:.4f}). Objective: **{}** (lowest {}, student / teacher of the same run). "
                    "Targets: {}.\n\n",
                    pareto["teacher"]["path"].get<std::string>(), pareto["teacher"]["task"].get<std::string>(),
                    pareto["teacher"]["metric_name"].get<std::string>(), pareto["teacher"]["metric"].get<double>(),
                    s["objective"].get<std::string>(), s["objective_key"].get<std::string>(), s["targets_text"].get<std::string>());
  if (pareto["chosen"].is_null()) {
    md += "**No candidate meets the targets** (exit 7).\n\n";
  } else {
    md += fmt::format("**Chosen: {}** (copied to `best/`).\n\n", pareto["chosen"].get<std::string>());
  }
  md += "Every row was measured by its own compression run (teacher timed in the same process); ratios are "
        "student / teacher, teacher = 1.0. Front: on the Pareto front of accuracy against the objective.\n\n";
  md += "| candidate | layers | sparsity | int8 | " + pareto["teacher"]["metric_name"].get<std::string>() +
        " | rel. accuracy | rel. size | rel. time (eval) | rel. latency b1 | rel. CO2 / 1k inf. | gCO2e / 1k inf. | "
        "make: s / J | break-even inferences | targets | front |\n";
  md += "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  std::set<std::string> front;
  for (const auto& id : pareto["front"][s["objective_key"].get<std::string>()]) front.insert(id.get<std::string>());
  for (const json& p : pareto["points"]) {
    const std::string id = p["id"].get<std::string>();
    const bool chosen = pareto["chosen"] == id;
    md += fmt::format(
        "| {}{} | {} | {:.2f} | {} | {:.4f} | {} | {} | {} | {} | {} | {:.3g} | {:.1f} / {:.1f} | {} | {} | {} |\n",
        chosen ? "**" + id + "**" : id, chosen ? " (chosen)" : "", p["recipe"]["keep_layers"].get<int>(),
        p["recipe"]["sparsity"].get<double>(), p["recipe"]["int8"].get<bool>() ? "yes" : "no", p["metric"].get<double>(),
        fmt_ratio(p["relative_accuracy"]), fmt_ratio(p["relative_size"]), fmt_ratio(p["relative_time"]),
        fmt_ratio(p["relative_latency_batch_1"]), fmt_ratio(p["relative_emissions"]),
        p["absolute"]["co2_grams_per_1000_inferences"].get<double>(), p["cost"]["wall_seconds"].get<double>(),
        p["cost"]["energy_joules"].get<double>(),
        p["break_even_inferences"].is_number() ? std::to_string(p["break_even_inferences"].get<int64_t>()) : "never",
        p["meets_targets"].get<bool>() ? "met" : "missed", front.count(id) ? "yes" : "");
  }
  if (!pareto["not_run"].empty()) {
    md += "\nNot run:\n\n";
    for (const json& n : pareto["not_run"]) {
      md += fmt::format("- {}: {}\n", n["recipe"].get<std::string>(), n["reason"].get<std::string>());
    }
  }
  md += fmt::format("\nSearch: {} candidates run ({} reused from an earlier process), {} of wall time, {:.0f} J "
                    "({:.3g} gCO2e) spent by this search's processes ({}).\n",
                    s["candidates_run"].get<int>(), s["candidates_reused"].get<int>(),
                    format_duration(s["wall_seconds"].get<double>()), s["energy_joules"].get<double>(),
                    s["co2_grams"].get<double>(), s["energy_method"].get<std::string>());
  return md;
}

}  // namespace

std::string search_summary(const json& pareto, const fs::path& dir) {
  const json& s = pareto["search"];
  const std::string key = s["objective_key"].get<std::string>();
  std::string out = fmt::format("search: {} points from {} candidates ({} reused), {}; objective {}\n",
                                pareto["points"].size(), s["candidates_run"].get<int>(), s["candidates_reused"].get<int>(),
                                format_duration(s["wall_seconds"].get<double>()), s["objective"].get<std::string>());
  const json* chosen = nullptr;
  for (const json& p : pareto["points"]) {
    if (pareto["chosen"] == p["id"]) chosen = &p;
  }
  if (chosen) {
    const json& p = *chosen;
    out += fmt::format("chosen: {}: {} {:.4f} (relative {}), CO2 per 1,000 inferences {}, batch-1 latency {}, eval time {}, "
                       "size {} (teacher = 1)\n",
                       p["id"].get<std::string>(), p["metric_name"].get<std::string>(), p["metric"].get<double>(),
                       fmt_ratio(p["relative_accuracy"]), fmt_ratio(p["relative_emissions"]),
                       fmt_ratio(p["relative_latency_batch_1"]), fmt_ratio(p["relative_time"]), fmt_ratio(p["relative_size"]));
  } else {
    out += "no candidate meets the targets: " + s["targets_text"].get<std::string>() + "\n";
  }
  std::string front;
  for (const json& id : pareto["front"][key]) front += (front.empty() ? "" : ", ") + id.get<std::string>();
  out += fmt::format("front ({}): {}\n", s["objective"].get<std::string>(), front.empty() ? "empty" : front);
  if (!pareto["not_run"].empty()) out += fmt::format("not run: {} recipes (pareto.md says why)\n", pareto["not_run"].size());
  out += "written: " + (dir / "pareto.md").string() + ", pareto.json" +
         (std::filesystem::exists(dir / "pareto.png") ? ", pareto.png" : "") + (chosen ? ", best/" : "") + "\n";
  return out;
}

SearchOutcome run_search(const SearchArgs& args) {
  validate(args);
  const fs::path& dir = args.base.out;
  if (args.plot && !gnuplot_available()) {
    throw OutputError("gnuplot is not on PATH: install it (tools/setup.sh does: Debian package gnuplot-nox) or pass "
                      "--no-plot");
  }
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec)) throw OutputError(dir.string() + ": --out must be a directory");
  fs::create_directories(dir, ec);
  if (ec) throw OutputError(dir.string() + ": cannot create the output directory: " + ec.message());
  check_writable(dir / "pareto.json");
  DirectoryLock lock(dir);
  {
    const std::vector<NamedPath> inputs = compress_input_files(args.base);
    std::vector<NamedPath> outputs;
    for (const char* f : {"pareto.json", "pareto.md", "pareto.png", "pareto.gp", "best/model.pt", "best/report.json"}) {
      outputs.push_back({"a search output (--out)", dir / f});
    }
    refuse_outputs_over_inputs(outputs, inputs);
  }

  // The teacher is read once to plan; each candidate's run reads it again (not held meanwhile: it may be large).
  std::vector<Candidate> candidates;
  json space_rule = {{"rule", "given by --keep-layers and --sparsities"}};
  int teacher_layers = 0;
  {
    const ImportedModel teacher = import_model(args.base.model);
    if (teacher.frozen) {
      throw ModelError(args.base.model.string() + ": a frozen int8 model cannot be compressed further; use the fp32 teacher");
    }
    candidates = plan(args, teacher, space_rule);
    teacher_layers = teacher.spec.num_encoder_layers();
  }
  const std::string key = objective_key(args.objective);
  json kept_counts = json::array(), levels_json = json::array();
  for (const Candidate& c : candidates) {
    if (std::find(kept_counts.begin(), kept_counts.end(), c.recipe.keep_layers) == kept_counts.end()) {
      kept_counts.push_back(c.recipe.keep_layers);
    }
    if (std::find(levels_json.begin(), levels_json.end(), c.recipe.sparsity) == levels_json.end()) {
      levels_json.push_back(c.recipe.sparsity);
    }
  }

  // Time and energy of earlier processes of this search (a resumed or re-gated one) count too.
  double earlier_seconds = 0, earlier_joules = 0;
  if (const json old = read_json_file(dir / "pareto.json"); old.is_object() && old.contains("search")) {
    earlier_seconds = old["search"].value("wall_seconds", 0.0);
    earlier_joules = old["search"].value("energy_joules", 0.0);
  }
  const auto started = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return earlier_seconds + std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };
  // Read after every candidate, so that pareto.json always holds what was spent so far (also when killed).
  EnergyMeter meter(EnergyOptions{args.base.config.cpu_watts});
  double joules = earlier_joules;
  meter.start();
  auto take_energy = [&] {
    joules += meter.stop().joules;
    meter.start();
  };

  std::string targets_text = fmt::format("relative accuracy >= {}", args.min_relative_accuracy);
  if (args.max_relative_time > 0) targets_text += fmt::format(", relative time <= {}", args.max_relative_time);
  if (args.max_relative_size > 0) targets_text += fmt::format(", relative size <= {}", args.max_relative_size);

  json points = json::array(), not_run = json::array(), failed = json::array();
  std::map<std::string, fs::path> result_of;  // point id -> its result directory
  std::vector<SearchRecipe> missed_accuracy;  // recipes whose every variant missed the accuracy target
  int run_here = 0, reused = 0;
  double run_seconds = 0;  // candidates run by this process, or reused: their distillations' wall time
  int timed = 0;
  json teacher_json;
  std::optional<std::string> chosen;
  bool budget_spent = false;

  auto choose = [&] {
    chosen.reset();
    const json* best = nullptr;
    for (const json& p : points) {
      if (!p["meets_targets"].get<bool>() || !p[key].is_number()) continue;
      if (!best || p[key].get<double>() < (*best)[key].get<double>() ||
          (p[key].get<double>() == (*best)[key].get<double>() && p["metric"].get<double>() > (*best)["metric"].get<double>())) {
        best = &p;
      }
    }
    if (best) chosen = (*best)["id"].get<std::string>();
  };

  auto write_outputs = [&](bool finished) {
    choose();
    json pareto;
    pareto["search"] = {{"objective", to_string(args.objective)},
                        {"objective_key", key},
                        {"min_relative_accuracy", args.min_relative_accuracy},
                        {"max_relative_time", args.max_relative_time},
                        {"max_relative_size", args.max_relative_size},
                        {"targets_text", targets_text},
                        {"budget_seconds", args.budget_seconds},
                        {"keep_layers", kept_counts},
                        {"sparsities", levels_json},
                        {"space", space_rule},
                        {"int8", args.int8},
                        {"order", json::array()},
                        {"candidates_run", run_here + reused},
                        {"candidates_reused", reused},
                        {"wall_seconds", elapsed()},
                        {"energy_joules", joules},
                        {"energy_method", meter.method()},
                        {"co2_grams", co2_grams(joules, args.base.config.carbon_intensity)},
                        {"finished", finished}};
    for (const Candidate& c : candidates) {
      pareto["search"]["order"].push_back({{"recipe", c.recipe.id()},
                                           {"predicted_relative_size", c.predicted_size},
                                           {"predicted_relative_compute", c.predicted_compute}});
    }
    pareto["teacher"] = teacher_json.is_null() ? json{{"path", args.base.model.string()},
                                                      {"task", args.base.task},
                                                      {"metric_name", ""},
                                                      {"metric", 0.0},
                                                      {"layers", teacher_layers}}
                                               : teacher_json;
    pareto["points"] = points;
    pareto["front"] = json::object();
    for (const char* k : {"relative_emissions", "relative_latency_batch_1", "relative_time", "relative_size"}) {
      json ids = json::array();
      for (size_t i : pareto_front(points, k)) ids.push_back(points[i]["id"]);
      pareto["front"][k] = ids;
    }
    pareto["chosen"] = chosen ? json(*chosen) : json(nullptr);
    pareto["met"] = chosen.has_value();
    pareto["not_run"] = not_run;
    pareto["failed"] = failed;
    write_text_atomically(dir / "pareto.json", pareto.dump(2) + "\n", true);
    write_text_atomically(dir / "pareto.md", markdown(pareto), true);
    return pareto;
  };

  // The points of a finished candidate, or nullopt when its results are missing or unreadable (then it is redone).
  auto read_points = [&](const Candidate& c) -> std::optional<std::vector<json>> {
    std::vector<json> out;
    try {
      for (bool int8 : args.int8 ? std::vector<bool>{false, true} : std::vector<bool>{false}) {
        const json report = read_json_file(result_dir(args, c.recipe, int8) / "report.json");
        if (!report.is_object()) return std::nullopt;
        out.push_back(make_point(args, c, int8, report));
        out.back()["family"] = report.at("teacher").at("spec").at("family");
        out.back()["teacher_parameters"] = report.at("teacher").at("measurement").at("size").at("parameters");
      }
    } catch (const json::exception&) {
      return std::nullopt;
    }
    return out;
  };

  for (size_t i = 0; i < candidates.size(); ++i) {
    const Candidate& c = candidates[i];
    const std::string id = c.recipe.id();
    const fs::path cdir = candidate_dir(args, c.recipe);
    const json identity = candidate_identity(args, c);
    const bool same = read_json_file(cdir / "recipe.json") == identity;
    std::optional<std::vector<json>> measured = same ? read_points(c) : std::nullopt;
    if (measured) {
      ++reused;
      run_seconds += (*measured)[0]["cost"]["wall_seconds"].get<double>();
      ++timed;
      spdlog::info("search: candidate {} of {}: {} reused (measured by an earlier process)", i + 1, candidates.size(), id);
    } else {
      // A recipe that keeps as many layers or more and prunes no more already missed the accuracy target.
      auto blocker = std::find_if(missed_accuracy.begin(), missed_accuracy.end(), [&](const SearchRecipe& m) {
        return m.keep_layers >= c.recipe.keep_layers && m.sparsity <= c.recipe.sparsity;
      });
      if (blocker != missed_accuracy.end()) {
        not_run.push_back({{"recipe", id},
                           {"reason", "predicted to miss the accuracy target: " + blocker->id() +
                                          ", which keeps as many layers or more and prunes no more, missed it"}});
        continue;
      }
      const double mean = timed > 0 ? run_seconds / timed : 0;
      if (budget_spent || (args.budget_seconds > 0 && elapsed() + mean > args.budget_seconds)) {
        budget_spent = true;
        not_run.push_back({{"recipe", id},
                           {"reason", fmt::format("budget: {} of {} spent", format_duration(elapsed()),
                                                  format_duration(args.budget_seconds))}});
        continue;
      }
      const size_t left = candidates.size() - i;
      spdlog::info("search: candidate {} of {}: {} (keep {} layers, sparsity {:.2f}{}); best so far: {}; ETA {}",
                   i + 1, candidates.size(), id, c.recipe.keep_layers, c.recipe.sparsity, args.int8 ? ", fp32 and int8" : "",
                   chosen ? *chosen : "none",
                   mean > 0 ? format_duration(mean * static_cast<double>(left)) : "after the first candidate");
      if (!same) {
        fs::remove_all(cdir, ec);  // another recipe's or another input's result (and checkpoint)
        fs::create_directories(cdir, ec);
        if (ec) throw OutputError(cdir.string() + ": cannot create: " + ec.message());
        write_text_atomically(cdir / "recipe.json", identity.dump(2) + "\n", true);
      }
      CompressArgs ca = args.base;
      ca.config = c.config;
      ca.out = result_dir(args, c.recipe, args.int8);
      ca.fp32_out = args.int8 ? result_dir(args, c.recipe, false) : fs::path();
      ca.overwrite = true;  // only a partial result of this same recipe can be there
      ca.resume = fs::exists(checkpoint_path(ca.out), ec);  // continue the checkpoint a killed search left
      const auto t0 = std::chrono::steady_clock::now();
      try {
        run_compress(ca);
      } catch (const TrainingError& e) {
        failed.push_back({{"recipe", id}, {"error", e.what()}});
        spdlog::warn("search: {} failed: {}", id, e.what());
        take_energy();
        write_outputs(false);
        continue;
      }
      run_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      ++timed;
      ++run_here;
      measured = read_points(c);
      if (!measured) throw OutputError((cdir / "report.json").string() + ": the candidate's report cannot be read back");
    }
    bool any_accurate = false;
    for (json& p : *measured) {
      const json missed = p["missed"];
      any_accurate = any_accurate || std::find(missed.begin(), missed.end(), "min_relative_accuracy") == missed.end();
      result_of[p["id"].get<std::string>()] = p["path"].get<std::string>();
      if (teacher_json.is_null()) {
        teacher_json = {{"path", args.base.model.string()},
                        {"task", args.base.task},
                        {"metric_name", p["metric_name"]},
                        {"metric", p["teacher_metric"]},
                        {"spec_family", p["family"]},
                        {"layers", teacher_layers},
                        {"parameters", p["teacher_parameters"]}};
      }
      p.erase("family");
      p.erase("teacher_parameters");
      points.push_back(p);
    }
    if (!any_accurate) missed_accuracy.push_back(c.recipe);
    take_energy();
    write_outputs(false);
  }

  take_energy();
  json pareto = write_outputs(true);
  publish_best(dir, chosen ? std::optional<fs::path>(result_of.at(*chosen)) : std::nullopt);
  bool plotted = false;
  if (args.plot && !points.empty()) {
    try {
      plot_pareto(pareto, dir / "pareto.png", dir / "pareto.gp");
      plotted = true;
    } catch (const OutputError& e) {
      // The front and best/ are written; the gate stands on them, not on the picture.
      spdlog::error("search: no picture: {}", e.what());
    }
  }
  if (!plotted) {
    for (const char* f : {"pareto.png", "pareto.gp"}) fs::remove(dir / f, ec);  // an earlier search's
  }
  spdlog::info("search: {} points measured; {}", points.size(),
               chosen ? "chosen " + *chosen + " (" + (dir / "best").string() + ")" : std::string("none meets the targets"));
  return {pareto, chosen.has_value()};
}

}  // namespace lwm

#include "lwm/pipeline/report.h"

#include <fmt/format.h>

#include <cmath>

#include "lwm/report/environment.h"

namespace lwm {
namespace {

double ratio(double a, double b) { return b != 0 ? a / b : 0.0; }

nlohmann::json layer_shapes(const ModelSpec& spec) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& l : spec.layers) {
    out.push_back({{"heads", l.heads}, {"head_dim", l.head_dim}, {"ffn", l.ffn}, {"hidden", spec.hidden}});
  }
  return out;
}

}  // namespace

std::optional<double> relative_metric(double teacher, double student) {
  if (!(teacher > 0)) return std::nullopt;
  return student / teacher;
}

bool meets_min_relative(double teacher, double student, double r) {
  return student >= teacher - (1 - r) * std::fabs(teacher);
}

nlohmann::json relative_json(const ModelMeasurement& t, const ModelMeasurement& s) {
  const double t_time = t.examples / t.throughput, s_time = s.examples / s.throughput;
  const auto accuracy = relative_metric(t.primary(), s.primary());
  return {{"accuracy", accuracy ? nlohmann::json(*accuracy) : nlohmann::json(nullptr)},
          {"accuracy_difference", s.primary() - t.primary()},
          {"metric", t.primary_metric},
          {"size", ratio(static_cast<double>(s.file_bytes), static_cast<double>(t.file_bytes))},
          {"parameters", ratio(static_cast<double>(s.parameters), static_cast<double>(t.parameters))},
          {"time", ratio(s_time, t_time)},
          {"latency_batch_1", ratio(s.latency_batch1.median_ms, t.latency_batch1.median_ms)},
          {"latency_eval_batch", ratio(s.latency_batch.median_ms, t.latency_batch.median_ms)},
          {"energy", ratio(s.joules_per_1000(), t.joules_per_1000())},
          {"emissions", ratio(s.co2_grams_per_1000(), t.co2_grams_per_1000())},
          {"note", "student / teacher, measured in the same run; time is the whole eval pass at the eval batch size; "
                   "accuracy is null when the teacher's metric is 0 or below (accuracy_difference still says it)"}};
}

nlohmann::json break_even_json(double run_joules, double carbon_intensity, const ModelMeasurement& t,
                               const ModelMeasurement& s, bool resumed) {
  const double saving_per_1000 = t.joules_per_1000() - s.joules_per_1000();
  nlohmann::json inferences = nullptr;
  // Beyond 2^53 (a saving within measurement noise) a count is neither exact nor meaningful: never, in practice.
  const double count = saving_per_1000 > 0 ? std::ceil(run_joules * 1000.0 / saving_per_1000) : -1;
  if (!resumed && count >= 0 && count < 9007199254740992.0) inferences = static_cast<int64_t>(count);
  return {{"inferences", inferences},
          {"compression_energy_joules", run_joules},
          {"saving_joules_per_1000_inferences", saving_per_1000},
          {"compression_co2_grams", co2_grams(run_joules, carbon_intensity)},
          // Negative when the student costs more per inference (co2_grams takes energies, not differences).
          {"saving_co2_grams_per_1000_inferences", std::copysign(co2_grams(std::fabs(saving_per_1000), carbon_intensity),
                                                                 saving_per_1000)},
          {"basis", resumed ? "not computed: this run resumed a checkpoint, and compression_energy_joules is this "
                              "process's part only"
                            : "energy per inference of each model's eval pass (measurement.energy, at the eval batch "
                              "size); null inferences: the student saves nothing per inference (or too little to "
                              "count), so the run is never paid back"}};
}

nlohmann::json compress_report(const ReportInputs& in) {
  const auto& cfg = in.args.config;
  nlohmann::json rel = relative_json(in.teacher, in.student);
  nlohmann::json targets = {{"met", true}, {"checks", nlohmann::json::array()}};
  auto check = [&](const char* name, double target, double value, bool at_least) {
    if (target <= 0) return;
    const bool ok = at_least ? value >= target : value <= target;
    targets["checks"].push_back({{"target", name}, {"limit", target}, {"value", value}, {"met", ok}});
    if (!ok) targets["met"] = false;
  };
  if (cfg.min_relative_accuracy > 0) {
    const bool ok = meets_min_relative(in.teacher.primary(), in.student.primary(), cfg.min_relative_accuracy);
    targets["checks"].push_back({{"target", "min_relative_accuracy"},
                                 {"limit", cfg.min_relative_accuracy},
                                 {"value", rel["accuracy"]},
                                 {"teacher", in.teacher.primary()},
                                 {"student", in.student.primary()},
                                 {"rule", "student >= teacher - (1 - limit) * |teacher|"},
                                 {"met", ok}});
    if (!ok) targets["met"] = false;
  }
  check("max_relative_size", cfg.max_relative_size, rel["size"].get<double>(), false);
  check("max_relative_time", cfg.max_relative_time, rel["time"].get<double>(), false);

  nlohmann::json stages = {
      {"layer_removal", {{"kept_teacher_layers", in.kept_layers}, {"strategy", to_string(cfg.layer_strategy)}}},
      {"vocabulary_pruning", in.vocab_pruning},
      {"distillation", in.training.to_json()},
      {"pruning", in.pruning},
      {"shrink", in.pruning.is_null() ? nlohmann::json(nullptr)
                                      : nlohmann::json{{"max_abs_logit_difference_vs_masked", in.shrink_difference}}},
      {"int8", in.int8},
  };
  const double run_co2 = co2_grams(in.run_energy.joules, cfg.carbon_intensity);
  return {
      {"command", "compress"},
      {"teacher",
       {{"path", in.args.model.string()},
        {"spec", in.teacher_spec.to_json()},
        {"timed_as", "lwm's native rebuild of the teacher (verified faithful), the implementation the student runs"},
        {"measurement", in.teacher.to_json()}}},
      {"student",
       {{"path", (in.args.out / "model.pt").string()},
        {"spec", in.student_spec.to_json()},
        {"layers", layer_shapes(in.student_spec)},
        {"int8", cfg.int8},
        {"measurement", in.student.to_json()}}},
      {"relative", rel},
      {"targets", targets},
      {"stages", stages},
      {"compression_run",
       {{"wall_seconds", in.run_energy.seconds},
        {"cpu_seconds", in.run_energy.cpu_seconds},
        {"energy_joules", in.run_energy.joules},
        {"energy_method", in.run_energy.method},
        {"co2_grams", run_co2},
        {"co2_method", in.run_energy.method},
        {"break_even", break_even_json(in.run_energy.joules, cfg.carbon_intensity, in.teacher, in.student,
                                       in.training.resumed_from_step > 0)}}},
      {"task", {{"name", in.args.task}, {"train", in.args.train.string()}, {"eval", in.args.eval.string()},
                {"tokenizer", in.args.tokenizer.string()}, {"limit_train", in.args.limit_train},
                {"limit_eval", in.args.limit_eval}, {"labels", in.task.label_names}}},
      {"config", cfg.to_json()},
      {"seed", cfg.train.seed},
      {"environment", environment_json()},
  };
}

std::string compress_summary(const nlohmann::json& r) {
  const auto& rel = r["relative"];
  const auto& t = r["teacher"]["measurement"];
  const auto& s = r["student"]["measurement"];
  const std::string metric = rel["metric"];
  std::string out;
  out += fmt::format("teacher: {} layers, {} {:.4f}, {} bytes\n", r["teacher"]["spec"]["num_layers"].get<int>(), metric,
                     t["metrics"][metric].get<double>(), t["size"]["file_bytes"].get<long long>());
  out += fmt::format("student: {} layers, {} {:.4f}, {} bytes -> {}\n", r["student"]["spec"]["num_layers"].get<int>(),
                     metric, s["metrics"][metric].get<double>(), s["size"]["file_bytes"].get<long long>(),
                     r["student"]["path"].get<std::string>());
  std::vector<std::string> warnings;
  // A report written before the stage existed has no key for it.
  const auto vocab = r["stages"].value("vocabulary_pruning", nlohmann::json(nullptr));
  if (!vocab.is_null()) {
    out += fmt::format("  vocabulary: {} of {} word-embedding rows kept; {:.2f}% of the eval tokens read as unknown\n",
                       vocab["kept_rows"].get<long long>(), vocab["input_vocab_size"].get<long long>(),
                       100.0 * vocab["eval_tokens_read_as_unknown"].get<double>());
  }
  const auto& int8 = r["stages"]["int8"];
  if (!int8.is_null()) {
    const int n = int8["linear_layers_int8"].get<int>(), m = int8["linear_layers"].get<int>();
    out += fmt::format("  int8: {} of {} Linear layers (at least {} weights), word embedding {}\n", n, m,
                       int8["min_weights"].get<long long>(), int8["word_embedding_int8"].get<bool>() ? "int8" : "fp32");
    if (n == 0) warnings.push_back("int8 was asked for, but no Linear layer runs int8 (all are below int8_min_weights)");
  }
  const auto& pruning = r["stages"]["pruning"];
  if (!pruning.is_null()) {
    // Whole units are pruned (floor of sparsity x units), so a target is met when it is short by less than one
    // unit: 0.5999 of 0.60 asked is all 4,096 FFN neurons allow. One unit's fraction, from the kept counts.
    auto one_unit = [&](const std::string& unit, double reached) {
      double total = 0;
      if (unit == "hidden" && pruning.contains("hidden_before")) {
        total = pruning["hidden_before"].get<double>();
      } else if (pruning.contains(unit + "_per_layer") && reached < 1) {
        double kept = 0;
        for (const auto& n : pruning[unit + "_per_layer"]) kept += n.get<double>();
        total = std::round(kept / (1 - reached));
      }
      return total > 0 ? 1.0 / total : 1e-6;
    };
    std::string parts;
    for (const char* unit : {"heads", "ffn", "hidden"}) {
      const double asked = pruning["targets"][unit].get<double>(), reached = pruning["sparsity"][unit].get<double>();
      if (asked <= 0 && reached <= 0) continue;
      parts += fmt::format("{}{} {:.2f} of {:.2f} asked", parts.empty() ? "" : ", ", unit, reached, asked);
      if (asked - reached >= one_unit(unit, reached) - 1e-9) {
        warnings.push_back(fmt::format("{} sparsity reached {:.2f}, below the {:.2f} asked", unit, reached, asked));
      }
    }
    out += "  pruned: " + parts + "\n";
  }
  const std::string accuracy =
      rel["accuracy"].is_null() ? fmt::format("undefined (teacher {:.4f}; difference {:+.4f})", t["metrics"][metric].get<double>(),
                                              rel["accuracy_difference"].get<double>())
                                : fmt::format("{:.3f}", rel["accuracy"].get<double>());
  out += fmt::format("relative (teacher = 1.0): {} {}, size {:.3f}, eval time {:.3f}, latency batch 1 {:.3f}, "
                     "latency batch {} {:.3f}, emissions {:.3f} ({})\n",
                     metric, accuracy, rel["size"].get<double>(), rel["time"].get<double>(),
                     rel["latency_batch_1"].get<double>(), s["latency"]["eval_batch_size"].get<int>(),
                     rel["latency_eval_batch"].get<double>(), rel["emissions"].get<double>(),
                     s["energy"]["method"].get<std::string>());
  const std::pair<const char*, const char*> figures[] = {{"size", "larger"},
                                                         {"parameters", "larger (parameters)"},
                                                         {"time", "slower over the eval pass"},
                                                         {"latency_batch_1", "slower at batch 1"},
                                                         {"latency_eval_batch", "slower per eval batch"},
                                                         {"emissions", "higher in emissions"}};
  for (const auto& [key, what] : figures) {
    const double x = rel[key].get<double>();
    if (x > 1.0) warnings.push_back(fmt::format("the student is {} than the teacher ({:.2f}x)", what, x));
  }
  for (const auto* m : {&t, &s}) {
    for (const auto& w : (*m)["warnings"]) {
      warnings.push_back((m == &t ? "teacher: " : "student: ") + w.get<std::string>());
    }
  }
  if (r.contains("compression_run") && r["compression_run"].contains("break_even")) {
    const auto& be = r["compression_run"]["break_even"];
    const double joules = be["compression_energy_joules"].get<double>();
    const bool resumed = be["basis"].get<std::string>().rfind("not computed", 0) == 0;
    out += resumed
               ? std::string("break-even: not computed (this process resumed the run and saw only part of its energy)\n")
           : be["inferences"].is_null()
               ? fmt::format("break-even: never: the run spent {:.0f} J and the student saves no energy per inference\n",
                             joules)
               : fmt::format("break-even: the run's {:.0f} J are paid back after {} inferences (saving {:.4g} J per 1,000)\n",
                             joules, be["inferences"].get<int64_t>(),
                             be["saving_joules_per_1000_inferences"].get<double>());
  }
  for (const auto& w : warnings) out += "warning: " + w + "\n";
  out += "targets: " + std::string(r["targets"]["checks"].empty() ? "none set" : r["targets"]["met"].get<bool>() ? "met" : "MISSED") + "\n";
  return out;
}

}  // namespace lwm

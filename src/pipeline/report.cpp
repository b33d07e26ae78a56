#include "lwm/pipeline/report.h"

#include <cstdio>

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

nlohmann::json relative_json(const ModelMeasurement& t, const ModelMeasurement& s) {
  const double t_time = t.examples / t.throughput, s_time = s.examples / s.throughput;
  return {{"accuracy", ratio(s.primary(), t.primary())},
          {"metric", t.primary_metric},
          {"size", ratio(static_cast<double>(s.file_bytes), static_cast<double>(t.file_bytes))},
          {"parameters", ratio(static_cast<double>(s.parameters), static_cast<double>(t.parameters))},
          {"time", ratio(s_time, t_time)},
          {"latency_batch_1", ratio(s.latency_batch1.median_ms, t.latency_batch1.median_ms)},
          {"latency_eval_batch", ratio(s.latency_batch.median_ms, t.latency_batch.median_ms)},
          {"energy", ratio(s.joules_per_1000(), t.joules_per_1000())},
          {"emissions", ratio(s.co2_grams_per_1000(), t.co2_grams_per_1000())},
          {"note", "student / teacher, measured in the same run; time is the whole eval pass at the eval batch size"}};
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
  check("min_relative_accuracy", cfg.min_relative_accuracy, rel["accuracy"].get<double>(), true);
  check("max_relative_size", cfg.max_relative_size, rel["size"].get<double>(), false);
  check("max_relative_time", cfg.max_relative_time, rel["time"].get<double>(), false);

  nlohmann::json stages = {
      {"layer_removal", {{"kept_teacher_layers", in.kept_layers}, {"strategy", to_string(cfg.layer_strategy)}}},
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
        {"co2_method", in.run_energy.method}}},
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
  char buf[1024];
  std::snprintf(buf, sizeof buf,
                "teacher: %d layers, %s %.4f, %lld bytes\n"
                "student: %d layers%s, %s %.4f, %lld bytes -> %s\n"
                "relative (teacher = 1.0): accuracy %.3f, size %.3f, time %.3f, emissions %.3f (%s)\n"
                "targets: %s\n",
                r["teacher"]["spec"]["num_layers"].get<int>(), metric.c_str(), t["metrics"][metric].get<double>(),
                t["size"]["file_bytes"].get<long long>(), r["student"]["spec"]["num_layers"].get<int>(),
                r["student"]["int8"].get<bool>() ? " int8" : "", metric.c_str(), s["metrics"][metric].get<double>(),
                s["size"]["file_bytes"].get<long long>(), r["student"]["path"].get<std::string>().c_str(),
                rel["accuracy"].get<double>(), rel["size"].get<double>(), rel["time"].get<double>(),
                rel["emissions"].get<double>(), s["energy"]["method"].get<std::string>().c_str(),
                r["targets"]["checks"].empty() ? "none set" : r["targets"]["met"].get<bool>() ? "met" : "MISSED");
  return buf;
}

}  // namespace lwm

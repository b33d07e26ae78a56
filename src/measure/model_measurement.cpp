#include "lwm/measure/model_measurement.h"

#include <chrono>

#include "lwm/measure/evaluation.h"
#include "lwm/model/importer.h"
#include "lwm/model/runner.h"

namespace lwm {
namespace {

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

nlohmann::json latency_json(const LatencyStats& s) {
  return {{"median_ms", s.median_ms}, {"p90_ms", s.p90_ms}, {"mean_ms", s.mean_ms}, {"runs", s.runs}};
}

// Untimed passes on batches spread over the (length-sorted) list, so that TorchScript's profiling
// executor has seen the range of shapes before anything is timed.
void warm_up(ModelRunner& runner, const std::vector<Batch>& batches, int count) {
  const size_t n = std::min(batches.size(), static_cast<size_t>(std::max(count, 0)));
  for (size_t i = 0; i < n; ++i) runner.logits(batches[i * batches.size() / n]);
}

}  // namespace

int64_t count_parameters(const torch::jit::Module& module) {
  int64_t n = 0;
  for (const auto& [name, tensor] : module_weights(module)) {
    if (tensor.is_floating_point()) n += tensor.numel();  // a tied tensor once; not a vocabulary map's ids
  }
  return n;
}

ModelMeasurement measure_model(torch::jit::Module module, const std::filesystem::path& path, const TaskSpec& task,
                               const EncodedDataset& data, int64_t pad_id, const MeasureOptions& opts) {
  torch::NoGradGuard no_grad;
  module.eval();
  ModelRunner runner(module);
  ModelMeasurement m;
  m.primary_metric = task.metrics.front();
  std::error_code ec;
  m.file_bytes = static_cast<int64_t>(std::filesystem::file_size(path, ec));
  m.parameters = count_parameters(module);
  m.examples = static_cast<int>(data.examples.size());
  m.batch_size = opts.batch_size;
  m.threads = torch::get_num_threads();
  m.carbon_intensity = opts.carbon_intensity;
  m.cpu_watts_per_core = opts.energy.cpu_watts_per_core;

  auto batches = make_batches(data, opts.batch_size, /*sort_by_length=*/true, false, 0, pad_id);
  warm_up(runner, batches, opts.warmup_batches);

  Predictions pred;
  pred.labels.assign(data.examples.size(), -1);
  pred.scores.assign(data.examples.size(), 0.0);
  std::vector<double> batch_ms;
  EnergyMeter meter(opts.energy);
  meter.start();
  const auto pass_start = std::chrono::steady_clock::now();
  for (const auto& batch : batches) {
    const auto t0 = std::chrono::steady_clock::now();
    auto logits = runner.logits(batch);
    batch_ms.push_back(ms_since(t0));
    collect_predictions(logits, batch, task.regression, pred);
  }
  const double pass_ms = ms_since(pass_start);
  m.energy = meter.stop();
  m.throughput = m.examples / (pass_ms / 1000.0);
  m.latency_batch = summarize_latency(batch_ms);
  m.metrics = task_metrics(task, data, pred);
  if (!task.regression) {
    std::vector<int> gold;
    for (const auto& e : data.examples) gold.push_back(e.label);
    m.warnings.push_back(below_chance_warning(task, pred.labels, gold));
  }
  m.warnings.push_back(energy_trust_warning(m.energy));
  std::erase(m.warnings, std::string());

  // Batch 1: single examples spread evenly over the data (its real length mix).
  EncodedDataset sample;
  sample.regression = data.regression;
  const size_t n = std::min<size_t>(std::max(opts.latency_samples, 1), data.examples.size());
  for (size_t i = 0; i < n; ++i) {
    const size_t j = i * data.examples.size() / n;
    sample.encodings.push_back(data.encodings[j]);
    sample.examples.push_back(data.examples[j]);
  }
  auto singles = make_batches(sample, 1, false, false, 0, pad_id);
  warm_up(runner, singles, opts.warmup_batches);
  std::vector<double> single_ms;
  for (const auto& b : singles) {
    const auto t0 = std::chrono::steady_clock::now();
    runner.logits(b);
    single_ms.push_back(ms_since(t0));
  }
  m.latency_batch1 = summarize_latency(single_ms);
  return m;
}

nlohmann::json ModelMeasurement::to_json() const {
  nlohmann::json metrics_json(metrics);
  return {
      {"metrics", metrics_json},
      {"primary_metric", primary_metric},
      {"examples", examples},
      {"size", {{"file_bytes", file_bytes}, {"parameters", parameters}}},
      {"latency",
       {{"threads", threads},
        {"batch_1", latency_json(latency_batch1)},
        {"eval_batch", latency_json(latency_batch)},
        {"eval_batch_size", batch_size},
        {"throughput_examples_per_s", throughput}}},
      {"energy",
       {{"method", energy.method},
        {"joules_total", energy.joules},
        {"joules_per_1000_inferences", joules_per_1000()},
        {"wall_seconds", energy.seconds},
        {"cpu_seconds", energy.cpu_seconds},
        {"cpu_watts_per_core", cpu_watts_per_core},
        {"cpu_utilisation_per_thread", energy.seconds > 0 && threads > 0 ? energy.cpu_seconds / (energy.seconds * threads) : 0.0},
        {"load_average_1m", energy.load_average_1m},
        {"cores", energy.cores},
        {"trusted", energy_trust_warning(energy).empty()}}},
      {"co2",
       {{"method", energy.method},
        {"grams_total", co2_grams_total()},
        {"grams_per_1000_inferences", co2_grams_per_1000()},
        {"carbon_intensity_g_per_kwh", carbon_intensity}}},
      {"warnings", warnings},
  };
}

}  // namespace lwm

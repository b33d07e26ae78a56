#pragma once
// Everything the report says about one model on one eval set: task metrics, size,
// latency (batch 1 and eval batch), throughput, energy and CO2, each with its method.
#include <nlohmann/json.hpp>
#include <torch/script.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "lwm/data/batcher.h"
#include "lwm/data/task.h"
#include "lwm/measure/energy.h"
#include "lwm/measure/latency.h"

namespace lwm {

struct MeasureOptions {
  int batch_size = 32;
  int latency_samples = 50;  // single examples timed at batch 1
  int warmup_batches = 10;   // untimed passes, spread over the length range, before any timing
  EnergyOptions energy;
  double carbon_intensity = kDefaultCarbonIntensity;  // gCO2e/kWh
};

struct ModelMeasurement {
  std::map<std::string, double> metrics;
  std::string primary_metric;
  int64_t file_bytes = 0;
  int64_t parameters = 0;
  int examples = 0;
  int batch_size = 0;
  int threads = 0;
  LatencyStats latency_batch1;
  LatencyStats latency_batch;      // per batch of the eval pass, at batch_size
  double throughput = 0;           // examples/s over the whole eval pass
  EnergyReading energy;            // the eval pass
  double carbon_intensity = 0;
  double cpu_watts_per_core = 0;
  // What the reader must know to trust the figures: a classifier below chance (evaluation.h,
  // below_chance_warning), energy taken on an oversubscribed machine (energy.h, energy_trust_warning).
  std::vector<std::string> warnings;

  double joules_per_1000() const { return examples ? energy.joules / examples * 1000.0 : 0.0; }
  double co2_grams_total() const { return co2_grams(energy.joules, carbon_intensity); }
  double co2_grams_per_1000() const { return co2_grams(joules_per_1000(), carbon_intensity); }
  double primary() const { return metrics.at(primary_metric); }
  nlohmann::json to_json() const;
};

// Parameter count of a module (all parameters, recursively; packed int8 weights are counted too).
int64_t count_parameters(const torch::jit::Module& module);

// Evaluates `module` (the file at `path`) on `data`: the metric pass is also the timed,
// energy-metered pass at opts.batch_size (after warm-up); then batch-1 latency on
// opts.latency_samples examples spread over the data. Warnings are kept in `warnings` for the caller to show
// (it knows whether the model is a teacher, a student or a staged file).
ModelMeasurement measure_model(torch::jit::Module module, const std::filesystem::path& path, const TaskSpec& task,
                               const EncodedDataset& data, int64_t pad_id, const MeasureOptions& opts);

}  // namespace lwm

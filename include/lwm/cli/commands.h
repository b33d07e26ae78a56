#pragma once
// The sub-commands of `compress`, callable from main and from tests.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "lwm/measure/energy.h"
#include "lwm/pipeline/task_data.h"
#include "lwm/train/trainer.h"

namespace lwm {

struct MeasureArgs {
  int batch_size = 32;
  int latency_samples = 50;
  double cpu_watts = kDefaultCpuWattsPerCore;
  double carbon_intensity = kDefaultCarbonIntensity;
};

struct InspectArgs {
  std::filesystem::path model;
  bool json = false;
};

struct EvaluateArgs {
  std::filesystem::path model, eval, report;
  DataArgs data;
  MeasureArgs measure;
};

struct FinetuneArgs {
  std::filesystem::path model, train, eval, out, metrics_out;
  DataArgs data;
  TrainOptions train_options;
};

int run_inspect(const InspectArgs& args);
int run_evaluate(const EvaluateArgs& args);
int run_finetune(const FinetuneArgs& args);

}  // namespace lwm

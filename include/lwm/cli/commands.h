#pragma once
// The sub-commands of `compress`, callable from main and from tests.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "lwm/measure/energy.h"
#include "lwm/train/trainer.h"

namespace lwm {

struct DataArgs {
  std::string task;
  std::filesystem::path tokenizer;
  int max_length = 128;
  size_t limit_train = 0;  // 0: all
  size_t limit_eval = 0;
  // Text-to-text models (T5): the words scored for the labels, in label order (default: the task's).
  std::vector<std::string> label_words;
  // The model's label order: class i is labels[i], a permutation of the task's names (lwm/data/task.h,
  // with_label_order). Empty: the task's order (README, "Tasks and label order").
  std::vector<std::string> labels;
};

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

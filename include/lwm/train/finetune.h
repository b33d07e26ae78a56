#pragma once
// Fine-tuning a native (define()-built) classifier on a task: cross-entropy
// (MSE for regression), AdamW, linear warm-up then linear decay, gradient
// clipping, evaluation each epoch, and the best epoch's weights kept.
#include <nlohmann/json.hpp>
#include <torch/script.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "lwm/data/batcher.h"
#include "lwm/data/task.h"

namespace lwm {

struct TrainOptions {
  int epochs = 3;
  int batch_size = 32;
  int eval_batch_size = 64;
  double learning_rate = 5e-5;
  double weight_decay = 0.01;  // not applied to biases and LayerNorm weights
  double warmup_ratio = 0.1;   // fraction of all steps
  double max_grad_norm = 1.0;  // <= 0: no clipping
  uint64_t seed = 42;
  bool quiet = false;
};

struct EpochResult {
  int epoch = 0;
  double train_loss = 0;
  std::map<std::string, double> metrics;
  double seconds = 0;
};

struct TrainResult {
  std::vector<EpochResult> epochs;
  int best_epoch = 0;
  double best_metric = 0;
  double train_seconds = 0;  // optimisation only (no evaluation)
  int64_t train_examples = 0;
  int64_t train_tokens = 0;  // non-padding tokens seen
  nlohmann::json to_json() const;
};

// Trains `model` in place; on return it holds the weights of the best epoch by the task's
// primary metric, in eval mode. TrainingError on a NaN/inf loss.
TrainResult finetune(torch::jit::Module& model, const TaskSpec& task, const EncodedDataset& train,
                     const EncodedDataset& eval, int64_t pad_id, const TrainOptions& opts);

// The classification/regression loss of `logits` against `labels` (used by distillation too).
torch::Tensor task_loss(const torch::Tensor& logits, const torch::Tensor& labels, bool regression);

}  // namespace lwm

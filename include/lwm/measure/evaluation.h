#pragma once
// Runs a classifier over a task's eval data: predictions in dataset order and the task's metrics.
#include <map>
#include <string>
#include <vector>

#include "lwm/data/batcher.h"
#include "lwm/data/task.h"
#include "lwm/model/runner.h"

namespace lwm {

struct Predictions {
  std::vector<int> labels;     // argmax class per example (classification)
  std::vector<double> scores;  // predicted score per example (regression)
};

// Collects the predictions of `logits` ([B, num_labels]) for `batch` into `out` at the batch's indices.
void collect_predictions(const torch::Tensor& logits, const Batch& batch, bool regression, Predictions& out);

// The task's metrics for predictions against the gold labels of `data`.
std::map<std::string, double> task_metrics(const TaskSpec& task, const EncodedDataset& data, const Predictions& pred);

// Predicts every batch in eval mode without gradients, then computes the task's metrics.
std::map<std::string, double> evaluate_metrics(ModelRunner& model, const TaskSpec& task, const EncodedDataset& data,
                                               const std::vector<Batch>& batches);

}  // namespace lwm

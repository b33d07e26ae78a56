#pragma once
// Runs a classifier over a task's eval data: predictions in dataset order and the task's metrics.
#include <cstdint>
#include <functional>
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

// A classifier that scores clearly below chance most often reads its labels in another order than it was
// trained with (MNLI has two orders in use). Returns a one-line warning, or "" when accuracy is not below
// chance. Chance is uniform guessing, 1/K for K labels; "clearly below" is more than two standard errors
// of a binomial proportion at 1/K over n examples (1/K - 2 sqrt(1/K (1 - 1/K) / n)). The warning names
// the order of task.label_names (K <= 6: every permutation is tried) under which the same predictions
// score best, with its accuracy, as a --labels value. `pred`, `gold`: class indices, same size.
std::string below_chance_warning(const TaskSpec& task, const std::vector<int>& pred, const std::vector<int>& gold);

// Predicts every batch in eval mode without gradients, then computes the task's metrics.
std::map<std::string, double> evaluate_metrics(ModelRunner& model, const TaskSpec& task, const EncodedDataset& data,
                                               const std::vector<Batch>& batches);

// evaluate_metrics() on `data` in batches of `batch_size` (sorted by length, padded with `pad_id`, made once):
// a training run's per-epoch evaluation (train/trainer.h, Evaluator). `data` must outlive the function.
std::function<std::map<std::string, double>(ModelRunner&)> metrics_on(const TaskSpec& task, const EncodedDataset& data,
                                                                       int batch_size, int64_t pad_id);
std::function<std::map<std::string, double>(ModelRunner&)> metrics_on(const TaskSpec&, EncodedDataset&&, int,
                                                                       int64_t) = delete;  // it would dangle

}  // namespace lwm

#include "lwm/measure/evaluation.h"

#include "lwm/common/error.h"
#include "lwm/measure/metrics.h"

namespace lwm {

void collect_predictions(const torch::Tensor& logits, const Batch& batch, bool regression, Predictions& out) {
  if (logits.dim() != 2 || logits.size(0) != static_cast<int64_t>(batch.indices.size())) {
    throw ModelError("model returned logits of shape " + c10::str(logits.sizes()) + " for a batch of " +
                     std::to_string(batch.indices.size()));
  }
  auto cpu = logits.detach().to(torch::kCPU, torch::kFloat);
  if (regression) {
    auto scores = cpu.select(1, 0).contiguous();
    for (size_t i = 0; i < batch.indices.size(); ++i) out.scores[batch.indices[i]] = scores[i].item<double>();
  } else {
    auto labels = cpu.argmax(1).contiguous();
    const int64_t* p = labels.data_ptr<int64_t>();
    for (size_t i = 0; i < batch.indices.size(); ++i) out.labels[batch.indices[i]] = static_cast<int>(p[i]);
  }
}

std::map<std::string, double> task_metrics(const TaskSpec& task, const EncodedDataset& data, const Predictions& pred) {
  std::vector<int> gold;
  std::vector<double> gold_scores;
  for (const auto& ex : data.examples) {
    gold.push_back(ex.label);
    gold_scores.push_back(ex.score);
  }
  if (task.regression) return compute_metrics(task.metrics, {}, {}, pred.scores, gold_scores);
  return compute_metrics(task.metrics, pred.labels, gold, {}, {});
}

std::map<std::string, double> evaluate_metrics(ModelRunner& model, const TaskSpec& task, const EncodedDataset& data,
                                               const std::vector<Batch>& batches) {
  torch::NoGradGuard no_grad;
  const bool was_training = model.module().is_training();
  model.module().eval();
  Predictions pred;
  pred.labels.assign(data.examples.size(), -1);
  pred.scores.assign(data.examples.size(), 0.0);
  for (const auto& batch : batches) collect_predictions(model.logits(batch), batch, task.regression, pred);
  if (was_training) model.module().train();
  return task_metrics(task, data, pred);
}

}  // namespace lwm

#include "lwm/measure/evaluation.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

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

std::string below_chance_warning(const TaskSpec& task, const std::vector<int>& pred, const std::vector<int>& gold) {
  const int k = task.num_labels();
  if (task.regression || k < 2 || pred.empty() || pred.size() != gold.size()) return "";
  const double n = static_cast<double>(pred.size());
  const double chance = 1.0 / k;
  const double acc = accuracy(pred, gold);
  if (acc >= chance - 2.0 * std::sqrt(chance * (1 - chance) / n)) return "";
  std::string msg = fmt::format("accuracy {:.3f} on {} examples is below chance ({:.3f} for {} labels): is the label "
                                "order the one the model was trained with?",
                                acc, pred.size(), chance, k);
  if (k > 6) return msg;
  // Confusion counts, then the relabelling (model class i read as gold class order[i]) that scores best.
  std::vector<std::vector<int64_t>> confusion(k, std::vector<int64_t>(k, 0));
  for (size_t i = 0; i < pred.size(); ++i) {
    if (pred[i] >= 0 && pred[i] < k && gold[i] >= 0 && gold[i] < k) ++confusion[pred[i]][gold[i]];
  }
  std::vector<int> order(k), best;
  std::iota(order.begin(), order.end(), 0);
  int64_t best_hits = -1;
  do {
    int64_t hits = 0;
    for (int c = 0; c < k; ++c) hits += confusion[c][order[c]];
    if (hits > best_hits) best_hits = hits, best = order;
  } while (std::next_permutation(order.begin(), order.end()));
  std::string labels;
  for (int c = 0; c < k; ++c) labels += (c ? "," : "") + task.label_names[best[c]];
  return msg + fmt::format(" With --labels {} it would score {:.3f}.", labels, best_hits / n);
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

std::function<std::map<std::string, double>(ModelRunner&)> metrics_on(const TaskSpec& task, const EncodedDataset& data,
                                                                       int batch_size, int64_t pad_id) {
  auto batches = make_batches(data, batch_size, /*sort_by_length=*/true, false, 0, pad_id);
  return [task, &data, batches = std::move(batches)](ModelRunner& runner) {
    return evaluate_metrics(runner, task, data, batches);
  };
}

}  // namespace lwm

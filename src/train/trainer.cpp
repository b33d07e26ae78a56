#include "lwm/train/trainer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <limits>
#include <regex>

#include "lwm/common/error.h"
#include "lwm/measure/evaluation.h"
#include "lwm/model/runner.h"
#include "lwm/train/progress.h"

namespace lwm {
namespace {

// Linear warm-up to the peak, then linear decay to zero (HF get_linear_schedule_with_warmup).
double scheduled_lr(double peak, int64_t step, int64_t warmup, int64_t total) {
  if (step < warmup) return peak * static_cast<double>(step + 1) / static_cast<double>(warmup);
  return peak * std::max(0.0, static_cast<double>(total - step) / std::max<double>(1.0, total - warmup));
}

}  // namespace

torch::Tensor task_loss(const torch::Tensor& logits, const torch::Tensor& labels, bool regression) {
  if (regression) return torch::mse_loss(logits.squeeze(-1), labels.to(logits.dtype()));
  return torch::cross_entropy_loss(logits, labels);
}

nlohmann::json TrainResult::to_json() const {
  nlohmann::json per_epoch = nlohmann::json::array();
  for (const auto& e : epochs) {
    per_epoch.push_back({{"epoch", e.epoch},
                         {"steps", e.steps},
                         {"train_loss", e.train_loss},
                         {"eval", e.metrics},
                         {"seconds", e.seconds},
                         {"eligible", e.eligible}});
  }
  return {{"epochs", per_epoch},
          {"total_steps", total_steps},
          {"best_epoch", best_epoch},
          {"best_metric", best_metric},
          {"train_seconds", train_seconds},
          {"train_examples", train_examples},
          {"train_tokens", train_tokens},
          {"tokens_per_s", train_seconds > 0 ? train_tokens / train_seconds : 0.0},
          {"threads", torch::get_num_threads()}};
}

int64_t steps_per_epoch(const EncodedDataset& train, int batch_size) {
  return (static_cast<int64_t>(train.examples.size()) + batch_size - 1) / batch_size;
}

int64_t total_steps(const EncodedDataset& train, const TrainOptions& opts) {
  const int64_t by_epochs = steps_per_epoch(train, opts.batch_size) * opts.epochs;
  return opts.max_steps > 0 ? std::min(by_epochs, opts.max_steps) : by_epochs;
}

bool weight_decay_applies(const std::string& name, int64_t dim) {
  if (dim <= 1 && name.size() >= 7 && name.compare(name.size() - 7, 7, ".weight") == 0) return false;  // a norm's weight
  static const std::regex kNoDecay(R"(bias|layernorm|rmsnorm|(?:^|\.)norm(?:$|\.)|_norm(?:$|\.))");
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  return !std::regex_search(lower, kNoDecay);
}

TrainResult train(torch::jit::Module& model, const TaskSpec& task, const EncodedDataset& train_data,
                  const EncodedDataset& eval_data, int64_t pad_id, const TrainOptions& opts, const TrainHooks& hooks) {
  if (opts.epochs < 1) throw UsageError("epochs must be at least 1");
  if (train_data.examples.empty()) throw DataError("no training examples");
  torch::manual_seed(opts.seed);

  std::vector<torch::Tensor> all, decay, no_decay;
  std::vector<std::pair<std::string, torch::Tensor>> params;
  for (const auto& p : model.named_parameters(/*recurse=*/true)) {
    p.value.requires_grad_(true);
    params.emplace_back(p.name, p.value);
    all.push_back(p.value);
    (weight_decay_applies(p.name, p.value.dim()) ? decay : no_decay).push_back(p.value);
  }
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, std::make_unique<torch::optim::AdamWOptions>(
                                 torch::optim::AdamWOptions(opts.learning_rate).weight_decay(opts.weight_decay)));
  groups.emplace_back(no_decay, std::make_unique<torch::optim::AdamWOptions>(
                                    torch::optim::AdamWOptions(opts.learning_rate).weight_decay(0.0)));
  torch::optim::AdamW optimizer(std::move(groups),
                                torch::optim::AdamWOptions(opts.learning_rate).weight_decay(opts.weight_decay));

  ModelRunner runner(model);
  std::function<torch::Tensor(const Batch&)> loss_of = hooks.loss;
  if (!loss_of) loss_of = [&](const Batch& b) { return task_loss(runner.logits(b), b.labels, task.regression); };
  const auto eval_batches = make_batches(eval_data, opts.eval_batch_size, /*sort_by_length=*/true, false, 0, pad_id);
  const int64_t total = total_steps(train_data, opts);
  const int64_t warmup = static_cast<int64_t>(opts.warmup_ratio * total);
  const int epochs = static_cast<int>((total + steps_per_epoch(train_data, opts.batch_size) - 1) /
                                      steps_per_epoch(train_data, opts.batch_size));
  const std::string primary = task.metrics.front();

  TrainResult result;
  result.total_steps = total;
  result.best_metric = -std::numeric_limits<double>::infinity();
  std::vector<torch::Tensor> best_weights;
  int64_t step = 0;
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    model.train();
    auto batches = make_batches(train_data, opts.batch_size, /*sort_by_length=*/false, /*shuffle=*/true,
                                opts.seed + static_cast<uint64_t>(epoch), pad_id);
    if (static_cast<int64_t>(batches.size()) > total - step) batches.resize(static_cast<size_t>(total - step));
    Progress progress("epoch " + std::to_string(epoch) + "/" + std::to_string(epochs) + " step",
                      static_cast<int64_t>(batches.size()), opts.quiet);
    double loss_sum = 0;
    const auto t0 = std::chrono::steady_clock::now();
    for (size_t i = 0; i < batches.size(); ++i) {
      const double lr = scheduled_lr(opts.learning_rate, step, warmup, total);
      for (auto& group : optimizer.param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
      optimizer.zero_grad();
      auto loss = loss_of(batches[i]);
      const double value = loss.item<double>();
      if (!std::isfinite(value)) {
        throw TrainingError("training diverged: loss is " + std::to_string(value) + " at epoch " +
                            std::to_string(epoch) + " step " + std::to_string(i + 1) +
                            " (try a lower learning rate); nothing was written");
      }
      loss.backward();
      if (opts.max_grad_norm > 0) torch::nn::utils::clip_grad_norm_(all, opts.max_grad_norm);
      optimizer.step();
      ++step;
      if (hooks.after_step) hooks.after_step(step);
      loss_sum += value;
      result.train_examples += static_cast<int64_t>(batches[i].indices.size());
      result.train_tokens += batches[i].tokens();
      char detail[96];
      std::snprintf(detail, sizeof detail, "loss %.4f lr %.2e", loss_sum / static_cast<double>(i + 1), lr);
      progress.update(static_cast<int64_t>(i + 1),
                      hooks.progress_detail ? std::string(detail) + " " + hooks.progress_detail() : detail);
    }
    const double train_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    result.train_seconds += train_s;

    EpochResult er;
    er.epoch = epoch;
    er.steps = step;
    er.train_loss = batches.empty() ? 0.0 : loss_sum / static_cast<double>(batches.size());
    er.metrics = evaluate_metrics(runner, task, eval_data, eval_batches);
    er.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    er.eligible = !hooks.can_keep || hooks.can_keep(step);
    char summary[200];
    std::snprintf(summary, sizeof summary, "done: train loss %.4f, eval %s %.4f, %s%s", er.train_loss,
                  primary.c_str(), er.metrics.at(primary), format_duration(er.seconds).c_str(),
                  er.eligible ? "" : " (pruning under way: not kept)");
    progress.finish(summary);
    if (er.eligible && (best_weights.empty() || er.metrics.at(primary) > result.best_metric)) {
      result.best_metric = er.metrics.at(primary);
      result.best_epoch = epoch;
      best_weights.clear();
      for (const auto& [name, p] : params) best_weights.push_back(p.detach().clone());
    }
    result.epochs.push_back(er);
  }
  if (best_weights.empty()) {
    throw UsageError("no epoch could be kept: pruning had not finished when training ended (end pruning earlier)");
  }
  {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < params.size(); ++i) params[i].second.copy_(best_weights[i]);
  }
  for (auto& [name, p] : params) p.requires_grad_(false);
  model.eval();
  return result;
}

}  // namespace lwm

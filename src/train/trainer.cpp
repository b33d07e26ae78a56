#include "lwm/train/trainer.h"

#include <fmt/format.h>
#include <ATen/CPUGeneratorImpl.h>
#include <spdlog/spdlog.h>
#include <torch/csrc/jit/runtime/graph_executor.h>

#include <algorithm>
#include <stdexcept>
#include <cctype>
#include <chrono>
#include <cmath>
#include <limits>
#include <mutex>
#include <regex>

#include "lwm/common/error.h"
#include "lwm/model/runner.h"
#include "lwm/model/task_loss.h"
#include "lwm/train/data_parallel.h"
#include "lwm/train/progress.h"

namespace lwm {
namespace {

// Linear warm-up to the peak, then linear decay to zero (HF get_linear_schedule_with_warmup).
double scheduled_lr(double peak, int64_t step, int64_t warmup, int64_t total) {
  if (step < warmup) return peak * static_cast<double>(step + 1) / static_cast<double>(warmup);
  return peak * std::max(0.0, static_cast<double>(total - step) / std::max<double>(1.0, total - warmup));
}

// Where a run stands between two optimizer steps (TrainCheckpoints).
struct Position {
  int epoch = 1;      // the epoch to run next
  int64_t batch = 0;  // batches of it done
  int64_t step = 0;   // optimizer steps done
  double epoch_loss_sum = 0;
};

constexpr int kStateFormat = 1;

double number_or_nan(const nlohmann::json& j) {
  return j.is_number() ? j.get<double>() : std::numeric_limits<double>::quiet_NaN();
}

nlohmann::json result_state(const TrainResult& r, bool has_best) {
  nlohmann::json epochs = nlohmann::json::array();
  for (const auto& e : r.epochs) {
    epochs.push_back({{"epoch", e.epoch}, {"steps", e.steps}, {"train_loss", e.train_loss}, {"metrics", e.metrics},
                      {"seconds", e.seconds}, {"eligible", e.eligible}});
  }
  return {{"epochs", epochs},          {"best_epoch", r.best_epoch},       {"has_best", has_best},
          {"best_metric", has_best ? nlohmann::json(r.best_metric) : nlohmann::json(nullptr)},
          {"train_seconds", r.train_seconds}, {"train_examples", r.train_examples}, {"train_tokens", r.train_tokens}};
}

void write_state(torch::serialize::OutputArchive& archive, const Position& pos, const TrainResult& result,
                 const std::vector<std::pair<std::string, torch::Tensor>>& params,
                 const std::vector<torch::Tensor>& best, const torch::optim::AdamW& optimizer) {
  nlohmann::json names = nlohmann::json::array();
  for (const auto& [name, p] : params) names.push_back(name);
  const nlohmann::json meta = {{"format", kStateFormat},
                               {"epoch", pos.epoch},
                               {"batch", pos.batch},
                               {"step", pos.step},
                               {"epoch_loss_sum", pos.epoch_loss_sum},
                               {"total_steps", result.total_steps},
                               {"parameters", names},
                               {"result", result_state(result, !best.empty())}};
  archive.write("train/meta", c10::IValue(meta.dump()));
  for (size_t i = 0; i < params.size(); ++i) {
    archive.write("train/parameter/" + std::to_string(i), params[i].second.detach());
  }
  for (size_t i = 0; i < best.size(); ++i) archive.write("train/best/" + std::to_string(i), best[i]);
  torch::serialize::OutputArchive adamw(archive.compilation_unit());
  optimizer.save(adamw);
  archive.write("train/optimizer", adamw);
  auto generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  archive.write("train/cpu_generator", generator.get_state());
}

// Restores what write_state wrote into the live parameters, optimizer and generator; returns the position.
Position read_state(torch::serialize::InputArchive& archive, TrainResult& result,
                    const std::vector<std::pair<std::string, torch::Tensor>>& params, std::vector<torch::Tensor>& best,
                    torch::optim::AdamW& optimizer) {
  c10::IValue meta_value;
  archive.read("train/meta", meta_value);
  const auto meta = nlohmann::json::parse(meta_value.toStringRef());
  if (meta.at("format").get<int>() != kStateFormat) {
    throw ModelError("the checkpoint's training state has format " + meta.at("format").dump() + ", this lwm reads " +
                     std::to_string(kStateFormat));
  }
  if (meta.at("total_steps").get<int64_t>() != result.total_steps) {
    throw ModelError("the checkpoint is of a run of " + meta.at("total_steps").dump() + " steps, this one has " +
                     std::to_string(result.total_steps));
  }
  const auto& names = meta.at("parameters");
  if (names.size() != params.size()) {
    throw ModelError("the checkpoint holds " + std::to_string(names.size()) + " parameters, the student has " +
                     std::to_string(params.size()));
  }
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < params.size(); ++i) {
    if (names[i].get<std::string>() != params[i].first) {
      throw ModelError("the checkpoint's parameter " + std::to_string(i) + " is " + names[i].dump() +
                       ", the student's is '" + params[i].first + "'");
    }
    torch::Tensor saved;
    archive.read("train/parameter/" + std::to_string(i), saved);
    if (!saved.sizes().equals(params[i].second.sizes()) || saved.dtype() != params[i].second.dtype()) {
      throw ModelError("the checkpoint's '" + params[i].first + "' has another shape or dtype than the student's");
    }
    params[i].second.copy_(saved);
  }
  const auto& r = meta.at("result");
  if (r.at("has_best").get<bool>()) {
    best.clear();
    for (size_t i = 0; i < params.size(); ++i) {
      archive.read("train/best/" + std::to_string(i), best.emplace_back());
      if (!best.back().sizes().equals(params[i].second.sizes()) || best.back().dtype() != params[i].second.dtype()) {
        throw ModelError("the checkpoint's best-epoch '" + params[i].first + "' has another shape or dtype than the student's");
      }
    }
    result.best_epoch = r.at("best_epoch").get<int>();
    result.best_metric = number_or_nan(r.at("best_metric"));
  }
  for (const auto& e : r.at("epochs")) {
    EpochResult er;
    er.epoch = e.at("epoch").get<int>();
    er.steps = e.at("steps").get<int64_t>();
    er.train_loss = number_or_nan(e.at("train_loss"));
    for (const auto& [k, v] : e.at("metrics").items()) er.metrics[k] = number_or_nan(v);
    er.seconds = e.at("seconds").get<double>();
    er.eligible = e.at("eligible").get<bool>();
    result.epochs.push_back(er);
  }
  result.train_seconds = r.at("train_seconds").get<double>();
  result.train_examples = r.at("train_examples").get<int64_t>();
  result.train_tokens = r.at("train_tokens").get<int64_t>();
  torch::serialize::InputArchive adamw;
  archive.read("train/optimizer", adamw);
  optimizer.load(adamw);
  torch::Tensor generator_state;
  archive.read("train/cpu_generator", generator_state);
  auto generator = at::detail::getDefaultCPUGenerator();
  {
    std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_state(generator_state);
  }
  Position pos;
  pos.epoch = meta.at("epoch").get<int>();
  pos.batch = meta.at("batch").get<int64_t>();
  pos.step = meta.at("step").get<int64_t>();
  pos.epoch_loss_sum = meta.at("epoch_loss_sum").get<double>();
  result.resumed_from_step = pos.step;
  return pos;
}

}  // namespace

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
          {"resumed_from_step", resumed_from_step},
          {"train_examples", train_examples},
          {"train_tokens", train_tokens},
          {"tokens_per_s", train_seconds > 0 ? train_tokens / train_seconds : 0.0},
          {"threads", torch::get_num_threads()},
          {"workers", workers},
          {"gradient_sync_seconds", gradient_sync_seconds}};
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
                  int64_t pad_id, const Evaluator& evaluate, const TrainOptions& opts, const TrainHooks& hooks,
                  const TrainCheckpoints& checkpoints, DataParallel* parallel) {
  if (!evaluate) throw std::invalid_argument("train: no evaluator");
  if (opts.epochs < 1) throw UsageError("epochs must be at least 1");
  if (train_data.examples.empty()) throw DataError("no training examples");
  // TorchScript's profiling executor runs a method's first calls as written and later ones optimized (its
  // autodiff subgraphs round differently, by an ulp or so): the weights would then depend on how many calls the
  // process had made, and a run resumed in a new process would differ from one never stopped. Unoptimized, every
  // call computes the same, and training was no slower unoptimized (docs/design.md, "Checkpoints").
  torch::jit::GraphOptimizerEnabledGuard same_graph_every_call(false);
  // Dropout draws from the default generator: each worker of a data-parallel run its own stream (rank 0's
  // is a single process's).
  const int rank = parallel ? parallel->rank() : 0;
  const bool main_worker = rank == 0;
  torch::manual_seed(opts.seed + static_cast<uint64_t>(rank));

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
  const int64_t total = total_steps(train_data, opts);
  const int64_t warmup = static_cast<int64_t>(opts.warmup_ratio * total);
  const int epochs = static_cast<int>((total + steps_per_epoch(train_data, opts.batch_size) - 1) /
                                      steps_per_epoch(train_data, opts.batch_size));
  const std::string primary = task.metrics.front();

  TrainResult result;
  result.total_steps = total;
  result.workers = parallel ? parallel->world_size() : 1;
  result.best_metric = -std::numeric_limits<double>::infinity();
  std::vector<torch::Tensor> best_weights;
  Position resumed;
  if (checkpoints.resume) {
    try {
      resumed = read_state(*checkpoints.resume, result, params, best_weights, optimizer);
    } catch (const Error&) {
      throw;
    } catch (const c10::Error& e) {
      const std::string why = e.what_without_backtrace();
      throw ModelError("the checkpoint's training state cannot be read: " + why.substr(0, why.find('\n')));
    } catch (const std::exception& e) {  // nlohmann's, and Optimizer::load's std::stoull
      throw ModelError(std::string("the checkpoint's training state is damaged: ") + e.what());
    }
    if (!opts.quiet && main_worker) {
      spdlog::info("resuming after step {} of {} (epoch {}, batch {})", resumed.step, total, resumed.epoch, resumed.batch);
    }
    // The checkpoint holds rank 0's dropout stream; the others take a stream of their own again.
    if (!main_worker) torch::manual_seed(opts.seed + static_cast<uint64_t>(rank) * 1000003u + static_cast<uint64_t>(resumed.step));
  }
  if (parallel) {
    // Every worker starts from rank 0's weights (they were built alike; this makes it so).
    parallel->broadcast(all);
  }
  // `epoch_train_s`: training time of the unfinished epoch, not yet in `result`.
  auto save_checkpoint = [&](const Position& pos, double epoch_train_s) {
    TrainResult so_far = result;
    so_far.train_seconds += epoch_train_s;
    torch::serialize::OutputArchive state;
    write_state(state, pos, so_far, params, best_weights, optimizer);
    checkpoints.save(state, pos.step);
  };
  // Only rank 0 writes: the others hold the same state.
  const bool checkpointing = checkpoints.every > 0 && checkpoints.save && main_worker;
  int64_t step = resumed.step;
  for (int epoch = resumed.epoch; epoch <= epochs; ++epoch) {
    model.train();
    auto batches = make_batches(train_data, opts.batch_size, /*sort_by_length=*/false, /*shuffle=*/true,
                                opts.seed + static_cast<uint64_t>(epoch), pad_id);
    const size_t first = epoch == resumed.epoch ? static_cast<size_t>(resumed.batch) : 0;
    // The steps left, counted from this epoch's first batch.
    const int64_t left = total - step + static_cast<int64_t>(first);
    if (static_cast<int64_t>(batches.size()) > left) batches.resize(static_cast<size_t>(left));
    Progress progress("epoch " + std::to_string(epoch) + "/" + std::to_string(epochs) + " step",
                      static_cast<int64_t>(batches.size()), opts.quiet || !main_worker, static_cast<int64_t>(first));
    double loss_sum = first > 0 ? resumed.epoch_loss_sum : 0.0;
    const auto t0 = std::chrono::steady_clock::now();
    double checkpoint_s = 0;  // writing checkpoints is not training
    for (size_t i = first; i < batches.size(); ++i) {
      const double lr = scheduled_lr(opts.learning_rate, step, warmup, total);
      for (auto& group : optimizer.param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
      optimizer.zero_grad();
      double value = 0;
      if (parallel) {
        // This worker's rows; the sum over workers of (their loss x their share of the rows) is the batch's loss.
        const Batch local = parallel->shard(batches[i]);
        double local_value = 0;
        if (!local.indices.empty()) {
          auto loss = loss_of(local) * parallel->shard_weight(batches[i]);
          local_value = loss.item<double>();
          loss.backward();
        }
        value = parallel->allreduce_gradients(all, local_value);
      } else {
        auto loss = loss_of(batches[i]);
        value = loss.item<double>();
        if (std::isfinite(value)) loss.backward();
      }
      if (!std::isfinite(value)) {
        throw TrainingError("training diverged: loss is " + std::to_string(value) + " at epoch " +
                            std::to_string(epoch) + " step " + std::to_string(i + 1) +
                            " (try a lower learning rate); nothing was written");
      }
      if (opts.max_grad_norm > 0) torch::nn::utils::clip_grad_norm_(all, opts.max_grad_norm);
      optimizer.step();
      ++step;
      if (hooks.after_step) hooks.after_step(step);
      loss_sum += value;
      result.train_examples += static_cast<int64_t>(batches[i].indices.size());
      result.train_tokens += batches[i].tokens();
      const std::string detail = fmt::format("loss {:.4f} lr {:.2e}", loss_sum / static_cast<double>(i + 1), lr);
      progress.update(static_cast<int64_t>(i + 1),
                      hooks.progress_detail ? detail + " " + hooks.progress_detail() : detail);
      if (checkpointing && step % checkpoints.every == 0 && i + 1 < batches.size()) {
        const auto now = std::chrono::steady_clock::now();
        save_checkpoint({epoch, static_cast<int64_t>(i + 1), step, loss_sum},
                        std::chrono::duration<double>(now - t0).count() - checkpoint_s);
        checkpoint_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - now).count();
      }
    }
    const double train_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() - checkpoint_s;
    result.train_seconds += train_s;

    EpochResult er;
    er.epoch = epoch;
    er.steps = step;
    er.train_loss = batches.empty() ? 0.0 : loss_sum / static_cast<double>(batches.size());
    if (parallel) {
      // Rank 0 evaluates; every worker keeps the same best epoch by its figures.
      er.metrics = parallel->broadcast_metrics(main_worker ? evaluate(runner) : std::map<std::string, double>{});
      parallel->check_in_sync(params, "after epoch " + std::to_string(epoch));
    } else {
      er.metrics = evaluate(runner);
    }
    er.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    er.eligible = !hooks.can_keep || hooks.can_keep(step);
    const std::string summary =
        fmt::format("done: train loss {:.4f}, eval {} {:.4f}, {}{}", er.train_loss, primary, er.metrics.at(primary),
                    format_duration(er.seconds), er.eligible ? "" : " (pruning under way: not kept)");
    progress.finish(summary);
    if (er.eligible && (best_weights.empty() || er.metrics.at(primary) > result.best_metric)) {
      result.best_metric = er.metrics.at(primary);
      result.best_epoch = epoch;
      best_weights.clear();
      for (const auto& [name, p] : params) best_weights.push_back(p.detach().clone());
    }
    result.epochs.push_back(er);
    if (checkpointing) save_checkpoint({epoch + 1, 0, step, 0.0}, 0.0);
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
  if (parallel) result.gradient_sync_seconds = parallel->gradient_sync_seconds();
  return result;
}

}  // namespace lwm

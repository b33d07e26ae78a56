#pragma once
// Training a native (define()-built) classifier: AdamW (no decay on biases and
// LayerNorm weights), linear warm-up then linear decay, gradient clipping,
// evaluation each epoch, and the best epoch's weights kept. The loss and what
// happens after each optimizer step are hooks, so fine-tuning and distillation
// with pruning share one loop.
#include <nlohmann/json.hpp>
#include <torch/script.h>
#include <torch/serialize/archive.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "lwm/data/batcher.h"
#include "lwm/data/task.h"
#include "lwm/model/runner.h"

namespace lwm {

struct TrainOptions {
  int epochs = 3;
  int64_t max_steps = 0;  // > 0: stop after this many optimizer steps (epochs then only bounds it)
  int batch_size = 32;
  int eval_batch_size = 64;  // for the Evaluator the caller makes (the trainer only calls it)
  double learning_rate = 5e-5;
  double weight_decay = 0.01;
  double warmup_ratio = 0.1;   // fraction of all steps
  double max_grad_norm = 1.0;  // <= 0: no clipping
  uint64_t seed = 42;
  bool quiet = false;
};

struct EpochResult {
  int epoch = 0;
  int64_t steps = 0;  // global step at the end of the epoch
  double train_loss = 0;
  std::map<std::string, double> metrics;
  double seconds = 0;
  bool eligible = true;  // could be kept as the best (false while pruning is still under way)
};

struct TrainResult {
  std::vector<EpochResult> epochs;
  int best_epoch = 0;
  double best_metric = 0;
  int64_t total_steps = 0;
  double train_seconds = 0;  // optimisation only (no evaluation), over every process of a resumed run
  int64_t resumed_from_step = 0;  // > 0: this process continued a checkpoint written after that many steps
  int64_t train_examples = 0;
  int64_t train_tokens = 0;  // non-padding tokens seen
  int workers = 1;           // processes of a data-parallel run (train/data_parallel.h)
  double gradient_sync_seconds = 0;  // of train_seconds: rank 0's time summing gradients over the workers
  const EpochResult& best() const { return epochs.at(static_cast<size_t>(best_epoch - 1)); }
  nlohmann::json to_json() const;
};

struct TrainHooks {
  // The loss of one batch (the forward pass happens inside). Default: task_loss (model/task_loss.h) on the model's logits.
  std::function<torch::Tensor(const Batch& batch)> loss;
  // Called after every optimizer step with the global step count (1-based).
  std::function<void(int64_t step)> after_step;
  // Whether the weights at the end of `step` may be kept as the best.
  std::function<bool(int64_t step)> can_keep;
  // Extra progress text (e.g. current sparsity).
  std::function<std::string()> progress_detail;
};

// Checkpoints of a training run (compress --checkpoint-every / --resume). A state holds everything the loop
// needs to go on exactly where it stopped: the parameters, AdamW's moments and step counts, the best epoch's
// parameters so far, the finished epochs' results, the position in the current epoch's batch order (which is
// made again from the seed), the epoch's running loss and the default CPU generator's state (dropout). Resumed
// with the same data, options and threads, a run ends with the same weights, bit for bit, as one never stopped
// (test_checkpoint.cpp).
struct TrainCheckpoints {
  int64_t every = 0;  // > 0: a state after every this many optimizer steps and at the end of each epoch
  // Receives each state (the trainer's part, under its own keys); the caller adds its parts (e.g. pruning
  // masks) to the same archive and writes it. `step`: optimizer steps done.
  std::function<void(torch::serialize::OutputArchive& state, int64_t step)> save;
  // An archive `save` received, read back: training continues from it. ModelError when it does not fit this
  // model and these options (other parameters, another number of steps) or is damaged.
  torch::serialize::InputArchive* resume = nullptr;
};

// Whether AdamW's weight decay applies to a parameter, as Hugging Face's Trainer decides it
// (transformers 5.23, Trainer.get_decay_parameter_names): not to parameters of nn.LayerNorm modules, and not
// to names matching "bias", "layernorm", "rmsnorm", "(^|.)norm($|.)" or "_norm($|.)" (lower-cased). lwm's
// rebuilds keep Hugging Face's names but not its module types: a norm's weight is known by its shape, the
// one 1-D weight kind these families have besides biases (GPT-2's ln_1/ln_2/ln_f, which only the type
// excluded). `dim`: the parameter's number of dimensions. T5's 2-D relative_attention_bias is not decayed
// ("bias" in its name), as in Hugging Face.
bool weight_decay_applies(const std::string& name, int64_t dim);

// Steps an epoch has at this batch size.
int64_t steps_per_epoch(const EncodedDataset& train, int batch_size);
// Total optimizer steps a run will take.
int64_t total_steps(const EncodedDataset& train, const TrainOptions& opts);

// The task's metrics (by name, the task's primary metric among them) of the model `runner` runs, on the eval
// data: what the trainer calls after each epoch. measure/evaluation.h, metrics_on(), makes one.
using Evaluator = std::function<std::map<std::string, double>(ModelRunner& runner)>;

class DataParallel;

// Trains `model` in place on `train_data` (batches padded with `pad_id`), calling `evaluate` after each epoch;
// on return it holds the weights of the best eligible epoch by the task's primary metric, in eval mode.
// TrainingError on a NaN/inf loss.
// `parallel`: run as one worker of a data-parallel group (train/data_parallel.h): every worker passes the same
// data and options; each computes its slice of every batch, the gradients are summed, rank 0 alone evaluates
// (its metrics are sent to the others) and writes checkpoints; the weights are checked to agree after each epoch.
// WorkerError when the group fails.
TrainResult train(torch::jit::Module& model, const TaskSpec& task, const EncodedDataset& train_data,
                  int64_t pad_id, const Evaluator& evaluate, const TrainOptions& opts, const TrainHooks& hooks = {},
                  const TrainCheckpoints& checkpoints = {}, DataParallel* parallel = nullptr);

}  // namespace lwm

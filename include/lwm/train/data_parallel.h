#pragma once
// Data-parallel training over several processes with LibTorch's c10d: a TCPStore for the rendezvous and a
// ProcessGroupGloo for the collectives, the machinery behind PyTorch's torchrun and DistributedDataParallel.
//
// Every worker builds the same global batches (same data, seed and epoch) and runs the forward and backward
// pass on its own slice of each batch; the gradients are summed with one allreduce per step, each slice's loss
// weighted by its share of the batch's examples, so N workers take the optimizer step one process would take on
// the whole batch (the batch mean of a per-example loss; DistributedDataParallel's averaging, made exact for
// uneven slices). Every worker then runs the same optimizer step and the same pruning-mask update on the same
// weights; check_in_sync() verifies it. docs/distributed.md says what is exact and what is not (dropout).
#include <torch/torch.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lwm/common/error.h"
#include "lwm/data/batcher.h"

namespace lwm {

// A data-parallel group that failed: a worker died, closed its connection, or did not answer within the
// timeout. Exit code 8.
struct WorkerError : Error {
  explicit WorkerError(const std::string& m) : Error(ExitCode::WorkerFailed, m) {}
};

// Where a worker stands, as torchrun's environment variables say it.
struct WorkerEnv {
  int rank = 0;        // RANK: 0 .. world_size - 1; rank 0 evaluates and writes every output
  int world_size = 1;  // WORLD_SIZE
  int local_rank = 0;  // LOCAL_RANK (this machine's workers); informational on CPU
  std::string master_addr = "127.0.0.1";  // MASTER_ADDR: host of rank 0's TCPStore
  int master_port = 29500;                // MASTER_PORT

  // The variables of this process's environment; nullopt when WORLD_SIZE is unset. UsageError when one is
  // malformed or missing (WORLD_SIZE without RANK, RANK >= WORLD_SIZE, a port outside 1..65535).
  static std::optional<WorkerEnv> from_environment();
};

class DataParallel {
 public:
  // Joins the group: rank 0 serves the TCPStore at master_addr:master_port, every rank connects to it, then
  // the Gloo group connects every pair of ranks over TCP. `timeout` bounds the rendezvous and every collective
  // (torch.distributed's default for Gloo is 30 minutes). WorkerError when the group cannot form in time.
  DataParallel(const WorkerEnv& env, std::chrono::milliseconds timeout);
  ~DataParallel();
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  int rank() const { return env_.rank; }
  int world_size() const { return env_.world_size; }
  bool is_main() const { return env_.rank == 0; }

  // This worker's rows of a global batch: rows [rank * B / N, (rank + 1) * B / N), cut to their own longest
  // sequence. Empty (no rows) when the batch has fewer rows than workers.
  Batch shard(const Batch& global) const;
  // The weight of this worker's loss in the sum: its rows / the batch's rows.
  double shard_weight(const Batch& global) const;

  // Sums every parameter's gradient over the workers (one flat allreduce; an undefined gradient counts as
  // zeros) and writes the sum back as each parameter's gradient; `loss` ([] or [1]: this worker's weighted
  // loss) travels in the same allreduce, and the sum is returned (the global batch's loss).
  double allreduce_gradients(const std::vector<torch::Tensor>& parameters, double loss);
  // Wall seconds allreduce_gradients took so far (packing, the allreduce, unpacking; waiting for slower
  // workers included): the data-parallel overhead of the training steps.
  double gradient_sync_seconds() const { return gradient_sync_seconds_; }
  // Copies rank 0's values into these tensors on every rank.
  void broadcast(std::vector<torch::Tensor>& tensors);
  // Rank 0's metrics on every rank.
  std::map<std::string, double> broadcast_metrics(const std::map<std::string, double>& metrics);
  // Checks that every rank holds the same values, bit for bit, in these tensors (a per-tensor checksum compared
  // with allreduce MIN and MAX); TrainingError naming the first that differs and `when`.
  void check_in_sync(const std::vector<std::pair<std::string, torch::Tensor>>& tensors, const std::string& when);
  // The element-wise sum over the ranks of `values`.
  std::vector<double> sum(const std::vector<double>& values);

 private:
  struct Group;
  // Rank 0's `text` on every rank.
  std::string broadcast_text(const std::string& text);
  WorkerEnv env_;
  double gradient_sync_seconds_ = 0;
  std::unique_ptr<Group> group_;
};

}  // namespace lwm

#pragma once
// The sub-commands of `compress`, callable from main and from tests.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "lwm/measure/energy.h"
#include "lwm/pipeline/task_data.h"
#include "lwm/train/data_parallel.h"
#include "lwm/train/trainer.h"

namespace lwm {

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
  DataParallel* parallel = nullptr;  // one worker of a data-parallel run: rank 0 alone writes --out, --metrics-out
};

int run_inspect(const InspectArgs& args);
int run_evaluate(const EvaluateArgs& args);
int run_finetune(const FinetuneArgs& args);

// Starts `nproc` copies of this program on this machine as the workers of one data-parallel run, as torchrun
// does: each with `args` (the command line without --nproc) and RANK, LOCAL_RANK, WORLD_SIZE,
// LOCAL_WORLD_SIZE, MASTER_ADDR=127.0.0.1 and a free MASTER_PORT in its environment. Waits for all; when one
// fails (exits non-zero or is killed), stops the others (SIGTERM, then SIGKILL after 10 s) and prints one line
// naming it. SIGINT and SIGTERM sent to this process are passed on to the workers. Returns 0 when every worker
// succeeded; else the exit code of the failure that came first among those not caused by the group's failure
// (ExitCode::WorkerFailed when a worker was killed by a signal, or when only group failures were seen).
int launch_workers(int nproc, const std::vector<std::string>& args);

}  // namespace lwm

#pragma once
// The one fixed pipeline: measure the teacher -> layer removal -> distillation with
// gradual magnitude pruning -> shrink -> optional int8 -> measure the student -> report.
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "lwm/common/input_guard.h"
#include "lwm/pipeline/config.h"
#include "lwm/train/data_parallel.h"

namespace lwm {

struct CompressArgs {
  std::filesystem::path model, train, eval, tokenizer, out;
  std::filesystem::path config_file;  // the preset read into `config`, if any (only read, like every input)
  std::string task;
  CompressConfig config;
  bool overwrite = false;
  bool quiet = false;
  size_t limit_train = 0;  // 0: all
  size_t limit_eval = 0;
  std::vector<std::string> label_words;  // text-to-text models: the words scored for the labels
  std::vector<std::string> labels;       // the teacher's label order (--labels); empty: the task's
  int64_t checkpoint_every = 0;  // > 0: a checkpoint (lwm/pipeline/checkpoint.h) every N steps and each epoch end
  bool resume = false;           // continue from out/checkpoint.pt when there is one
  // With int8: also publish the same student before int8 here (model.pt + a report.json of its own, int8 off,
  // the same run's teacher measurement and cost), so one distillation yields both (compress search does).
  // Must be another directory than `out`; it is written first, with `overwrite` as for `out`.
  std::filesystem::path fp32_out;
  // Set: this process is one worker of a data-parallel run (lwm/train/data_parallel.h). Every worker reads the
  // inputs and distills its slice of each batch; only rank 0 touches `out` (and `fp32_out`), measures and
  // reports, the others return after the distillation with an empty outcome.
  DataParallel* parallel = nullptr;
};

struct CompressOutcome {
  nlohmann::json report;  // null on a data-parallel worker other than rank 0
  bool targets_met = true;
};

// Every file a compression run with these arguments reads, each named by its option (teacher, training and eval
// data, config file, tokenizer files), for the guard that no output is an input (lwm/common/input_guard.h).
std::vector<NamedPath> compress_input_files(const CompressArgs& args);

// Writes out/model.pt and out/report.json (atomically, both or neither) and returns the report.
// OutputError (before any work) if `out` holds an earlier result and overwrite is false, or if an output
// would be an input file (teacher, data, tokenizer file, config: lwm/common/input_guard.h), overwrite or not.
// A checkpoint of an unfinished run in `out` is continued with `resume` (UsageError when it is another run's),
// discarded with `overwrite`, and otherwise an OutputError; it is removed once the result is published.
CompressOutcome run_compress(const CompressArgs& args);

}  // namespace lwm

#pragma once
// compress --checkpoint-every N / --resume: a run's checkpoint is one file, <out>/checkpoint.pt (a LibTorch
// serialize archive), written atomically: staged as <out>/.checkpoint.pt.staged, fsync'ed, renamed, and the
// directory fsync'ed, so a kill -9 or a power loss leaves the previous checkpoint or the new one. It holds the
// training state (lwm/train/trainer.h, TrainCheckpoints), the pruner's masks (StructuredPruner::save) and the
// run's fingerprint, which --resume compares so that it never continues another run's work.
#include <torch/serialize/archive.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lwm/common/input_guard.h"
#include "lwm/pipeline/pipeline.h"

namespace lwm {

std::filesystem::path checkpoint_path(const std::filesystem::path& out);         // out/checkpoint.pt
std::filesystem::path staged_checkpoint_path(const std::filesystem::path& out);  // out/.checkpoint.pt.staged

// What makes a run the same run: the task, every config key that changes the student (not those read only
// after training: int8, the measurement and the targets), the data limits, label order and label words, and
// the content of each input file (size and FNV-1a hash: a fresh checkout or a copy has other modification
// times but the same bytes). Threads, lwm's and LibTorch's versions are recorded too: another value still
// resumes, with a warning that the student will not be bit-identical. `inputs`: the files to fingerprint (the
// --config file is not among them: its keys are in the config).
nlohmann::json run_fingerprint(const CompressArgs& args, const std::vector<NamedPath>& inputs, int threads);

// Adds the fingerprint to `state` and writes it atomically as checkpoint_path(out). OutputError (exit 5) when it
// cannot be written (e.g. a full disk); the previous checkpoint is then intact.
void write_checkpoint(const std::filesystem::path& out, torch::serialize::OutputArchive& state,
                      const nlohmann::json& fingerprint);

// Reads checkpoint_path(out), before any long work. UsageError (exit 2) naming the first difference when it is
// another run's (`fingerprint` is this run's); ModelError (exit 3) when it is damaged. Warns when only the
// threads or the versions differ.
std::unique_ptr<torch::serialize::InputArchive> read_checkpoint(const std::filesystem::path& out,
                                                                const nlohmann::json& fingerprint);

}  // namespace lwm

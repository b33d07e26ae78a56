#pragma once
// Writing a TorchScript file so that a failed write is an error, not the end of the process.
#include <torch/script.h>

#include <filesystem>

namespace lwm {

// torch::jit::Module::save to `path`, serialized in memory first and then written, checked and fsync'ed
// here: LibTorch's own file writer throws from its destructor when a write fails (a full disk, `ulimit -f`),
// which terminates the process. OutputError naming the file (and the cause: "disk full or a file-size
// limit?") when the file cannot be written; a partial file may remain at `path` (callers write to a staged
// or temporary path). Costs the file's size in memory while saving.
void save_torchscript(const torch::jit::Module& module, const std::filesystem::path& path);

}  // namespace lwm

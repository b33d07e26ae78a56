#pragma once
// lwm never writes over what it reads. Every command names its inputs (teacher, data, tokenizer files,
// config) and its outputs before any work; an output that is, or resolves to, an input is refused.
#include <filesystem>
#include <string>
#include <vector>

namespace lwm {

// A file a command reads or writes, and what the user called it ("--model", "the student (--out)").
struct NamedPath {
  std::string role;
  std::filesystem::path path;
};

// Throws OutputError (exit 5), one line naming both roles, when an output is the same file as an input
// (or as another output): the same path, a path through `..` or a symlink to it, or a hard link to it
// (std::filesystem::equivalent: same device and inode). Outputs that do not exist yet are compared by
// weakly_canonical path. Inputs that do not exist are skipped (their reader reports them).
void refuse_outputs_over_inputs(const std::vector<NamedPath>& outputs, const std::vector<NamedPath>& inputs);

}  // namespace lwm

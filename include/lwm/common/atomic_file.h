#pragma once
// Outputs are written to a temporary file beside the target and renamed into
// place, so a failure never leaves a partial file or damages an existing one.
#include <filesystem>
#include <functional>
#include <string>

namespace lwm {

// Calls `write(tmp_path)` with a fresh temporary path in the target's
// directory, then renames it onto `target`. On any exception the temporary
// file is removed and an OutputError (or the original lwm::Error) propagates.
void write_atomically(const std::filesystem::path& target,
                      const std::function<void(const std::filesystem::path& tmp)>& write);

// Convenience for text outputs (reports). `durable`: the file's data reaches the disk (fsync) before the
// rename, so that after a power loss the target is the old or the new text, never empty.
void write_text_atomically(const std::filesystem::path& target, const std::string& text, bool durable = false);

// fsync of a written file; OutputError when it fails (a full disk can surface only here).
void sync_file(const std::filesystem::path& path);

// Makes renames and removals in `dir` durable (they live in the directory's own data); best effort.
void sync_directory(const std::filesystem::path& dir);

// Throws OutputError naming the path if its directory does not exist or is not writable.
void check_writable(const std::filesystem::path& target);

}  // namespace lwm

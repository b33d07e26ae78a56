#pragma once
// A result made of several files (model.pt + report.json) is published as a unit: after a crash at any
// moment (kill -9, a full disk, power loss) the directory holds either the whole earlier result or the whole
// new one, never a mix and never a partial file.
//
// Protocol: a write-ahead journal, as databases keep one.
//   1. The caller has written each new file completely to a staged path beside its target.
//   2. The journal `<dir>/.lwm-publish.json` (every target, its staged path, and whether it had an earlier
//      version) is written atomically (temporary file, fsync, rename, fsync of the directory).
//   3. Each existing target gets a backup: a hard link `<target>.previous` to the same file.
//   4. Each staged file is renamed onto its target; the directory is synced.
//   5. The journal is removed, then the backups.
// recover_publish() rolls back a publish that stopped between 2 and 5: each target that had an earlier
// version is restored from its backup (if the crash came before its backup existed, the target is still
// the earlier file), each one that had none is removed. A crash before 2 leaves the earlier result and
// only stray staged files, which recover_publish() also removes.
#include <filesystem>
#include <functional>
#include <vector>

namespace lwm {

struct StagedFile {
  std::filesystem::path staged;  // written completely, in the target's directory
  std::filesystem::path target;
};

// Publishes `files` (all in one directory) as a unit. On a failure it restores the earlier result and throws
// OutputError naming the file. `after_rename(i)` runs after the i-th rename (tests use it to simulate a crash).
void publish_together(const std::vector<StagedFile>& files, const std::function<void(size_t)>& after_rename = {});

// Rolls back an interrupted publish in `dir` (see above) and removes the staged files the journal names.
// Returns true when there was one. OutputError when the directory cannot be restored.
bool recover_publish(const std::filesystem::path& dir);

}  // namespace lwm

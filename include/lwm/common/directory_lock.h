#pragma once
// One writer per output directory: two runs writing the same --out would interleave their results.
#include <filesystem>

namespace lwm {

// Holds an exclusive flock(2) on `<dir>/.lwm.lock` for its lifetime (released by the kernel if the process
// dies). OutputError, naming the directory, when another process holds it or the file cannot be made.
class DirectoryLock {
 public:
  explicit DirectoryLock(const std::filesystem::path& dir);
  ~DirectoryLock();
  DirectoryLock(const DirectoryLock&) = delete;
  DirectoryLock& operator=(const DirectoryLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace lwm

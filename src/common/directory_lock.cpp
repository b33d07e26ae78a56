#include "lwm/common/directory_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "lwm/common/error.h"

namespace lwm {

DirectoryLock::DirectoryLock(const std::filesystem::path& dir) {
  const auto file = dir / ".lwm.lock";
  fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw OutputError(dir.string() + ": cannot lock the output directory: " + std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd_);
    fd_ = -1;
    if (err == EWOULDBLOCK) throw OutputError(dir.string() + ": another lwm run is writing to this output directory");
    throw OutputError(dir.string() + ": cannot lock the output directory: " + std::strerror(err));
  }
}

DirectoryLock::~DirectoryLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the lock
}

}  // namespace lwm

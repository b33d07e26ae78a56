#include "lwm/common/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fstream>
#include <random>

#include "lwm/common/error.h"

namespace fs = std::filesystem;

namespace lwm {

void check_writable(const fs::path& target) {
  fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    throw OutputError(target.string() + ": cannot write: directory " + dir.string() + " does not exist");
  }
  if (::access(dir.c_str(), W_OK) != 0) {
    throw OutputError(target.string() + ": cannot write: directory " + dir.string() + " is not writable");
  }
  if (fs::is_directory(target, ec)) {
    throw OutputError(target.string() + ": cannot write: it is a directory");
  }
}

void write_atomically(const fs::path& target, const std::function<void(const fs::path&)>& write) {
  check_writable(target);
  std::random_device rd;
  fs::path tmp = target;
  tmp += ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(rd() % 1000000);
  try {
    write(tmp);
    std::error_code ec;
    fs::rename(tmp, target, ec);
    if (ec) throw OutputError(target.string() + ": cannot write: " + ec.message());
  } catch (const Error&) {
    std::error_code ignore;
    fs::remove(tmp, ignore);
    throw;
  } catch (const std::exception& e) {
    std::error_code ignore;
    fs::remove(tmp, ignore);
    throw OutputError(target.string() + ": cannot write: " + e.what());
  }
}

void sync_file(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) throw OutputError(path.string() + ": cannot open to sync: " + std::strerror(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) throw OutputError(path.string() + ": cannot write: " + std::strerror(err));
}

void sync_directory(const fs::path& dir) {
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

void write_text_atomically(const fs::path& target, const std::string& text, bool durable) {
  write_atomically(target, [&](const fs::path& tmp) {
    std::ofstream out(tmp, std::ios::binary);
    if (!out) throw OutputError(target.string() + ": cannot open for writing");
    out << text;
    out.close();
    if (!out) throw OutputError(target.string() + ": write failed (disk full?)");
    if (durable) sync_file(tmp);
  });
}

}  // namespace lwm

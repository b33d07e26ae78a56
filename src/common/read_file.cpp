#include "lwm/common/read_file.h"

#include <fstream>
#include <sstream>
#include <system_error>

#include "lwm/common/error.h"

namespace lwm {

std::string read_file(const std::filesystem::path& path, const std::string& what) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    throw DataError(path.string() + ": no such file" + (what.empty() ? "" : " (" + what + ")"));
  }
  if (std::filesystem::is_directory(path, ec)) {
    throw DataError(path.string() + ": is a directory, expected " + (what.empty() ? "a file" : what));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(path.string() + ": cannot open for reading");
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (in.bad()) throw DataError(path.string() + ": read error");
  return bytes.str();
}

}  // namespace lwm

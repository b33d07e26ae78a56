#include "lwm/model/torchscript_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "lwm/common/atomic_file.h"
#include "lwm/common/error.h"

namespace lwm {

void save_torchscript(const torch::jit::Module& module, const std::filesystem::path& path) {
  std::ostringstream bytes(std::ios::binary);
  module.save(bytes);
  const std::string_view data = bytes.view();
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw OutputError(path.string() + ": cannot open for writing: " + std::strerror(errno));
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  out.close();
  if (!out) {
    throw OutputError(path.string() + ": cannot write " + std::to_string(data.size()) +
                      " bytes (disk full or a file-size limit?)");
  }
  sync_file(path);
}

}  // namespace lwm

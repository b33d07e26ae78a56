#include "lwm/common/input_guard.h"

#include "lwm/common/error.h"

namespace fs = std::filesystem;

namespace lwm {
namespace {

bool same_file(const fs::path& a, const fs::path& b) {
  std::error_code ec;
  if (fs::exists(a, ec) && fs::exists(b, ec)) {
    const bool same = fs::equivalent(a, b, ec);
    if (!ec) return same;
  }
  const fs::path ca = fs::weakly_canonical(fs::absolute(a, ec), ec);
  if (ec) return false;
  const fs::path cb = fs::weakly_canonical(fs::absolute(b, ec), ec);
  return !ec && ca == cb;
}

}  // namespace

void refuse_outputs_over_inputs(const std::vector<NamedPath>& outputs, const std::vector<NamedPath>& inputs) {
  for (size_t i = 0; i < outputs.size(); ++i) {
    const NamedPath& out = outputs[i];
    if (out.path.empty()) continue;
    for (const NamedPath& in : inputs) {
      std::error_code ec;
      if (in.path.empty() || !fs::exists(in.path, ec)) continue;
      if (same_file(out.path, in.path)) {
        throw OutputError(out.path.string() + ": " + out.role + " would overwrite " + in.role + " (" +
                          in.path.string() + "); lwm never writes over an input: choose another output path");
      }
    }
    for (size_t j = 0; j < i; ++j) {
      if (!outputs[j].path.empty() && same_file(out.path, outputs[j].path)) {
        throw OutputError(out.path.string() + ": " + out.role + " and " + outputs[j].role + " are the same file");
      }
    }
  }
}

}  // namespace lwm

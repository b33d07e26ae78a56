#include "lwm/data/tokenizer_files.h"

namespace fs = std::filesystem;

namespace lwm {

std::vector<fs::path> tokenizer_input_files(const fs::path& path) {
  std::vector<fs::path> files;
  std::error_code ec;
  const bool is_dir = fs::is_directory(path, ec);
  if (!is_dir && fs::exists(path, ec)) files.push_back(path);
  const fs::path dir = is_dir ? path : (path.has_parent_path() ? path.parent_path() : fs::path("."));
  for (const char* name : {"vocab.txt", "vocab.json", "merges.txt", "tokenizer.json", "tokenizer_config.json",
                           "special_tokens_map.json", "added_tokens.json"}) {
    if (fs::is_regular_file(dir / name, ec)) files.push_back(dir / name);
  }
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() == ".model" && it->is_regular_file(ec)) files.push_back(it->path());
  }
  return files;
}

}  // namespace lwm

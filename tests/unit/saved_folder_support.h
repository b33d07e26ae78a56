#pragma once
// Tokenizer folders as Hugging Face's save_pretrained writes them, for the saved-folder tests of
// test_tokenizer.cpp, test_bpe_tokenizer.cpp and test_sentencepiece_tokenizer.cpp: a temporary folder, its
// files, and transformers' ids for it (tools/hf_saved_folder_ids.py).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "lwm/common/error.h"
#include "lwm/data/tokenizer.h"
#include "test_support.h"

namespace lwm::test {

// A fresh directory under the system's temporary directory, removed with its files at the end of the scope.
struct SavedFolder {
  std::filesystem::path dir;
  SavedFolder() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "lwm-saved-tokenizer-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    dir = tmpl;
  }
  ~SavedFolder() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  SavedFolder(const SavedFolder&) = delete;
  SavedFolder& operator=(const SavedFolder&) = delete;

  std::filesystem::path write(const std::string& name, const std::string& text) const {
    std::ofstream out(dir / name, std::ios::binary);
    out << text;
    return dir / name;
  }
  std::filesystem::path write_json(const std::string& name, const nlohmann::json& j) const {
    return write(name, j.dump(2));
  }
  std::filesystem::path copy(const std::filesystem::path& from, const std::string& name = "") const {
    auto to = dir / (name.empty() ? from.filename().string() : name);
    std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing);
    return to;
  }
};

// transformers' answer for `folder` (see tools/hf_saved_folder_ids.py): {"len", "model_max_length", "ids"}
// or {"error"}; a null json when Python cannot run it.
inline nlohmann::json hf_saved_folder_ids(const std::string& kind, const std::filesystem::path& folder,
                                          const std::vector<std::pair<std::string, std::string>>& texts) {
  SavedFolder scratch;
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [a, b] : texts) list.push_back({a, b});
  auto texts_file = scratch.write("texts.json", list.dump());
  std::string output;
  const std::string cmd = python() + " " + (source_dir() / "tools" / "hf_saved_folder_ids.py").string() +
                          " --kind " + kind + " --dir " + folder.string() + " --texts " + texts_file.string();
  if (run_command(cmd, &output) != 0) {
    ADD_FAILURE() << cmd << ":\n" << output;
    return nullptr;
  }
  return last_json_line(output);
}

// load_tokenizer(folder, family) must throw one DataError line holding `fragment`.
inline void expect_folder_error(const SavedFolder& f, const std::string& fragment, const std::string& family = "") {
  try {
    load_tokenizer(f.dir, family);
    ADD_FAILURE() << "no DataError, expected: " << fragment;
  } catch (const DataError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find(fragment), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << "one line: " << m;
  }
}

}  // namespace lwm::test

// libFuzzer target: the compression config, a preset file and --KEY VALUE overrides (load_config).
// Input: the preset's bytes '\0' then command-line words separated by '\0', paired as compress's main.cpp
// pairs what its parser leaves over (its config_overrides, copied below: main.cpp is not a library).
// An empty preset part means no --config file.
#include <optional>

#include "fuzz_support.h"
#include "lwm/pipeline/config.h"

namespace {

// src/cli/main.cpp's config_overrides.
std::vector<std::pair<std::string, std::string>> config_overrides(const std::vector<std::string>& rest) {
  std::vector<std::pair<std::string, std::string>> out;
  for (size_t i = 0; i < rest.size(); ++i) {
    const std::string& arg = rest[i];
    if (arg.rfind("--", 0) != 0) throw lwm::UsageError("unexpected argument '" + arg + "'");
    const size_t eq = arg.find('=');
    if (eq != std::string::npos) {
      out.emplace_back(arg.substr(2, eq - 2), arg.substr(eq + 1));
    } else if (i + 1 < rest.size()) {
      out.emplace_back(arg.substr(2), rest[++i]);
    } else {
      throw lwm::UsageError("config key '" + arg.substr(2) + "' needs a value");
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto parts = lwm_fuzz::split_nul(in);
  const std::string_view preset = parts.first;
  std::string_view rest = parts.second;
  std::vector<std::string> words;
  while (rest.data() != nullptr && !rest.empty()) {
    const auto [word, tail] = lwm_fuzz::split_nul(rest);
    words.emplace_back(word);
    rest = tail;
  }
  return lwm_fuzz::guarded([&] {
    std::optional<std::filesystem::path> file;
    if (!preset.empty()) file = lwm_fuzz::write_file("preset.json", preset);
    const lwm::CompressConfig config = lwm::load_config(file, config_overrides(words));
    const nlohmann::json j = config.to_json();
    LWM_FUZZ_CHECK(j.is_object() && !j.dump().empty());
    LWM_FUZZ_CHECK(config.max_length >= 2 && config.eval_batch_size >= 1 && config.prune_frequency >= 1);
    LWM_FUZZ_CHECK(config.prune.heads >= 0 && config.prune.heads < 1 && config.prune.ffn >= 0 && config.prune.ffn < 1);
  });
}

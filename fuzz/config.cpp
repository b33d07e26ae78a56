// libFuzzer target: the compression config, a preset file and --KEY VALUE overrides (load_config).
// Input: the preset's bytes '\0' then override keys and values, alternating, separated by '\0' (what compress's
// command-line parser hands load_config: the key as the user wrote it, without "--", and its text).
// An empty preset part means no --config file.
#include <optional>

#include "fuzz_support.h"
#include "lwm/pipeline/config.h"

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
    std::vector<std::pair<std::string, std::string>> overrides;
    for (size_t i = 0; i + 1 < words.size(); i += 2) overrides.emplace_back(words[i], words[i + 1]);
    const lwm::CompressConfig config = lwm::load_config(file, overrides);
    const nlohmann::json j = config.to_json();
    LWM_FUZZ_CHECK(j.is_object() && !j.dump().empty());
    LWM_FUZZ_CHECK(config.max_length >= 2 && config.eval_batch_size >= 1 && config.prune_frequency >= 1);
    LWM_FUZZ_CHECK(config.prune.heads >= 0 && config.prune.heads < 1 && config.prune.ffn >= 0 && config.prune.ffn < 1);
  });
}

// libFuzzer target: the JSONL reader (read_dataset on a .jsonl file, or .json: JSON Lines or an array).
#include "dataset_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<std::string> extensions = {".jsonl", ".json"};
  return lwm_fuzz::fuzz_dataset(data, size, extensions);
}

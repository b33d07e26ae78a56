// libFuzzer target: the TSV reader (read_dataset on a .tsv file).
#include "dataset_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<std::string> extensions = {".tsv"};
  return lwm_fuzz::fuzz_dataset(data, size, extensions);
}

// libFuzzer target: the importer (import_model) on mutated TorchScript archives: load, recognise the family,
// fill the spec. Input: the bytes of a model.pt. Seeds: small models from tools/export_reference.py
// (fuzz/README.md).
#include "fuzz_support.h"
#include "lwm/model/importer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  return lwm_fuzz::guarded([&] {
    const auto path = lwm_fuzz::write_file("model.pt", in);
    const lwm::ImportedModel model = lwm::import_model(path);
    LWM_FUZZ_CHECK(!model.weights.empty() || model.frozen);
  });
}

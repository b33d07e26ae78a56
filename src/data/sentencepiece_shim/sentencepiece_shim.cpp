// liblwm_sentencepiece.so: Debian's libsentencepiece behind the C interface of sentencepiece_shim.h.
// Built as a MODULE of its own (CMakeLists.txt) and kept out of lwm_core: only this library links
// libsentencepiece, and lwm_core dlopens it with RTLD_LOCAL | RTLD_DEEPBIND (see the header for why).
// Compiled with -fvisibility=hidden: the lwm_spm_* functions are all it exports.
#include "sentencepiece_shim.h"

#include <sentencepiece_processor.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <new>
#include <string>
#include <type_traits>
#include <vector>

#define LWM_SPM_EXPORT extern "C" __attribute__((visibility("default")))

struct lwm_spm {
  sentencepiece::SentencePieceProcessor processor;
};

namespace {

void set_error(char* error, size_t error_size, const std::string& message) {
  if (error == nullptr || error_size == 0) return;
  const size_t n = std::min(message.size(), error_size - 1);
  std::memcpy(error, message.data(), n);
  error[n] = '\0';
}

// What an exception says, for the error buffer (none may leave an extern "C" function).
std::string describe(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return std::string("sentencepiece: ") + x.what();
  } catch (...) {
    return "sentencepiece: unknown exception";
  }
}

}  // namespace

LWM_SPM_EXPORT int lwm_spm_abi_version(void) { return LWM_SPM_SHIM_ABI_VERSION; }

LWM_SPM_EXPORT lwm_spm* lwm_spm_load(const char* bytes, size_t size, char* error, size_t error_size) {
  try {
    auto* model = new lwm_spm;
    const auto status = model->processor.LoadFromSerializedProto(absl::string_view(bytes, size));
    if (!status.ok()) {
      set_error(error, error_size, status.message());
      delete model;
      return nullptr;
    }
    return model;
  } catch (...) {
    set_error(error, error_size, describe(std::current_exception()));
    return nullptr;
  }
}

LWM_SPM_EXPORT void lwm_spm_free(lwm_spm* model) { delete model; }

LWM_SPM_EXPORT int lwm_spm_piece_size(const lwm_spm* model) { return model->processor.GetPieceSize(); }

LWM_SPM_EXPORT int lwm_spm_special_id(const lwm_spm* model, int which) {
  switch (which) {
    case LWM_SPM_SPECIAL_PAD:
      return model->processor.pad_id();
    case LWM_SPM_SPECIAL_EOS:
      return model->processor.eos_id();
    case LWM_SPM_SPECIAL_UNK:
      return model->processor.unk_id();
    default:
      return -1;
  }
}

LWM_SPM_EXPORT int lwm_spm_piece_to_id(const lwm_spm* model, const char* piece, size_t size) {
  return model->processor.PieceToId(absl::string_view(piece, size));
}

LWM_SPM_EXPORT const char* lwm_spm_id_to_piece(const lwm_spm* model, int id, size_t* size) {
  if (id < 0 || id >= model->processor.GetPieceSize()) return nullptr;
  const std::string& piece = model->processor.IdToPiece(id);  // owned by the model
  *size = piece.size();
  return piece.c_str();
}

LWM_SPM_EXPORT int lwm_spm_encode(const lwm_spm* model, const char* text, size_t size, lwm_spm_ids_sink sink,
                                  void* context, char* error, size_t error_size) {
  try {
    std::vector<int> ids;
    const auto status = model->processor.Encode(absl::string_view(text, size), &ids);
    if (!status.ok()) {
      set_error(error, error_size, status.ToString());
      return -1;
    }
    sink(context, ids.data(), ids.size());
    return 0;
  } catch (...) {
    set_error(error, error_size, describe(std::current_exception()));
    return -1;
  }
}

// The definitions above have exactly the types the loader casts dlsym's results to.
static_assert(std::is_same_v<decltype(&lwm_spm_abi_version), lwm_spm_abi_version_fn>);
static_assert(std::is_same_v<decltype(&lwm_spm_load), lwm_spm_load_fn>);
static_assert(std::is_same_v<decltype(&lwm_spm_free), lwm_spm_free_fn>);
static_assert(std::is_same_v<decltype(&lwm_spm_piece_size), lwm_spm_piece_size_fn>);
static_assert(std::is_same_v<decltype(&lwm_spm_special_id), lwm_spm_special_id_fn>);
static_assert(std::is_same_v<decltype(&lwm_spm_piece_to_id), lwm_spm_piece_to_id_fn>);
static_assert(std::is_same_v<decltype(&lwm_spm_id_to_piece), lwm_spm_id_to_piece_fn>);
static_assert(std::is_same_v<decltype(&lwm_spm_encode), lwm_spm_encode_fn>);

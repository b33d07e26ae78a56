#pragma once
// The C interface of liblwm_sentencepiece.so, the module that wraps Debian's libsentencepiece. lwm_core
// never links libsentencepiece: that library exports names LibTorch's libraries define with other meanings
// (FLAGS_minloglevel, which libc10 defines too; its own protobuf, against the libprotobuf LibTorch 1.13
// linked). The module is dlopen'ed with RTLD_LOCAL | RTLD_DEEPBIND instead
// (src/data/sentencepiece_tokenizer.cpp), so libsentencepiece binds to its own definitions. See docs/tokenizers.md, "Why SentencePiece is loaded at run time".
//
// Plain C types only; nothing allocated on one side is freed on the other; no exception crosses it.
// Errors are written, NUL-terminated and truncated to fit, into a caller-supplied buffer.
#include <stddef.h>

#define LWM_SPM_SHIM_ABI_VERSION 1  // bump on any change below; the loader refuses another version

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lwm_spm lwm_spm;  // one loaded SentencePieceProcessor

// Receives the ids of one lwm_spm_encode call.
typedef void (*lwm_spm_ids_sink)(void* context, const int* ids, size_t count);

typedef int (*lwm_spm_abi_version_fn)(void);
// A model from the bytes of a serialized ModelProto (spiece.model); NULL with the reason in `error`.
typedef lwm_spm* (*lwm_spm_load_fn)(const char* bytes, size_t size, char* error, size_t error_size);
typedef void (*lwm_spm_free_fn)(lwm_spm* model);  // NULL is fine
typedef int (*lwm_spm_piece_size_fn)(const lwm_spm* model);
// A special piece (LWM_SPM_SPECIAL_*): SentencePieceProcessor's pad_id() / eos_id() / unk_id(), -1 when
// the model has none.
typedef int (*lwm_spm_special_id_fn)(const lwm_spm* model, int which);
// SentencePieceProcessor::PieceToId: the unk id for an unknown piece.
typedef int (*lwm_spm_piece_to_id_fn)(const lwm_spm* model, const char* piece, size_t size);
// The piece of an id in [0, piece_size): a pointer into the model, valid while it lives; NULL otherwise.
typedef const char* (*lwm_spm_id_to_piece_fn)(const lwm_spm* model, int id, size_t* size);
// SentencePieceProcessor::Encode(text) -> ids, handed to `sink` once. 0 on success; otherwise -1 with
// the reason in `error` and `sink` not called.
typedef int (*lwm_spm_encode_fn)(const lwm_spm* model, const char* text, size_t size, lwm_spm_ids_sink sink,
                                 void* context, char* error, size_t error_size);

#define LWM_SPM_SPECIAL_PAD 0
#define LWM_SPM_SPECIAL_EOS 1
#define LWM_SPM_SPECIAL_UNK 2

#ifdef __cplusplus
}
#endif

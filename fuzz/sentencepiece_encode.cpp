// libFuzzer target: SentencePiece encoding of arbitrary bytes: T5's layout with tests/data/tokenizer/t5/spiece.model,
// without and with HF's 100 <extra_id_N> sentinels, and XLM-RoBERTa's (fairseq's numbering) with
// tests/data/tokenizer/xlm-roberta/sentencepiece.bpe.model.
// Input: byte 0 = max_length (0: none) in its high 6 bits and the tokenizer in its low 2 (0 T5, 1 T5 with
// sentinels, 2 and 3 XLM-R); then text A '\0' text B.
#include "encode_checks.h"
#include "lwm/data/sentencepiece_tokenizer.h"

// libsentencepiece is opened with RTLD_DEEPBIND (docs/tokenizers.md), so its `operator new` is libstdc++'s, which
// ASan sees as malloc, while libstdc++'s sized `operator delete` forwards to ASan's own delete: every allocation
// of libsentencepiece then reads as a malloc/delete mismatch (at its first static constructor). Both sides end in
// ASan's allocator, so that report is off here; every other memory error is still caught.
extern "C" const char* __asan_default_options() { return "alloc_dealloc_mismatch=0"; }

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto plain = lwm::SentencePieceTokenizer::from_model_file(LWM_SOURCE_DIR "/tests/data/tokenizer/t5/spiece.model");
  static const auto sentinels = lwm::SentencePieceTokenizer::from_model_file(
      LWM_SOURCE_DIR "/tests/data/tokenizer/t5/spiece.model", lwm::SentencePieceOptions{100});
  static const auto xlmr = lwm::SentencePieceTokenizer::from_model_file(
      LWM_SOURCE_DIR "/tests/data/tokenizer/xlm-roberta/sentencepiece.bpe.model",
      lwm::SentencePieceOptions{0, lwm::SentencePieceLayout::XlmRoberta});
  if (size < 1) return 0;
  const lwm::SentencePieceTokenizer& tok = (data[0] & 2) ? *xlmr : (data[0] & 1) ? *sentinels : *plain;
  const int max_length = data[0] >> 2;
  const auto texts = lwm_fuzz::split_nul({reinterpret_cast<const char*>(data) + 1, size - 1});
  const std::string_view a = texts.first, b = texts.second;
  return lwm_fuzz::guarded([&] {
    lwm_fuzz::encode_and_check(tok, max_length, a, b);
    const std::string text(a);
    const auto ids = tok.token_ids(text);
    const auto pieces = tok.tokenize(text);
    LWM_FUZZ_CHECK(ids.size() == pieces.size());
    for (int64_t id : ids) LWM_FUZZ_CHECK(id >= 0 && id < tok.vocab_size());
    const auto target = tok.encode_target(text, max_length);
    LWM_FUZZ_CHECK(!target.empty() && target.back() == tok.eos_id());
    if (max_length > 0) LWM_FUZZ_CHECK(target.size() <= static_cast<size_t>(max_length));
  });
}

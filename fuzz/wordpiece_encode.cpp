// libFuzzer target: WordPiece (BERT) encoding of arbitrary bytes, with bert-base-uncased's vocab.txt and the
// cased test vocabulary (tokenizer_config.json: do_lower_case false).
// Input: byte 0 = max_length (0: none) and, in its low bit, the vocabulary; then text A '\0' text B.
#include "encode_checks.h"
#include "lwm/data/wordpiece.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto uncased = lwm::load_tokenizer(LWM_SOURCE_DIR "/tests/data/vocab/bert-base-uncased/vocab.txt");
  static const auto cased = lwm::load_tokenizer(LWM_SOURCE_DIR "/tests/data/tokenizer/cased");
  if (size < 1) return 0;
  const lwm::Tokenizer& tok = (data[0] & 1) ? *cased : *uncased;
  const int max_length = data[0] >> 1;
  const auto texts = lwm_fuzz::split_nul({reinterpret_cast<const char*>(data) + 1, size - 1});
  const std::string_view a = texts.first, b = texts.second;
  return lwm_fuzz::guarded([&] {
    lwm_fuzz::encode_and_check(tok, max_length, a, b);
    const auto& wp = dynamic_cast<const lwm::WordPieceTokenizer&>(tok);
    const std::string text(a);
    const auto tokens = wp.tokenize(text);
    const auto ids = wp.token_ids(text);
    LWM_FUZZ_CHECK(tokens.size() == ids.size());
    for (size_t i = 0; i < ids.size(); ++i) LWM_FUZZ_CHECK(wp.token_to_id(tokens[i]) == ids[i]);
  });
}

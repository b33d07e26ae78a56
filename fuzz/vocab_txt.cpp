// libFuzzer target: a WordPiece vocab.txt and the save_pretrained files read beside it, loaded by
// load_tokenizer, then used on fixed texts.
// Input: vocab.txt '\0' tokenizer_config.json '\0' added_tokens.json '\0' special_tokens_map.json (each file
// after the first optional: absent when the input has fewer parts).
#include "encode_checks.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  return lwm_fuzz::guarded([&] {
    const auto dir = lwm_fuzz::write_folder(
        in.empty() ? std::string_view("", 0) : in,
        {"vocab.txt", "tokenizer_config.json", "added_tokens.json", "special_tokens_map.json"});
    const auto tok = lwm::load_tokenizer(dir / "vocab.txt");
    LWM_FUZZ_CHECK(tok->kind() == "wordpiece");
    LWM_FUZZ_CHECK(tok->pad_id() >= 0 && tok->pad_id() < tok->vocab_size());
    lwm_fuzz::encode_fixed_texts(*tok);
  });
}

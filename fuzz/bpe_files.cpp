// libFuzzer target: byte-level BPE vocab.json + merges.txt and the save_pretrained files beside them, loaded by
// load_tokenizer for a family, then used on fixed texts.
// Input: byte 0 = family ("", gpt2, opt, roberta), then vocab.json '\0' merges.txt '\0' tokenizer_config.json
// '\0' added_tokens.json '\0' special_tokens_map.json (files after merges.txt optional).
#include "encode_checks.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static const char* const kFamilies[] = {"", "gpt2", "opt", "roberta"};
  const std::string family = kFamilies[data[0] & 3];
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  return lwm_fuzz::guarded([&] {
    const auto dir = lwm_fuzz::write_folder(in.data() ? in : std::string_view("", 0),
                                            {"vocab.json", "merges.txt", "tokenizer_config.json",
                                             "added_tokens.json", "special_tokens_map.json"});
    const auto tok = lwm::load_tokenizer(dir / "vocab.json", family);
    LWM_FUZZ_CHECK(tok->kind() == "byte-level-bpe");
    LWM_FUZZ_CHECK(tok->pad_id() >= 0 && tok->pad_id() < tok->vocab_size());
    lwm_fuzz::encode_fixed_texts(*tok);
  });
}

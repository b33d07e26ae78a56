// libFuzzer target: a Hugging Face tokenizer.json (WordPiece or BPE, dispatched on model.type) and the
// tokenizer_config.json beside it, loaded by load_tokenizer for a family, then used on fixed texts.
// Input: byte 0 = family ("", bert, gpt2, opt, roberta, t5), then tokenizer.json '\0' tokenizer_config.json
// '\0' special_tokens_map.json (files after the first optional).
#include "encode_checks.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static const char* const kFamilies[] = {"", "bert", "gpt2", "opt", "roberta", "t5", "", ""};
  const std::string family = kFamilies[data[0] & 7];
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  return lwm_fuzz::guarded([&] {
    const auto dir = lwm_fuzz::write_folder(in.data() ? in : std::string_view("", 0),
                                            {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"});
    const auto tok = lwm::load_tokenizer(dir / "tokenizer.json", family);
    LWM_FUZZ_CHECK(tok->kind() == "wordpiece" || tok->kind() == "byte-level-bpe");
    LWM_FUZZ_CHECK(tok->pad_id() >= 0 && tok->pad_id() < tok->vocab_size());
    lwm_fuzz::encode_fixed_texts(*tok);
  });
}

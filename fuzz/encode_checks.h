#pragma once
// What every tokenizer's encode() must give, whatever the text: ids inside the vocabulary, one type id per
// id, and no more than max_length tokens when it truncates.
#include <string>

#include "fuzz_support.h"
#include "lwm/data/tokenizer.h"

namespace lwm_fuzz {

inline void check_encoding(const lwm::Tokenizer& tok, const lwm::Encoding& e, int max_length) {
  LWM_FUZZ_CHECK(e.ids.size() == e.type_ids.size());
  if (max_length > 0) LWM_FUZZ_CHECK(e.ids.size() <= static_cast<size_t>(max_length));
  for (int64_t id : e.ids) LWM_FUZZ_CHECK(id >= 0 && id < tok.vocab_size());
  for (int64_t t : e.type_ids) LWM_FUZZ_CHECK(t == 0 || t == 1);
}

// Input: one byte for max_length (0: none; the low bit may also pick a tokenizer), then text A, '\0', text B.
inline void encode_and_check(const lwm::Tokenizer& tok, int max_length, std::string_view a, std::string_view b) {
  const std::string sa(a), sb(b);
  check_encoding(tok, tok.encode(sa, sb, max_length), max_length);
  check_encoding(tok, tok.encode(sa, "", max_length), max_length);
}

// A loaded tokenizer on texts that reach its special tokens, normalisation and truncation.
inline void encode_fixed_texts(const lwm::Tokenizer& tok) {
  static const char* const kTexts[][2] = {
      {"Hello, world! The quick brown fox.", ""},
      {"[CLS] [SEP] [UNK] [PAD] [MASK] <s> </s> <pad> <unk> <mask> <|endoftext|>", "<extra_id_0> x"},
      {"H\xc3\xa9llo \xe4\xb8\xad\xe6\x96\x87 na\xc3\xafve \xce\xa3\xce\x91\xce\xa3 \xf0\x9f\x98\x80 \t\n\r", "b"},
      {"\xff\xfe invalid \xc3 utf8 \xed\xa0\x80", "a b c d e f g h i j k l m n o p"},
  };
  for (const auto& t : kTexts) {
    for (int max_length : {0, 5, 64}) {
      try {
        check_encoding(tok, tok.encode(t[0], t[1], max_length), max_length);
      } catch (const lwm::Error&) {
        // max_length 5 may leave no room for a template's specials (UsageError); a BPE vocabulary without
        // every byte cannot encode every text (DataError).
      }
    }
  }
}

}  // namespace lwm_fuzz

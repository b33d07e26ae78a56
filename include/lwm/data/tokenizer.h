#pragma once
// Text -> ids, with the model's special-token template.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace lwm {

struct Encoding {
  std::vector<int64_t> ids;
  std::vector<int64_t> type_ids;  // same length as ids (0 for first segment, 1 for second)
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // Encodes one text or a pair with the family's template ([CLS] A [SEP] B [SEP] for BERT),
  // truncated to max_length tokens in total (pairs: longest-first). An empty `b` means a single text.
  // max_length <= 0: no truncation.
  virtual Encoding encode(const std::string& a, const std::string& b, int max_length) const = 0;
  virtual int64_t vocab_size() const = 0;
  virtual int64_t pad_id() const = 0;
  virtual std::string kind() const = 0;  // "wordpiece", ...
};

// Loads vocab.txt or a Hugging Face tokenizer.json (WordPiece), or a directory holding one of them.
// Throws DataError on a missing/malformed file.
// A directory: tokenizer.json if present (it states casing and template itself), else vocab.txt.
// vocab.txt takes do_lower_case / strip_accents / tokenize_chinese_chars and the special token
// names from a tokenizer_config.json beside it, if there is one (else BertTokenizer's defaults:
// lower-case and strip accents). A file ending in .json is read as tokenizer.json, any other as vocab.txt.
// See lwm/data/wordpiece.h for the exact tokenization rules.
std::unique_ptr<Tokenizer> load_tokenizer(const std::filesystem::path& path);

}  // namespace lwm

#pragma once
// BERT's WordPiece tokenizer with the semantics of Hugging Face `BertTokenizer` (the Python one):
//   BasicTokenizer: drop \0, U+FFFD and control/format/unassigned characters (category C*, except
//   \t \n \r); map whitespace (\t \n \r, Zs) to ' '; put spaces around CJK ideographs; NFC; split on
//   whitespace; per word: lower-case (full Unicode mapping, ICU root locale), strip accents (NFD, drop Mn)
//   when lower-casing or when asked; split off punctuation (ASCII 33-47, 58-64, 91-96, 123-126 and P*).
//   WordPiece: greedy longest-match-first, "##" continuations, [UNK] for a word that cannot be covered
//   or is longer than 100 code points.
// Special tokens ([PAD] [UNK] [CLS] [SEP] [MASK]) written verbatim in the text are kept whole, as HF
// does; so are added tokens (WordPieceOptions::added_tokens): non-normalised ones in the raw text first,
// then normalised ones in the text as BertNormalizer leaves it (HF tokenizers' AddedVocabulary). Template: [CLS] A [SEP] (type 0) B [SEP] (type 1).
// Checked against HF `tokenizers` (the Rust "fast" BertTokenizer) on every text of the GLUE train/dev
// files and IMDb in shared/data (157k texts): identical ids. Where the Python and Rust tokenizers
// differ, this follows Python: a word-final capital sigma lower-cases to "ς" (Rust: "σ"), and when a
// pair is truncated to an odd number of text tokens, A keeps the extra one (Rust gives it to B).
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "lwm/data/tokenizer.h"

namespace lwm {

// A token matched whole in the text (added_tokens.json, tokenizer_config.json's added_tokens_decoder).
struct WordPieceAddedToken {
  std::string content;
  int64_t id = -1;         // -1: its vocabulary id if it has one, else the next id after the vocabulary
  bool normalized = true;  // matched in the normalised text (lower-cased and accent-stripped as configured),
                           // as HF's AddedToken(normalized=True): "[NEW]" then also matches "[new]"
};

struct WordPieceOptions {
  bool lowercase = true;              // do_lower_case / BertNormalizer.lowercase
  std::optional<bool> strip_accents;  // unset: strip when lower-casing (HF's default)
  bool clean_text = true;             // BertNormalizer.clean_text
  bool handle_chinese_chars = true;   // tokenize_chinese_chars
  std::string unk_token = "[UNK]";
  std::string cls_token = "[CLS]";
  std::string sep_token = "[SEP]";
  std::string pad_token = "[PAD]";
  std::string continuing_prefix = "##";
  int max_input_chars_per_word = 100;
  // Tokens matched verbatim in the raw text and never split. Empty: those of
  // [PAD] [UNK] [CLS] [SEP] [MASK] that are in the vocabulary.
  std::vector<std::string> special_tokens;
  // Added tokens, in id order: one in the vocabulary keeps its id; the others get the ids after the
  // vocabulary (its size, +1, ...), which vocab_size() counts. An explicit id must be exactly that
  // (DataError otherwise: see load_tokenizer). Matched before WordPiece, which never produces them.
  std::vector<WordPieceAddedToken> added_tokens;
};

class WordPieceTokenizer : public Tokenizer {
 public:
  // vocab[i] is the token with id i. A token listed twice maps to its last id (HF's load_vocab).
  // Throws DataError when unk/cls/sep/pad tokens are missing from the vocabulary.
  explicit WordPieceTokenizer(std::vector<std::string> vocab, WordPieceOptions options = {});
  WordPieceTokenizer(const WordPieceTokenizer&) = delete;  // lookup tables point into vocab_
  WordPieceTokenizer& operator=(const WordPieceTokenizer&) = delete;

  // vocab.txt: one token per line, id = line number - 1 (a trailing '\r' is dropped). Empty lines at the end
  // are not tokens (no text can produce an empty token; transformers counts them in len(tokenizer)),
  // unless an added token's explicit id is the id after them. Reads only this file: load_tokenizer reads
  // the save_pretrained files beside it into `options`.
  static std::unique_ptr<WordPieceTokenizer> from_vocab_file(const std::filesystem::path& path,
                                                             WordPieceOptions options = {});
  // A Hugging Face tokenizer.json with a WordPiece model, BertNormalizer (or none), BertPreTokenizer
  // and a BERT-shaped TemplateProcessing/BertProcessing post-processor; anything else -> DataError.
  static std::unique_ptr<WordPieceTokenizer> from_tokenizer_json(const std::filesystem::path& path);

  // max_length <= 0: no truncation. Otherwise HF "longest_first": while too long, drop the last
  // token of the longer text (of B on a tie). UsageError if max_length leaves no room for the specials.
  Encoding encode(const std::string& a, const std::string& b, int max_length) const override;
  int64_t vocab_size() const override { return static_cast<int64_t>(vocab_.size()); }  // added tokens too
  int64_t pad_id() const override { return pad_id_; }
  std::string kind() const override { return "wordpiece"; }

  // The BasicTokenizer stage alone (words and punctuation, normalised).
  std::vector<std::string> basic_tokenize(const std::string& text) const;
  // Basic + WordPiece, no special template: token strings and their ids.
  std::vector<std::string> tokenize(const std::string& text) const;
  std::vector<int64_t> token_ids(const std::string& text) const;

  int64_t token_to_id(std::string_view token) const;  // -1 when absent
  const std::string& id_to_token(int64_t id) const;   // std::out_of_range for a bad id
  int64_t cls_id() const { return cls_id_; }
  int64_t sep_id() const { return sep_id_; }
  int64_t unk_id() const override { return unk_id_; }
  std::vector<int64_t> special_ids() const override;
  const WordPieceOptions& options() const { return opt_; }

 private:
  struct Special {
    std::string text;
    int64_t id;
  };
  template <typename Emit>
  void for_each_segment(std::string_view text, Emit emit) const;
  template <typename Emit>
  void for_each_part(std::string_view text, Emit emit) const;
  void wordpiece(std::string_view word, std::vector<int64_t>& out) const;

  std::vector<std::string> vocab_;
  WordPieceOptions opt_;
  bool strip_accents_ = true;
  std::unordered_map<std::string_view, int64_t> ids_;           // views into vocab_
  std::unordered_map<std::string_view, int64_t> continuation_;  // "##xy" keyed by "xy"
  std::vector<Special> specials_;     // matched in the raw text, longest first
  std::vector<Special> normalized_;  // normalised added tokens, matched in the normalised text
  std::unordered_map<std::string, int64_t> added_ids_;  // added tokens beyond the vocabulary
  int64_t unk_id_ = -1, cls_id_ = -1, sep_id_ = -1, pad_id_ = -1;
};

}  // namespace lwm

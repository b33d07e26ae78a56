#pragma once
// Byte-level BPE (GPT-2, OPT, RoBERTa) with the semantics of Hugging Face's GPT2Tokenizer and of
// `tokenizers`' ByteLevel pre-tokenizer + BPE model:
//   1. Added/special tokens written verbatim in the text (e.g. "<|endoftext|>") are matched whole
//      first (leftmost, longest at a position); an added token with lstrip/rstrip also swallows the
//      whitespace before/after it. The text between them is handled by 2-4, piece by piece.
//   2. add_prefix_space (off by default, as for GPT-2/OPT/RoBERTa): a space is put before each such
//      piece that does not start with one (the `tokenizers` rule).
//   3. GPT-2's pre-tokenisation regex, run with PCRE2 in UTF + UCP mode:
//        's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//      where \s is Unicode White_Space, as in Python's `regex` and Oniguruma (PCRE2's UCP \s lacks
//      U+0085 NEL, so the pattern spells it [\s\x{85}]). Invalid UTF-8 reads as U+FFFD.
//   4. Each match: UTF-8 bytes -> GPT-2's bytes_to_unicode symbols, then BPE: repeatedly merge every
//      occurrence (left to right) of the adjacent pair with the lowest merge rank; symbols -> ids.
//      A symbol missing from the vocabulary (impossible with a complete byte-level vocab) is a DataError.
// Templates (type ids are always 0):
//   gpt2:    A                      pair: A B          (GPT2Tokenizer, add_bos_token=False)
//   opt:     bos A                  pair: bos A bos B  (GPT2Tokenizer with add_bos_token=True; bos "</s>")
//   roberta: <s> A </s>             pair: <s> A </s> </s> B </s>
// Special-token names per family (bos/eos/unk/pad/cls/sep/mask), as in HF's tokenizer classes:
//   gpt2 "<|endoftext|>" for bos, eos and unk, no pad; opt "</s>" for bos/eos/unk, "<pad>";
//   roberta "<s>" "</s>" "<unk>" "<pad>" "<mask>" (mask lstrip). A special_tokens_map.json beside the
//   files overrides these names. A name absent from the vocabulary and added tokens falls back to
//   "<|endoftext|>" (what GPT-2 users do); pad_id() is "<pad>" if present, else the eos id.
#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "lwm/data/tokenizer.h"

namespace lwm {

// A token matched verbatim in the raw text before pre-tokenisation (HF "added token").
struct BpeAddedToken {
  std::string content;
  int64_t id = -1;
  bool lstrip = false;  // also consumes the whitespace right before it
  bool rstrip = false;  // also consumes the whitespace right after it
};

// Token names put around the texts: single = single_before A single_after,
// pair = pair_before A pair_between B pair_after.
struct BpeTemplate {
  std::vector<std::string> single_before, single_after;
  std::vector<std::string> pair_before, pair_between, pair_after;
};

struct ByteLevelBpeOptions {
  Family family = Family::Gpt2;  // gpt2, opt, roberta: default special-token names and template
  bool add_prefix_space = false;
  bool ignore_merges = false;  // tokenizers' BPE.ignore_merges: a word that is in the vocab stays whole
  // Special-token names; empty: the family's default (see above).
  std::string bos_token, eos_token, unk_token, pad_token, cls_token, sep_token, mask_token;
  // Tokens matched verbatim (tokenizer.json added_tokens, added_tokens.json). Ids may lie beyond the
  // vocabulary. The family's special tokens that resolve to an id are matched verbatim too.
  std::vector<BpeAddedToken> added_tokens;
  // Overrides the family's template (e.g. from a tokenizer.json post_processor); names resolve with
  // the same fallback. Unset: the family's template.
  std::optional<BpeTemplate> templ;
};

class ByteLevelBpeTokenizer : public Tokenizer {
 public:
  using Vocab = std::unordered_map<std::string, int64_t>;           // token (byte-level form) -> id
  using Merges = std::vector<std::pair<std::string, std::string>>;  // rank order
  // Throws DataError when a merge names a token (or yields one) that is not in the vocabulary, or a
  // special token of the template is missing and "<|endoftext|>" is too; UsageError for a bad family.
  ByteLevelBpeTokenizer(Vocab vocab, const Merges& merges, ByteLevelBpeOptions options = {});
  ByteLevelBpeTokenizer(const ByteLevelBpeTokenizer&) = delete;
  ByteLevelBpeTokenizer& operator=(const ByteLevelBpeTokenizer&) = delete;

  // vocab.json + merges.txt (GPT2Tokenizer's files). Also reads, when present beside vocab.json, the
  // other files save_pretrained writes: added_tokens.json (verbatim tokens; their ids must continue the
  // vocabulary, see load_tokenizer), special_tokens_map.json (token names) and tokenizer_config.json
  // (names, add_prefix_space, add_bos_token, model_max_length). DataError for what it cannot honour.
  static std::unique_ptr<ByteLevelBpeTokenizer> from_files(const std::filesystem::path& vocab_json,
                                                           const std::filesystem::path& merges_txt,
                                                           Family family = Family::Gpt2);
  // A tokenizers tokenizer.json: model BPE, pre_tokenizer ByteLevel (use_regex), normalizer null.
  // Template: the family's when `family` is given; when it is not, the post_processor's
  // (RobertaProcessing, or a TemplateProcessing of the form X.. $A Y.. / X.. $A Y.. $B Z..), and
  // gpt2's (none) when the post_processor is ByteLevel or null.
  static std::unique_ptr<ByteLevelBpeTokenizer> from_tokenizer_json(const std::filesystem::path& path,
                                                                    std::optional<Family> family = std::nullopt);

  // max_length <= 0: no truncation. Otherwise HF "longest_first" (see WordPieceTokenizer::encode).
  // UsageError if max_length leaves no room for the template's special tokens.
  Encoding encode(const std::string& a, const std::string& b, int max_length) const override;
  int64_t vocab_size() const override { return static_cast<int64_t>(id_to_token_.size()); }  // max id + 1
  int64_t pad_id() const override { return pad_id_; }
  std::string kind() const override { return "byte-level-bpe"; }

  // Without the template: ids, their token strings (byte-level form, e.g. "Ġworld"), and the
  // pre-tokenisation pieces (raw UTF-8; special tokens as themselves).
  std::vector<int64_t> token_ids(const std::string& text) const;
  std::vector<std::string> tokenize(const std::string& text) const;
  std::vector<std::string> pre_tokenize(const std::string& text) const;
  // Ids -> text (the byte-level mapping inverted; added tokens as written).
  std::string decode(const std::vector<int64_t>& ids) const;

  int64_t token_to_id(std::string_view token) const;  // vocab or added token; -1 when absent
  const std::string& id_to_token(int64_t id) const;   // std::out_of_range for an unused id
  int64_t bos_id() const { return bos_id_; }
  int64_t eos_id() const { return eos_id_; }
  // The unknown token's id (names.unk, else <|endoftext|>, as for bos and eos); -1 when neither is in the vocabulary.
  int64_t unk_id() const override { return unk_id_; }
  std::vector<int64_t> special_ids() const override;  // the verbatim tokens: specials and added tokens
  Family family() const { return opt_.family; }
  size_t num_merges() const { return merges_.size(); }

 private:
  struct Merge {
    int32_t rank;
    int32_t id;
  };
  template <typename Emit>
  void for_each_segment(std::string_view text, Emit emit) const;
  template <typename Emit>
  void for_each_piece(std::string_view segment, Emit emit) const;
  void bpe(std::string_view piece, std::vector<int64_t>& out) const;

  ByteLevelBpeOptions opt_;
  std::unordered_map<std::string, int64_t> ids_;  // vocab + added tokens
  std::vector<std::string> id_to_token_;          // "" for an unused id
  std::vector<bool> used_;
  std::vector<bool> added_;                                // decoded as written, not byte-mapped
  std::unordered_map<uint64_t, Merge> merges_;             // (left id << 32 | right id) -> rank, merged id
  int32_t byte_id_[256];                                   // id of each byte's symbol, -1 if absent
  std::string byte_symbol_[256];                           // bytes_to_unicode, UTF-8
  std::unordered_map<char32_t, uint8_t> code_point_byte_;  // its inverse
  std::vector<BpeAddedToken> verbatim_;                    // longest first
  bool verbatim_first_[256] = {};
  int64_t bos_id_ = -1, eos_id_ = -1, pad_id_ = -1, unk_id_ = -1;
  std::vector<int64_t> single_before_, single_after_, pair_before_, pair_between_, pair_after_;

  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int32_t>> cache_;  // piece bytes -> ids
};

}  // namespace lwm

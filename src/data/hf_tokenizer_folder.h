#pragma once
// Private to src/data: the files Hugging Face's `save_pretrained` writes beside a tokenizer's vocabulary
// (added_tokens.json, special_tokens_map.json, tokenizer_config.json), read one way for every kind of
// tokenizer (WordPiece, byte-level BPE, SentencePiece). Each loader takes what its kind can honour from a
// Folder and refuses the rest with one DataError line naming the file.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace lwm::hf_folder {

// One added token (transformers' AddedToken).
struct AddedToken {
  std::string content;
  int64_t id = -1;          // -1: a name only (special_tokens_map.json), looked up in the vocabulary
  bool lstrip = false;      // also consumes the whitespace right before it
  bool rstrip = false;      // also consumes the whitespace right after it
  bool normalized = true;   // matched in the normalised text (transformers 5's default for added_tokens.json)
  bool special = false;
};

struct Folder {
  std::filesystem::path dir;
  nlohmann::json config = nlohmann::json::object();  // tokenizer_config.json; {} when absent
  // bos/eos/unk/pad/cls/sep/mask names ("bos_token" -> token): tokenizer_config.json's, overridden by
  // special_tokens_map.json's (transformers' precedence, checked on 5.23).
  std::map<std::string, AddedToken> specials;
  // additional_special_tokens (special_tokens_map.json, tokenizer_config.json) and transformers 5's
  // extra_special_tokens: names, looked up in the vocabulary or among the added tokens.
  std::vector<AddedToken> extra_specials;
  // added_tokens.json (token -> id) with the flags of tokenizer_config.json's added_tokens_decoder
  // (id -> AddedToken) when it lists them; ascending id. Entries of added_tokens_decoder that
  // added_tokens.json lacks are included too (transformers >= 4.34 writes both).
  std::vector<AddedToken> added;
  // tokenizer_config.json's model_max_length; 0 when absent, null, or transformers' "unset" value
  // (int(1e30), or anything from 2^31 on).
  int64_t model_max_length = 0;

  // A boolean key of tokenizer_config.json: nullopt when absent or null; DataError when not a boolean.
  std::optional<bool> flag(const std::string& key) const;
  // A special token's name ("" when not given).
  std::string special(const std::string& key) const;
  // "<dir>/tokenizer_config.json", for messages.
  std::string config_file() const;
};

// Reads the three files in `dir` (each optional). DataError, one line naming the file, on invalid JSON,
// a wrong shape, or an added token with single_word (not supported by any lwm tokenizer).
Folder read(const std::filesystem::path& dir);

// The ids of added_tokens.json checked against a vocabulary of `base` ids (`lookup`: a token's vocabulary
// id, or -1). transformers 5 ignores the ids written there and appends the tokens absent from the
// vocabulary in id order from `base`; transformers 4 kept the written ids. The two agree only when each
// token is either the vocabulary's own token under that id or the next id from `base` on, so that is
// what lwm accepts; anything else (a gap, or an id that is another vocabulary token) is a DataError.
void check_added_ids(const std::vector<AddedToken>& added, int64_t base,
                     const std::function<int64_t(const std::string&)>& lookup, const std::string& where);

// Throws DataError "<dir>/tokenizer_config.json: <key> <value> is not supported (<why>)".
[[noreturn]] void refuse(const Folder& folder, const std::string& key, const std::string& why);

}  // namespace lwm::hf_folder

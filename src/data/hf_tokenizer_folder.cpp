#include "hf_tokenizer_folder.h"

#include <algorithm>

#include "lwm/common/error.h"
#include "lwm/common/read_file.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace lwm::hf_folder {
namespace {

constexpr const char* kSpecialKeys[] = {"bos_token", "eos_token", "unk_token", "pad_token",
                                        "cls_token", "sep_token", "mask_token"};

// The file parsed as a JSON object, or nullopt when it does not exist.
std::optional<json> read_object(const fs::path& file, const char* what) {
  std::error_code ec;
  if (!fs::exists(file, ec)) return std::nullopt;
  const std::string text = read_file(file, what);
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {  // parse_error, or out_of_range for a number beyond double
    throw DataError(file.string() + ": invalid JSON: " + e.what());
  }
  if (!j.is_object()) throw DataError(file.string() + ": not " + what + " (expected a JSON object)");
  return j;
}

// A special token as save_pretrained writes it: "name" or {"content": "name", "lstrip": .., ...}.
AddedToken token_of(const json& v, const std::string& where) {
  AddedToken t;
  t.special = true;
  t.normalized = false;
  if (v.is_string()) {
    t.content = v.get<std::string>();
    return t;
  }
  if (v.is_object() && v.contains("content") && v["content"].is_string()) {
    t.content = v["content"].get<std::string>();
    auto b = [&](const char* key, bool fallback) {
      if (!v.contains(key) || v[key].is_null()) return fallback;
      if (!v[key].is_boolean()) throw DataError(where + ": \"" + key + "\" of '" + t.content + "' must be true or false");
      return v[key].get<bool>();
    };
    t.lstrip = b("lstrip", false);
    t.rstrip = b("rstrip", false);
    t.normalized = b("normalized", false);
    t.special = b("special", true);
    if (b("single_word", false)) {
      throw DataError(where + ": the token '" + t.content +
                      "' has single_word true, which lwm's tokenizers do not support");
    }
    return t;
  }
  throw DataError(where + ": a special token must be a string or {\"content\": ...}, got " + v.dump());
}

// The special-token names and extra special tokens of one object (tokenizer_config.json or
// special_tokens_map.json); later calls override earlier ones.
void read_specials(const json& j, const std::string& where, Folder& f) {
  for (const char* key : kSpecialKeys) {
    if (j.contains(key) && !j[key].is_null()) f.specials[key] = token_of(j[key], where);
  }
  for (const char* key : {"additional_special_tokens", "extra_special_tokens"}) {
    if (!j.contains(key) || j[key].is_null()) continue;
    const json& list = j[key];
    if (list.is_object() && list.empty()) continue;  // transformers 5 writes {} when there are none
    if (!list.is_array()) {
      throw DataError(where + ": " + key + " must be a list of tokens (named extra special tokens are not supported)");
    }
    for (const auto& v : list) {
      AddedToken t = token_of(v, where);
      auto same = [&](const AddedToken& x) { return x.content == t.content; };
      if (std::none_of(f.extra_specials.begin(), f.extra_specials.end(), same)) f.extra_specials.push_back(t);
    }
  }
}

int64_t max_length_of(const json& v, const std::string& where) {
  if (v.is_null()) return 0;
  constexpr double kUnset = 2147483648.0;  // 2^31: transformers' int(1e30) "unset" and anything as large
  if (v.is_number_integer() || v.is_number_unsigned()) {
    if (v.is_number_unsigned() ? v.get<uint64_t>() >= static_cast<uint64_t>(kUnset)
                               : v.get<int64_t>() >= static_cast<int64_t>(kUnset))
      return 0;
    if (v.get<int64_t>() > 0) return v.get<int64_t>();
  } else if (v.is_number_float() && v.get<double>() >= kUnset) {
    return 0;  // int(1e30) does not fit 64 bits: the JSON parser reads it as a double
  }
  throw DataError(where + ": model_max_length must be a positive integer, got " + v.dump());
}

}  // namespace

std::optional<bool> Folder::flag(const std::string& key) const {
  if (!config.contains(key) || config[key].is_null()) return std::nullopt;
  if (!config[key].is_boolean()) {
    throw DataError(config_file() + ": \"" + key + "\" must be true, false or null, got " + config[key].dump());
  }
  return config[key].get<bool>();
}

std::string Folder::special(const std::string& key) const {
  auto it = specials.find(key);
  return it == specials.end() ? std::string() : it->second.content;
}

std::string Folder::config_file() const { return (dir / "tokenizer_config.json").string(); }

void refuse(const Folder& folder, const std::string& key, const std::string& why) {
  throw DataError(folder.config_file() + ": " + key + " " + folder.config.at(key).dump() + " is not supported (" +
                  why + ")");
}

Folder read(const fs::path& dir) {
  Folder f;
  f.dir = dir;
  if (auto j = read_object(dir / "tokenizer_config.json", "a tokenizer_config.json")) {
    f.config = std::move(*j);
    const std::string where = f.config_file();
    read_specials(f.config, where, f);
    if (f.config.contains("model_max_length")) f.model_max_length = max_length_of(f.config["model_max_length"], where);
    if (f.config.contains("added_tokens_decoder") && !f.config["added_tokens_decoder"].is_null()) {
      const json& d = f.config["added_tokens_decoder"];
      if (!d.is_object()) throw DataError(where + ": added_tokens_decoder must be an object of id: token");
      for (const auto& [key, v] : d.items()) {
        AddedToken t = token_of(v, where);
        if (!v.is_object()) t.normalized = true;
        try {
          size_t used = 0;
          t.id = std::stoll(key, &used);
          if (used != key.size() || t.id < 0) throw std::invalid_argument(key);
        } catch (const std::exception&) {
          throw DataError(where + ": added_tokens_decoder key '" + key + "' is not a token id");
        }
        f.added.push_back(t);
      }
    }
  }
  const fs::path added_file = dir / "added_tokens.json";
  if (auto j = read_object(added_file, "an added_tokens.json")) {
    const std::string where = added_file.string();
    const bool have_decoder = !f.added.empty();
    for (const auto& [token, v] : j->items()) {
      if (!v.is_number_integer() || v.get<int64_t>() < 0)
        throw DataError(where + ": token '" + token + "' has no valid id (a non-negative integer)");
      const int64_t id = v.get<int64_t>();
      auto it = std::find_if(f.added.begin(), f.added.end(), [&](const AddedToken& t) { return t.id == id; });
      if (it != f.added.end()) {
        if (it->content != token) {
          throw DataError(where + ": id " + std::to_string(id) + " is '" + token + "' here but '" + it->content +
                          "' in tokenizer_config.json's added_tokens_decoder");
        }
        continue;  // the decoder's entry carries the flags
      }
      if (have_decoder) {
        throw DataError(where + ": '" + token + "' (id " + std::to_string(id) +
                        ") is missing from tokenizer_config.json's added_tokens_decoder: the files disagree");
      }
      AddedToken t;
      t.content = token;
      t.id = id;
      f.added.push_back(t);  // transformers 5: AddedToken(normalized=True, special=False)
    }
  }
  std::sort(f.added.begin(), f.added.end(), [](const AddedToken& a, const AddedToken& b) { return a.id < b.id; });
  for (size_t i = 1; i < f.added.size(); ++i) {
    if (f.added[i].id == f.added[i - 1].id) {
      throw DataError((dir / "added_tokens.json").string() + ": id " + std::to_string(f.added[i].id) +
                      " is given to two tokens");
    }
  }
  for (const auto& t : f.added) {
    if (t.content.empty()) throw DataError((dir / "added_tokens.json").string() + ": an added token is empty");
  }
  // special_tokens_map.json last: its names win over tokenizer_config.json's.
  const fs::path map_file = dir / "special_tokens_map.json";
  if (auto j = read_object(map_file, "a special_tokens_map.json")) read_specials(*j, map_file.string(), f);
  return f;
}

void check_added_ids(const std::vector<AddedToken>& added, int64_t base,
                     const std::function<int64_t(const std::string&)>& lookup, const std::string& where) {
  int64_t next = base;
  for (const auto& t : added) {
    const int64_t own = lookup(t.content);
    if (own >= 0) {
      if (own == t.id) continue;
      throw DataError(where + ": the added token '" + t.content + "' has id " + std::to_string(t.id) +
                      " but is token " + std::to_string(own) + " of the vocabulary");
    }
    if (t.id != next) {
      throw DataError(where + ": the added token '" + t.content + "' has id " + std::to_string(t.id) + ", expected " +
                      std::to_string(next) +
                      ": added tokens must continue the vocabulary without gaps or overlaps (transformers 5 "
                      "renumbers such ids, transformers 4 keeps them, so the ids the model was trained with "
                      "are unknown)");
    }
    ++next;
  }
}

}  // namespace lwm::hf_folder

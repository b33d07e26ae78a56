#include "lwm/data/tokenizer.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "lwm/common/error.h"
#include "lwm/data/wordpiece.h"

namespace fs = std::filesystem;

namespace lwm {
namespace {

// Casing options of a BertTokenizer saved by `save_pretrained`: tokenizer_config.json beside vocab.txt.
WordPieceOptions options_from_config(const fs::path& config) {
  WordPieceOptions o;
  std::error_code ec;
  if (!fs::exists(config, ec)) return o;  // BertTokenizer's defaults: lower-case, strip accents
  std::ifstream in(config);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
    o.lowercase = j.value("do_lower_case", true);
    if (j.contains("strip_accents") && !j["strip_accents"].is_null())
      o.strip_accents = j["strip_accents"].get<bool>();
    o.handle_chinese_chars = j.value("tokenize_chinese_chars", true);
    auto token = [&](const char* key, std::string& out) {
      if (!j.contains(key)) return;
      const auto& v = j[key];
      if (v.is_string()) out = v.get<std::string>();
      if (v.is_object() && v.contains("content")) out = v["content"].get<std::string>();  // AddedToken form
    };
    token("unk_token", o.unk_token);
    token("cls_token", o.cls_token);
    token("sep_token", o.sep_token);
    token("pad_token", o.pad_token);
  } catch (const nlohmann::json::exception& e) {
    throw DataError(config.string() + ": malformed tokenizer_config.json: " + e.what());
  }
  return o;
}

}  // namespace

std::unique_ptr<Tokenizer> load_tokenizer(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw DataError(path.string() + ": no such tokenizer file or directory");
  if (fs::is_directory(path, ec)) {
    // tokenizer.json first: it states the casing and the template itself (AutoTokenizer's choice too).
    if (fs::exists(path / "tokenizer.json", ec))
      return WordPieceTokenizer::from_tokenizer_json(path / "tokenizer.json");
    if (fs::exists(path / "vocab.txt", ec)) {
      return WordPieceTokenizer::from_vocab_file(path / "vocab.txt",
                                                 options_from_config(path / "tokenizer_config.json"));
    }
    throw DataError(path.string() + ": directory holds neither tokenizer.json nor vocab.txt");
  }
  if (path.extension() == ".json") return WordPieceTokenizer::from_tokenizer_json(path);
  return WordPieceTokenizer::from_vocab_file(
      path, options_from_config(path.parent_path() / "tokenizer_config.json"));
}

}  // namespace lwm

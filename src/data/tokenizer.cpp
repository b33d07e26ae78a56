#include "lwm/data/tokenizer.h"

#include <algorithm>

#include <fstream>
#include <nlohmann/json.hpp>

#include "lwm/common/error.h"
#include "lwm/data/byte_level_bpe.h"
#include "lwm/data/sentencepiece_tokenizer.h"
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

// model.type of a tokenizer.json, or "" when it cannot be read (the WordPiece loader then reports why).
std::string model_type(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  try {
    nlohmann::json j = nlohmann::json::parse(in);
    if (j.is_object() && j.contains("model") && j["model"].is_object()) return j["model"].value("type", "");
  } catch (const nlohmann::json::exception&) {
  }
  return "";
}

void check_family(const std::string& family) {
  for (const char* f : {"", "bert", "distilbert", "roberta", "gpt2", "opt", "t5"}) {
    if (family == f) return;
  }
  throw UsageError("unknown tokenizer family '" + family +
                   "' (expected bert, distilbert, roberta, gpt2, opt or t5)");
}

// The family a byte-level BPE tokenizer is built for ("" when unknown). BERT-family models use
// WordPiece and T5 SentencePiece: a BPE tokenizer for one of them is the wrong file.
std::string bpe_family(const std::string& family, const fs::path& file) {
  if (family == "bert" || family == "distilbert" || family == "t5") {
    throw DataError(file.string() + ": a byte-level BPE tokenizer cannot serve a " + family + " model (" +
                    (family == "t5" ? "T5 uses SentencePiece: spiece.model"
                                    : "BERT-family models use WordPiece: vocab.txt") +
                    ")");
  }
  return family;
}

std::unique_ptr<Tokenizer> bpe_files(const fs::path& vocab_json, const fs::path& merges_txt,
                                     const std::string& family) {
  std::string f = bpe_family(family, vocab_json);
  return ByteLevelBpeTokenizer::from_files(vocab_json, merges_txt, f.empty() ? "gpt2" : f);
}

std::unique_ptr<Tokenizer> tokenizer_json(const fs::path& path, const std::string& family) {
  if (model_type(path) == "BPE")
    return ByteLevelBpeTokenizer::from_tokenizer_json(path, bpe_family(family, path));
  return WordPieceTokenizer::from_tokenizer_json(path);
}

}  // namespace

void truncate_longest_first(std::vector<int64_t>& a, std::vector<int64_t>& b, bool pair, int max_length,
                            size_t specials) {
  if (max_length <= 0) return;
  if (static_cast<size_t>(max_length) < specials) {
    throw UsageError("max_length " + std::to_string(max_length) + " leaves no room for the " +
                     std::to_string(specials) + " special tokens of a " + (pair ? "pair" : "single text"));
  }
  const size_t budget = static_cast<size_t>(max_length) - specials;
  if (!pair) {
    if (a.size() > budget) a.resize(budget);
    return;
  }
  if (a.size() + b.size() <= budget) return;
  // Hugging Face tokenizers' TruncationStrategy::LongestFirst (tokenizers/src/utils/truncation.rs): the longer
  // text is cut down to what the shorter leaves (never below the shorter's length); if both must be cut, the
  // shorter keeps budget / 2 and the longer the rest. A counts as the shorter on a tie.
  const bool a_shorter = a.size() <= b.size();
  size_t n1 = a_shorter ? a.size() : b.size();  // the shorter
  size_t n2 = n1 > budget ? n1 : std::max(n1, budget - n1);
  if (n1 + n2 > budget) {
    n1 = budget / 2;
    n2 = n1 + budget % 2;
  }
  a.resize(std::min(a.size(), a_shorter ? n1 : n2));
  b.resize(std::min(b.size(), a_shorter ? n2 : n1));
}

std::unique_ptr<Tokenizer> load_tokenizer(const fs::path& path, const std::string& family) {
  check_family(family);
  std::error_code ec;
  if (!fs::exists(path, ec)) throw DataError(path.string() + ": no such tokenizer file or directory");
  if (fs::is_directory(path, ec)) {
    // tokenizer.json first: it states the casing and the template itself (AutoTokenizer's choice too).
    // T5's slow tokenizer file first: its tokenizer.json would be a Unigram model, which lwm reads only
    // through the SentencePiece library.
    if (fs::exists(path / "spiece.model", ec)) return SentencePieceTokenizer::from_model_file(path / "spiece.model");
    if (fs::exists(path / "tokenizer.json", ec)) return tokenizer_json(path / "tokenizer.json", family);
    if (fs::exists(path / "vocab.txt", ec)) {
      return WordPieceTokenizer::from_vocab_file(path / "vocab.txt",
                                                 options_from_config(path / "tokenizer_config.json"));
    }
    if (fs::exists(path / "vocab.json", ec) || fs::exists(path / "merges.txt", ec))
      return bpe_files(path / "vocab.json", path / "merges.txt", family);
    throw DataError(path.string() +
                    ": directory holds none of spiece.model, tokenizer.json, vocab.txt, vocab.json + merges.txt");
  }
  const std::string name = path.filename().string();
  if (name == "vocab.json") return bpe_files(path, path.parent_path() / "merges.txt", family);
  if (name == "merges.txt") return bpe_files(path.parent_path() / "vocab.json", path, family);
  if (path.extension() == ".json") return tokenizer_json(path, family);
  if (path.extension() == ".model") return SentencePieceTokenizer::from_model_file(path);
  return WordPieceTokenizer::from_vocab_file(
      path, options_from_config(path.parent_path() / "tokenizer_config.json"));
}

}  // namespace lwm

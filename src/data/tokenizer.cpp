#include "lwm/data/tokenizer.h"

#include <algorithm>

#include <fstream>
#include <nlohmann/json.hpp>

#include "lwm/common/error.h"
#include "lwm/data/byte_level_bpe.h"
#include "lwm/data/sentencepiece_tokenizer.h"
#include "lwm/data/wordpiece.h"
#include "hf_tokenizer_folder.h"

namespace fs = std::filesystem;

namespace lwm {
namespace {

// A BertTokenizer saved by save_pretrained: vocab.txt with tokenizer_config.json (casing, names),
// special_tokens_map.json (names) and added_tokens.json (added tokens) beside it.
WordPieceOptions wordpiece_options(const hf_folder::Folder& f) {
  WordPieceOptions o;  // BertTokenizer's defaults: lower-case, strip accents
  o.lowercase = f.flag("do_lower_case").value_or(true);
  o.strip_accents = f.flag("strip_accents");
  o.handle_chinese_chars = f.flag("tokenize_chinese_chars").value_or(true);
  if (!f.flag("do_basic_tokenize").value_or(true))
    hf_folder::refuse(f, "do_basic_tokenize", "lwm's WordPiece always runs BertTokenizer's basic tokenizer");
  if (f.config.contains("never_split") && !f.config["never_split"].is_null() &&
      !(f.config["never_split"].is_array() && f.config["never_split"].empty())) {
    hf_folder::refuse(f, "never_split", "list such tokens in added_tokens.json instead");
  }
  auto name = [&](const char* key, std::string& out) {
    std::string n = f.special(key);
    if (!n.empty()) out = n;
  };
  name("unk_token", o.unk_token);
  name("cls_token", o.cls_token);
  name("sep_token", o.sep_token);
  name("pad_token", o.pad_token);
  for (const auto& t : f.added) o.added_tokens.push_back({t.content, t.id, t.normalized});
  // The mask token and the extra special tokens the files name are matched whole, raw; one that is neither
  // in vocab.txt nor in added_tokens.json is appended after them, as transformers does.
  std::vector<std::string> named;
  if (!f.specials.empty()) {
    // Named tokens are the special ones (transformers): "[CLS]" is ordinary text once cls_token is another.
    o.special_tokens = {o.pad_token, o.unk_token, o.cls_token, o.sep_token};
    named.push_back(f.special("mask_token").empty() ? "[MASK]" : f.special("mask_token"));
  }
  for (const auto& t : f.extra_specials) named.push_back(t.content);
  for (const auto& n : named) {
    auto same = [&](const WordPieceAddedToken& a) { return a.content == n; };
    if (std::none_of(o.added_tokens.begin(), o.added_tokens.end(), same)) o.added_tokens.push_back({n, -1, false});
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

// What each family's Hugging Face tokenizer class reads: one row per family, so that the loaders below ask the
// table, not the family's name. A vocabulary of another kind is the wrong file for that model (DataError).
struct FamilyVocabulary {
  Family family;
  bool wordpiece, byte_level_bpe, sentencepiece;
  const char* files;  // what it reads, for the message
};
constexpr FamilyVocabulary kFamilyVocabularies[] = {
    {Family::Bert, true, false, false, "BERT-family models use WordPiece: vocab.txt"},
    {Family::DistilBert, true, false, false, "BERT-family models use WordPiece: vocab.txt"},
    {Family::Electra, true, false, false, "BERT-family models use WordPiece: vocab.txt"},
    // RobertaTokenizer's byte-level BPE; a RoBERTa-layout model with a SentencePiece vocabulary is an XLM-R.
    {Family::Roberta, false, true, true, "RoBERTa uses byte-level BPE: vocab.json + merges.txt"},
    {Family::XlmRoberta, false, false, true, "XLM-RoBERTa uses SentencePiece: sentencepiece.bpe.model"},
    {Family::Gpt2, false, true, false, "it uses byte-level BPE: vocab.json + merges.txt"},
    {Family::Opt, false, true, false, "it uses byte-level BPE: vocab.json + merges.txt"},
    {Family::T5, false, false, true, "T5 uses SentencePiece: spiece.model"},
};

const FamilyVocabulary& vocabulary_of(Family family) {
  for (const auto& v : kFamilyVocabularies) {
    if (v.family == family) return v;
  }
  throw UsageError("no tokenizer is known for the " + to_string(family) + " family");
}

// The family a byte-level BPE tokenizer is built for (std::nullopt when unknown: the files decide). A family that
// reads another kind of vocabulary: DataError.
std::optional<Family> bpe_family(std::optional<Family> family, const fs::path& file) {
  if (family && !vocabulary_of(*family).byte_level_bpe) {
    throw DataError(file.string() + ": a byte-level BPE tokenizer cannot serve a " + to_string(*family) + " model (" +
                    vocabulary_of(*family).files + ")");
  }
  return family;
}

// The SentencePiece layout a model family reads `file` with: XLM-RoBERTa's (fairseq's numbering) for the RoBERTa
// layout or, family unknown, a file named as XLMRobertaTokenizer saves it; T5's otherwise.
SentencePieceLayout sentencepiece_layout(std::optional<Family> family, const fs::path& file) {
  if (!family) {
    return file.filename() == "sentencepiece.bpe.model" ? SentencePieceLayout::XlmRoberta : SentencePieceLayout::T5;
  }
  if (!vocabulary_of(*family).sentencepiece) {
    throw DataError(file.string() + ": a SentencePiece model cannot serve a " + to_string(*family) + " model (" +
                    vocabulary_of(*family).files + ")");
  }
  return *family == Family::T5 ? SentencePieceLayout::T5 : SentencePieceLayout::XlmRoberta;
}

// T5Tokenizer saved by save_pretrained: spiece.model with tokenizer_config.json (extra_ids, names),
// special_tokens_map.json and added_tokens.json (the <extra_id_N> sentinels) beside it; XLMRobertaTokenizer
// (transformers 4): sentencepiece.bpe.model with the same files, its specials under its own ids.
std::unique_ptr<Tokenizer> sentencepiece_folder(const fs::path& model, std::optional<Family> family) {
  const SentencePieceLayout layout = sentencepiece_layout(family, model);
  const bool xlmr = layout == SentencePieceLayout::XlmRoberta;
  const hf_folder::Folder f = hf_folder::read(model.parent_path());
  const std::string added_file = (f.dir / "added_tokens.json").string();
  if (!xlmr && f.flag("legacy") == false)
    hf_folder::refuse(f, "legacy", "lwm encodes as T5Tokenizer's legacy mode, which t5-* checkpoints use");
  if (f.config.contains("sp_model_kwargs") && !f.config["sp_model_kwargs"].is_null() &&
      !(f.config["sp_model_kwargs"].is_object() && f.config["sp_model_kwargs"].empty())) {
    hf_folder::refuse(f, "sp_model_kwargs", "SentencePiece sampling options");
  }
  // Sentinels: tokenizer_config.json's extra_ids, else as many as the files list (<extra_id_0> ..).
  auto sentinel = [](const std::string& t) -> int64_t {
    const std::string prefix = "<extra_id_";
    if (t.size() <= prefix.size() + 1 || t.compare(0, prefix.size(), prefix) != 0 || t.back() != '>') return -1;
    const std::string digits = t.substr(prefix.size(), t.size() - prefix.size() - 1);
    if (digits.size() > 6 || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        (digits.size() > 1 && digits[0] == '0'))
      return -1;
    return std::stoll(digits);
  };
  int64_t listed = 0;
  for (const auto& t : f.added)
    if (sentinel(t.content) >= 0) listed = std::max(listed, sentinel(t.content) + 1);
  for (const auto& t : f.extra_specials)
    if (sentinel(t.content) >= 0) listed = std::max(listed, sentinel(t.content) + 1);
  SentencePieceOptions o;
  o.layout = layout;
  o.extra_ids = static_cast<int>(listed);
  if (f.config.contains("extra_ids") && !f.config["extra_ids"].is_null()) {
    const auto& v = f.config["extra_ids"];
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > 100000)
      throw DataError(f.config_file() + ": extra_ids must be a non-negative integer, got " + v.dump());
    if (v.get<int64_t>() > 0 || listed == 0) o.extra_ids = static_cast<int>(v.get<int64_t>());
    if (listed > o.extra_ids) {
      throw DataError(f.config_file() + ": extra_ids " + std::to_string(o.extra_ids) + " but <extra_id_" +
                      std::to_string(listed - 1) + "> is listed");
    }
  }
  if (xlmr && o.extra_ids > 0) {
    throw DataError(f.dir.string() + ": <extra_id_N> sentinels are T5's; an XLM-RoBERTa tokenizer has none");
  }
  auto sp = SentencePieceTokenizer::from_model_file(model, o);
  // Added tokens: the sentinels where T5Tokenizer puts them (<extra_id_N> = pieces + extra_ids - 1 - N) or
  // the model's own pieces under their ids; nothing else.
  for (const auto& t : f.added) {
    const int64_t own = sp->token_to_id(t.content);
    if (own == t.id) continue;
    if (own >= 0 || sentinel(t.content) >= 0) {
      throw DataError(added_file + ": '" + t.content + "' has id " + std::to_string(t.id) + " but is token " +
                      std::to_string(own) + " of the SentencePiece model" +
                      (sentinel(t.content) >= 0 ? " with its sentinels (T5Tokenizer's layout: <extra_id_0> last)" : ""));
    }
    throw DataError(added_file + ": the added token '" + t.content + "' (id " + std::to_string(t.id) +
                    ") is not supported with a SentencePiece model (only T5's <extra_id_N> sentinels are)");
  }
  for (const auto& t : f.extra_specials) {
    if (sp->token_to_id(t.content) < 0) {
      throw DataError((f.dir / "special_tokens_map.json").string() + ": the additional special token '" + t.content +
                      "' is not supported with a SentencePiece model (only T5's <extra_id_N> sentinels are)");
    }
  }
  // Special-token names: T5 takes <pad>, </s> and <unk> from the model itself, XLM-R its five specials; other
  // names would be new tokens.
  std::vector<std::pair<const char*, int64_t>> roles = {
      {"eos_token", sp->eos_id()}, {"unk_token", sp->unk_id()}, {"pad_token", sp->pad_id()}};
  if (xlmr) {
    for (const char* key : {"bos_token", "cls_token"}) roles.emplace_back(key, sp->token_to_id("<s>"));
    roles.emplace_back("sep_token", sp->eos_id());
    roles.emplace_back("mask_token", sp->token_to_id("<mask>"));
  }
  for (const auto& [key, id] : roles) {
    const std::string name = f.special(key);
    if (!name.empty() && name != sp->id_to_token(id)) {
      throw DataError(f.dir.string() + ": " + key + " '" + name + "' is not the model's own piece '" +
                      sp->id_to_token(id) + "' (id " + std::to_string(id) + "); other names are not supported");
    }
  }
  for (const char* key : {"bos_token", "cls_token", "sep_token", "mask_token"}) {
    if (!xlmr && !f.special(key).empty()) {
      throw DataError(f.dir.string() + ": " + key + " '" + f.special(key) +
                      "' is not supported with a SentencePiece model (T5 has none)");
    }
  }
  sp->set_model_max_length(f.model_max_length);
  return sp;
}

std::unique_ptr<Tokenizer> bpe_files(const fs::path& vocab_json, const fs::path& merges_txt,
                                     std::optional<Family> family) {
  return ByteLevelBpeTokenizer::from_files(vocab_json, merges_txt, bpe_family(family, vocab_json).value_or(Family::Gpt2));
}

std::unique_ptr<Tokenizer> tokenizer_json(const fs::path& path, std::optional<Family> family) {
  std::unique_ptr<Tokenizer> t;
  if (model_type(path) == "BPE") {
    t = ByteLevelBpeTokenizer::from_tokenizer_json(path, bpe_family(family, path));
  } else {
    t = WordPieceTokenizer::from_tokenizer_json(path);
  }
  t->set_model_max_length(hf_folder::read(path.parent_path()).model_max_length);
  return t;
}

std::unique_ptr<Tokenizer> vocab_txt(const fs::path& path) {
  const hf_folder::Folder f = hf_folder::read(path.parent_path());
  auto t = WordPieceTokenizer::from_vocab_file(path, wordpiece_options(f));
  t->set_model_max_length(f.model_max_length);
  return t;
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
  if (family.empty()) return load_tokenizer(path, std::optional<Family>());
  const auto known = family_from_string(family);
  if (!known) throw UsageError("unknown tokenizer family '" + family + "' (expected " + family_names() + ")");
  return load_tokenizer(path, known);
}

std::unique_ptr<Tokenizer> load_tokenizer(const fs::path& path, std::optional<Family> family) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw DataError(path.string() + ": no such tokenizer file or directory");
  if (fs::is_directory(path, ec)) {
    // tokenizer.json first: it states the casing and the template itself (AutoTokenizer's choice too).
    // T5's slow tokenizer file first: its tokenizer.json would be a Unigram model, which lwm reads only
    // through the SentencePiece library.
    if (fs::exists(path / "spiece.model", ec)) return sentencepiece_folder(path / "spiece.model", family);
    if (fs::exists(path / "sentencepiece.bpe.model", ec)) {
      return sentencepiece_folder(path / "sentencepiece.bpe.model", family);
    }
    if (fs::exists(path / "tokenizer.json", ec)) return tokenizer_json(path / "tokenizer.json", family);
    if (fs::exists(path / "vocab.txt", ec)) return vocab_txt(path / "vocab.txt");
    if (fs::exists(path / "vocab.json", ec) || fs::exists(path / "merges.txt", ec))
      return bpe_files(path / "vocab.json", path / "merges.txt", family);
    throw DataError(path.string() +
                    ": directory holds none of spiece.model, sentencepiece.bpe.model, tokenizer.json, vocab.txt, "
                    "vocab.json + merges.txt");
  }
  const std::string name = path.filename().string();
  if (name == "vocab.json") return bpe_files(path, path.parent_path() / "merges.txt", family);
  if (name == "merges.txt") return bpe_files(path.parent_path() / "vocab.json", path, family);
  if (path.extension() == ".json") return tokenizer_json(path, family);
  if (path.extension() == ".model") return sentencepiece_folder(path, family);
  return vocab_txt(path);
}

}  // namespace lwm

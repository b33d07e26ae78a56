#include "lwm/data/wordpiece.h"

#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/utf8.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>

#include "hf_tokenizer_folder.h"
#include "lwm/common/error.h"
#include "lwm/common/read_file.h"
#include "lwm/data/utf8.h"

namespace fs = std::filesystem;

namespace lwm {
namespace {

// ---- Character classes, as transformers' tokenization_bert.py defines them -------------------------

bool is_control(UChar32 c) {  // _is_control: category C* except \t \n \r
  if (c == '\t' || c == '\n' || c == '\r') return false;
  switch (u_charType(c)) {
    case U_CONTROL_CHAR:
    case U_FORMAT_CHAR:
    case U_UNASSIGNED:
    case U_PRIVATE_USE_CHAR:
    case U_SURROGATE:
      return true;
    default:
      return false;
  }
}

bool is_whitespace(UChar32 c) {  // _is_whitespace: \t \n \r ' ' or Zs
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || u_charType(c) == U_SPACE_SEPARATOR;
}

bool is_ascii_punct(UChar32 c) {
  return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
}

bool is_punctuation(UChar32 c) {  // _is_punctuation: the ASCII non-alphanumerics, or P*
  if (is_ascii_punct(c)) return true;
  switch (u_charType(c)) {
    case U_DASH_PUNCTUATION:
    case U_START_PUNCTUATION:
    case U_END_PUNCTUATION:
    case U_CONNECTOR_PUNCTUATION:
    case U_OTHER_PUNCTUATION:
    case U_INITIAL_PUNCTUATION:
    case U_FINAL_PUNCTUATION:
      return true;
    default:
      return false;
  }
}

// _is_chinese_char: the CJK Unified Ideographs blocks exactly as BERT lists them (not all of CJK:
// Hiragana, Katakana and Hangul are written with spaces-free words and are left whole).
bool is_cjk(UChar32 c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

// Python's str.isspace (what str.split() splits on): category Zs or bidi class WS, B or S.
bool py_isspace(UChar32 c) {
  if (u_charType(c) == U_SPACE_SEPARATOR) return true;
  UCharDirection d = u_charDirection(c);
  return d == U_WHITE_SPACE_NEUTRAL || d == U_BLOCK_SEPARATOR || d == U_SEGMENT_SEPARATOR;
}

struct BasicOptions {
  bool lowercase;
  bool strip_accents;
  bool clean_text;
  bool handle_chinese_chars;
};

const icu::Normalizer2& normalizer(bool nfc) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* n =
      nfc ? icu::Normalizer2::getNFCInstance(status) : icu::Normalizer2::getNFDInstance(status);
  if (U_FAILURE(status) || n == nullptr) {
    throw std::runtime_error(std::string("ICU: cannot load the normalizer: ") + u_errorName(status));
  }
  return *n;
}

icu::UnicodeString normalize(const icu::Normalizer2& n, const icu::UnicodeString& s) {
  UErrorCode status = U_ZERO_ERROR;
  if (n.isNormalized(s, status) && U_SUCCESS(status)) return s;
  status = U_ZERO_ERROR;
  icu::UnicodeString out = n.normalize(s, status);
  if (U_FAILURE(status))
    throw std::runtime_error(std::string("ICU: normalization failed: ") + u_errorName(status));
  return out;
}

// BasicTokenizer on pure ASCII: no CJK, no accents, NFC is the identity, lower-casing is A-Z only.
template <typename Emit>
void basic_ascii(std::string_view text, const BasicOptions& o, std::string& word, Emit& emit) {
  word.clear();
  auto flush = [&] {
    if (!word.empty()) emit(std::string_view(word));
    word.clear();
  };
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    bool space = c == ' ' || c == '\t' || c == '\n' || c == '\r';
    if (o.clean_text && !space && (c < 32 || c == 127)) continue;  // \0 and the other Cc are dropped
    if (space || (!o.clean_text && (c == '\v' || c == '\f' || (c >= 0x1C && c <= 0x1F)))) {
      flush();  // str.split() separators; without clean_text \v \f \x1c-\x1f also split
    } else if (is_ascii_punct(c)) {
      flush();
      emit(std::string_view(&ch, 1));
    } else {
      word += (o.lowercase && c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : ch;
    }
  }
  flush();
}

// BasicTokenizer's _clean_text and _tokenize_chinese_chars, then NFC: the text before any split.
icu::UnicodeString cleaned_nfc(std::string_view text, const BasicOptions& o) {
  icu::UnicodeString cleaned;
  const auto* s = reinterpret_cast<const uint8_t*>(text.data());
  int32_t i = 0, n = static_cast<int32_t>(text.size());
  while (i < n) {
    UChar32 c;
    U8_NEXT(s, i, n, c);
    if (c < 0) c = 0xFFFD;  // invalid UTF-8 reads as U+FFFD (and is dropped by clean_text, as HF drops it)
    if (o.clean_text) {
      if (c == 0 || c == 0xFFFD || is_control(c)) continue;
      if (is_whitespace(c)) c = ' ';
    }
    if (o.handle_chinese_chars && is_cjk(c)) {
      cleaned.append(static_cast<UChar32>(' ')).append(c).append(static_cast<UChar32>(' '));
    } else {
      cleaned.append(c);
    }
  }
  static const icu::Normalizer2& nfc = normalizer(true);
  return normalize(nfc, cleaned);
}

// BasicTokenizer's lower() and _run_strip_accents (NFD, non-spacing marks dropped), as the options say.
void lower_and_strip_accents(icu::UnicodeString& w, const BasicOptions& o) {
  if (o.lowercase) w.toLower(icu::Locale::getRoot());
  if (!o.strip_accents) return;
  static const icu::Normalizer2& nfd = normalizer(false);
  icu::UnicodeString d = normalize(nfd, w);
  w.remove();
  for (int32_t k = 0; k < d.length();) {
    UChar32 c = d.char32At(k);
    k += U16_LENGTH(c);
    if (u_charType(c) != U_NON_SPACING_MARK) w.append(c);
  }
}

// The general BasicTokenizer: _clean_text, _tokenize_chinese_chars, NFC, whitespace split, then per
// word lower() and _run_strip_accents, then _run_split_on_punc.
template <typename Emit>
void basic_unicode(std::string_view text, const BasicOptions& o, std::string& word, Emit& emit) {
  const icu::UnicodeString normalized = cleaned_nfc(text, o);

  auto flush_word = [&](icu::UnicodeString w) {
    if (w.isEmpty()) return;
    lower_and_strip_accents(w, o);
    int32_t start = 0;
    for (int32_t k = 0; k < w.length();) {
      UChar32 c = w.char32At(k);
      int32_t len = U16_LENGTH(c);
      if (is_punctuation(c)) {
        if (k > start) {
          word.clear();
          w.tempSubStringBetween(start, k).toUTF8String(word);
          emit(std::string_view(word));
        }
        word.clear();
        w.tempSubString(k, len).toUTF8String(word);
        emit(std::string_view(word));
        start = k + len;
      }
      k += len;
    }
    if (start < w.length()) {
      word.clear();
      w.tempSubStringBetween(start, w.length()).toUTF8String(word);
      emit(std::string_view(word));
    }
  };

  int32_t start = -1;
  for (int32_t k = 0; k < normalized.length();) {
    UChar32 c = normalized.char32At(k);
    int32_t len = U16_LENGTH(c);
    if (py_isspace(c)) {
      if (start >= 0) flush_word(normalized.tempSubStringBetween(start, k));
      start = -1;
    } else if (start < 0) {
      start = k;
    }
    k += len;
  }
  if (start >= 0) flush_word(normalized.tempSubStringBetween(start, normalized.length()));
}

template <typename Emit>
void run_basic(std::string_view text, const BasicOptions& o, std::string& word, Emit emit) {
  bool ascii =
      std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  if (ascii) {
    basic_ascii(text, o, word, emit);
  } else {
    basic_unicode(text, o, word, emit);
  }
}

size_t code_points(std::string_view s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

BasicOptions basic_options(const WordPieceOptions& o) {
  return {o.lowercase, o.strip_accents.value_or(o.lowercase), o.clean_text, o.handle_chinese_chars};
}

// The text as BertNormalizer leaves it, where HF matches normalised added tokens: clean_text, CJK
// ideographs spaced, NFC, lower-cased and accents stripped as configured (the per-word steps of
// BasicTokenizer, applied to the whole text; they are idempotent, so BasicTokenizer may run again after).
std::string normalize_text(std::string_view text, const BasicOptions& o) {
  std::string out;
  const bool ascii =
      std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  if (ascii) {
    out.reserve(text.size());
    for (char ch : text) {
      auto c = static_cast<unsigned char>(ch);
      bool space = c == ' ' || c == '\t' || c == '\n' || c == '\r';
      if (o.clean_text && !space && (c < 32 || c == 127)) continue;
      if (o.clean_text && space) ch = ' ';
      out += (o.lowercase && c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : ch;
    }
    return out;
  }
  icu::UnicodeString w = cleaned_nfc(text, o);
  lower_and_strip_accents(w, o);
  w.toUTF8String(out);
  return out;
}

}  // namespace

// ---- WordPieceTokenizer ----------------------------------------------------------------------------

WordPieceTokenizer::WordPieceTokenizer(std::vector<std::string> vocab, WordPieceOptions options)
    : vocab_(std::move(vocab)), opt_(std::move(options)) {
  strip_accents_ = opt_.strip_accents.value_or(opt_.lowercase);
  if (vocab_.empty()) throw DataError("tokenizer: the vocabulary is empty");
  // ids_ and continuation_ hold views into vocab_: the added tokens appended below must not move it.
  vocab_.reserve(vocab_.size() + opt_.added_tokens.size());
  ids_.reserve(vocab_.size() * 2);
  for (size_t i = 0; i < vocab_.size(); ++i) {
    std::string_view tok = vocab_[i];
    ids_[tok] = static_cast<int64_t>(i);  // a duplicate keeps its last id, as HF's load_vocab does
    const std::string& prefix = opt_.continuing_prefix;
    if (!prefix.empty() && tok.size() > prefix.size() && tok.compare(0, prefix.size(), prefix) == 0) {
      continuation_[tok.substr(prefix.size())] = static_cast<int64_t>(i);
    }
  }
  // Added tokens: a vocabulary token keeps its id, the others continue the vocabulary.
  {
    std::vector<hf_folder::AddedToken> check;
    for (const auto& t : opt_.added_tokens) {
      if (t.content.empty()) throw DataError("tokenizer: an added token is empty");
      if (t.id >= 0) check.push_back({t.content, t.id});
    }
    const int64_t base = static_cast<int64_t>(vocab_.size());
    hf_folder::check_added_ids(check, base, [&](const std::string& c) { return token_to_id(c); }, "tokenizer");
    for (const auto& t : opt_.added_tokens) {
      int64_t id = token_to_id(t.content);
      if (id < 0) {
        id = static_cast<int64_t>(vocab_.size());
        vocab_.push_back(t.content);
        added_ids_[t.content] = id;
      }
      const BasicOptions o = basic_options(opt_);
      if (t.normalized) {
        std::string n = normalize_text(t.content, o);
        if (!n.empty()) normalized_.push_back({std::move(n), id});
      } else {
        specials_.push_back({t.content, id});
      }
    }
  }
  auto required = [&](const std::string& token, const char* role) {
    int64_t id = token_to_id(token);
    if (id < 0) {
      throw DataError(std::string("tokenizer: the ") + role + " token '" + token +
                      "' is not in the vocabulary");
    }
    return id;
  };
  unk_id_ = required(opt_.unk_token, "unknown");
  cls_id_ = required(opt_.cls_token, "classifier");
  sep_id_ = required(opt_.sep_token, "separator");
  pad_id_ = required(opt_.pad_token, "padding");
  if (opt_.special_tokens.empty()) {
    for (const char* t : {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}) {
      if (token_to_id(t) >= 0) opt_.special_tokens.emplace_back(t);
    }
    for (const auto* t : {&opt_.unk_token, &opt_.cls_token, &opt_.sep_token, &opt_.pad_token}) {
      if (std::find(opt_.special_tokens.begin(), opt_.special_tokens.end(), *t) ==
          opt_.special_tokens.end()) {
        opt_.special_tokens.push_back(*t);
      }
    }
  }
  for (const auto& t : opt_.special_tokens) {
    if (t.empty()) continue;
    int64_t id = token_to_id(t);
    if (id < 0) {
      throw DataError("tokenizer: the special token '" + t + "' is neither in the vocabulary nor an added token");
    }
    if (std::none_of(specials_.begin(), specials_.end(), [&](const Special& s) { return s.text == t; }))
      specials_.push_back({t, id});
  }
  // Longest first, so that of two specials starting at the same place the longer wins (HF's trie).
  auto longest_first = [](const Special& x, const Special& y) { return x.text.size() > y.text.size(); };
  std::stable_sort(specials_.begin(), specials_.end(), longest_first);
  std::stable_sort(normalized_.begin(), normalized_.end(), longest_first);
}

std::vector<int64_t> WordPieceTokenizer::special_ids() const {
  std::set<int64_t> ids{unk_id_, cls_id_, sep_id_, pad_id_};
  for (const auto& s : specials_) ids.insert(s.id);
  for (const auto& s : normalized_) ids.insert(s.id);
  return {ids.begin(), ids.end()};
}

int64_t WordPieceTokenizer::token_to_id(std::string_view token) const {
  auto it = ids_.find(token);
  if (it != ids_.end()) return it->second;
  if (added_ids_.empty()) return -1;
  auto added = added_ids_.find(std::string(token));
  return added == added_ids_.end() ? -1 : added->second;
}

const std::string& WordPieceTokenizer::id_to_token(int64_t id) const {
  if (id < 0 || id >= vocab_size())
    throw std::out_of_range("tokenizer: no token with id " + std::to_string(id));
  return vocab_[static_cast<size_t>(id)];
}

// Splits `text` where a token of `tokens` occurs (leftmost; at a position, the first of the list matches):
// emit(segment, -1) for the text between, emit(token, id) for a token.
template <typename Special, typename Emit>
static void split_on_tokens(std::string_view text, const std::vector<Special>& tokens, Emit emit) {
  size_t start = 0;
  for (size_t i = 0; i < text.size();) {
    const Special* hit = nullptr;
    for (const auto& sp : tokens) {
      if (text.compare(i, sp.text.size(), sp.text) == 0) {
        hit = &sp;
        break;
      }
    }
    if (!hit) {
      ++i;
      continue;
    }
    if (i > start) emit(text.substr(start, i - start), int64_t{-1});
    emit(std::string_view(hit->text), hit->id);
    i += hit->text.size();
    start = i;
  }
  if (start < text.size()) emit(text.substr(start), int64_t{-1});
}

// Splits text on the special tokens written in it: emit(segment, -1) for ordinary text and
// emit(token, id) for a special token.
template <typename Emit>
void WordPieceTokenizer::for_each_segment(std::string_view text, Emit emit) const {
  split_on_tokens(text, specials_, emit);
}

// for_each_segment, then the normalised added tokens: each ordinary segment is normalised (BertNormalizer)
// and split where a normalised added token occurs in it (leftmost, longest at a position), as HF tokenizers'
// AddedVocabulary does. emit(segment, -1) / emit(token, id) as for_each_segment.
template <typename Emit>
void WordPieceTokenizer::for_each_part(std::string_view text, Emit emit) const {
  if (normalized_.empty()) {
    for_each_segment(text, emit);
    return;
  }
  const BasicOptions o = basic_options(opt_);
  for_each_segment(text, [&](std::string_view segment, int64_t special) {
    if (special >= 0) {
      emit(segment, special);
      return;
    }
    const std::string norm = normalize_text(segment, o);
    split_on_tokens(std::string_view(norm), normalized_, emit);
  });
}

// Greedy longest-match-first over code points, as WordpieceTokenizer.tokenize.
void WordPieceTokenizer::wordpiece(std::string_view word, std::vector<int64_t>& out) const {
  if (code_points(word) > static_cast<size_t>(opt_.max_input_chars_per_word)) {
    out.push_back(unk_id_);
    return;
  }
  const size_t first = out.size();
  auto is_boundary = [&](size_t k) {
    return k == word.size() || (static_cast<unsigned char>(word[k]) & 0xC0) != 0x80;
  };
  size_t start = 0;
  while (start < word.size()) {
    size_t end = word.size();
    int64_t found = -1;
    while (end > start) {
      std::string_view piece = word.substr(start, end - start);
      const auto& table = start == 0 ? ids_ : continuation_;
      auto it = table.find(piece);
      if (it != table.end()) {
        found = it->second;
        break;
      }
      do {
        --end;
      } while (end > start && !is_boundary(end));
    }
    if (found < 0) {
      out.resize(first);
      out.push_back(unk_id_);
      return;
    }
    out.push_back(found);
    start = end;
  }
}

std::vector<int64_t> WordPieceTokenizer::token_ids(const std::string& text) const {
  std::vector<int64_t> ids;
  ids.reserve(text.size() / 4 + 4);
  const BasicOptions o = basic_options(opt_);
  std::string buffer;
  for_each_part(text, [&](std::string_view segment, int64_t special) {
    if (special >= 0) {
      ids.push_back(special);
      return;
    }
    run_basic(segment, o, buffer, [&](std::string_view w) { wordpiece(w, ids); });
  });
  return ids;
}

std::vector<std::string> WordPieceTokenizer::basic_tokenize(const std::string& text) const {
  std::vector<std::string> words;
  const BasicOptions o = basic_options(opt_);
  std::string buffer;
  for_each_part(text, [&](std::string_view segment, int64_t special) {
    if (special >= 0) {
      words.emplace_back(segment);
      return;
    }
    run_basic(segment, o, buffer, [&](std::string_view w) { words.emplace_back(w); });
  });
  return words;
}

std::vector<std::string> WordPieceTokenizer::tokenize(const std::string& text) const {
  std::vector<std::string> tokens;
  for (int64_t id : token_ids(text)) tokens.push_back(vocab_[static_cast<size_t>(id)]);
  return tokens;
}

Encoding WordPieceTokenizer::encode(const std::string& a, const std::string& b, int max_length) const {
  std::vector<int64_t> ids_a = token_ids(a);
  std::vector<int64_t> ids_b;
  const bool pair = !b.empty();
  if (pair) ids_b = token_ids(b);
  const size_t specials = pair ? 3 : 2;
  truncate_longest_first(ids_a, ids_b, pair, max_length, specials);
  Encoding e;
  e.ids.reserve(ids_a.size() + ids_b.size() + specials);
  e.ids.push_back(cls_id_);
  e.ids.insert(e.ids.end(), ids_a.begin(), ids_a.end());
  e.ids.push_back(sep_id_);
  e.type_ids.assign(e.ids.size(), 0);
  if (pair) {
    e.ids.insert(e.ids.end(), ids_b.begin(), ids_b.end());
    e.ids.push_back(sep_id_);
    e.type_ids.resize(e.ids.size(), 1);
  }
  return e;
}

// ---- Loading -----------------------------------------------------------------------------------------

std::unique_ptr<WordPieceTokenizer> WordPieceTokenizer::from_vocab_file(const fs::path& path,
                                                                        WordPieceOptions options) {
  std::string text = read_file(path, "a vocab.txt");
  if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) text.erase(0, 3);
  std::vector<std::string> vocab;
  size_t pos = 0, line = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    size_t end = nl == std::string::npos ? text.size() : nl;
    std::string token = text.substr(pos, end - pos);
    ++line;
    if (!token.empty() && token.back() == '\r') token.pop_back();
    if (token.find('\0') != std::string::npos) {
      throw DataError(path.string() + ":" + std::to_string(line) + ": a NUL byte: this is not a vocab.txt");
    }
    if (!utf8::valid(token)) throw DataError(path.string() + ":" + std::to_string(line) + ": invalid UTF-8");
    vocab.push_back(std::move(token));
    pos = end + 1;
  }
  // Empty lines at the end (an extra newline) are not tokens: no text produces an empty token, and counting
  // them would make a vocabulary that matches a model's embedding look larger than it. They stay only when
  // an added token's explicit id is the one after them (its ids were counted with them).
  size_t kept = vocab.size();
  while (kept > 0 && vocab[kept - 1].empty()) --kept;
  if (kept < vocab.size()) {
    const int64_t lines = static_cast<int64_t>(vocab.size());
    const bool needed = std::any_of(options.added_tokens.begin(), options.added_tokens.end(),
                                    [&](const WordPieceAddedToken& t) { return t.id == lines; });
    if (!needed) vocab.resize(kept);
  }
  if (vocab.empty()) throw DataError(path.string() + ": empty vocabulary");
  try {
    return std::make_unique<WordPieceTokenizer>(std::move(vocab), std::move(options));
  } catch (const DataError& e) {
    throw DataError(path.string() + ": " + e.what());
  }
}

namespace {

using nlohmann::json;

// The special token names of a BERT-shaped post-processor: ([CLS], [SEP]).
std::pair<std::string, std::string> bert_template(const fs::path& path, const json& pp) {
  const std::string file = path.string();
  if (pp.is_null()) return {"[CLS]", "[SEP]"};
  std::string type = pp.value("type", "");
  if (type == "BertProcessing") {
    return {pp.at("cls").at(0).get<std::string>(), pp.at("sep").at(0).get<std::string>()};
  }
  if (type != "TemplateProcessing") {
    throw DataError(file + ": unsupported post_processor '" + type +
                    "' (expected TemplateProcessing or BertProcessing)");
  }
  // single: [CLS]:0 $A:0 [SEP]:0; pair: [CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1
  auto piece = [](const json& p, std::string& kind, std::string& id, int& type_id) {
    kind = p.contains("SpecialToken") ? "SpecialToken" : p.contains("Sequence") ? "Sequence" : "";
    if (kind.empty()) return;
    id = p.at(kind).at("id").get<std::string>();
    type_id = p.at(kind).value("type_id", 0);
  };
  const json& single = pp.at("single");
  const json& pair = pp.at("pair");
  std::string k[5], id[5];
  int t[5];
  bool ok = single.size() == 3 && pair.size() == 5;
  if (ok) {
    for (int i = 0; i < 3; ++i) piece(single[static_cast<size_t>(i)], k[i], id[i], t[i]);
    ok = k[0] == "SpecialToken" && k[1] == "Sequence" && id[1] == "A" && k[2] == "SpecialToken" &&
         t[0] == 0 && t[1] == 0 && t[2] == 0;
  }
  std::string cls = id[0], sep = id[2];
  if (ok) {
    for (int i = 0; i < 5; ++i) piece(pair[static_cast<size_t>(i)], k[i], id[i], t[i]);
    ok = k[0] == "SpecialToken" && id[0] == cls && k[1] == "Sequence" && id[1] == "A" && t[1] == 0 &&
         k[2] == "SpecialToken" && id[2] == sep && k[3] == "Sequence" && id[3] == "B" && t[3] == 1 &&
         k[4] == "SpecialToken" && id[4] == sep && t[4] == 1;
  }
  if (!ok) {
    throw DataError(file +
                    ": unsupported post_processor template (expected BERT's [CLS] $A [SEP] $B:1 [SEP]:1)");
  }
  // The template names a special token; its string is in special_tokens[name].tokens[0].
  auto token_of = [&](const std::string& name) {
    if (pp.contains("special_tokens") && pp["special_tokens"].contains(name)) {
      const json& toks = pp["special_tokens"][name].at("tokens");
      if (toks.size() != 1) throw DataError(file + ": special token '" + name + "' must be one token");
      return toks[0].get<std::string>();
    }
    return name;
  };
  return {token_of(cls), token_of(sep)};
}

}  // namespace

std::unique_ptr<WordPieceTokenizer> WordPieceTokenizer::from_tokenizer_json(const fs::path& path) {
  const std::string file = path.string();
  std::string text = read_file(path, "a tokenizer.json");
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {  // parse_error, or out_of_range for a number beyond double
    throw DataError(file + ": invalid JSON: " + e.what());
  }
  try {
    if (!j.is_object() || !j.contains("model"))
      throw DataError(file + ": not a tokenizer.json (no \"model\")");
    const json& model = j.at("model");
    std::string type = model.value("type", "");
    if (type != "WordPiece") {
      throw DataError(file + ": tokenizer model type '" + type +
                      "' is not supported here (expected WordPiece)");
    }
    WordPieceOptions o;
    o.unk_token = model.value("unk_token", "[UNK]");
    o.continuing_prefix = model.value("continuing_subword_prefix", "##");
    o.max_input_chars_per_word = model.value("max_input_chars_per_word", 100);

    const json& norm = j.contains("normalizer") ? j.at("normalizer") : json();
    if (norm.is_null()) {
      o.lowercase = false;
      o.strip_accents = false;
      o.clean_text = false;
      o.handle_chinese_chars = false;
    } else if (norm.value("type", "") == "BertNormalizer") {
      o.lowercase = norm.value("lowercase", true);
      if (norm.contains("strip_accents") && !norm["strip_accents"].is_null()) {
        o.strip_accents = norm["strip_accents"].get<bool>();
      }
      o.clean_text = norm.value("clean_text", true);
      o.handle_chinese_chars = norm.value("handle_chinese_chars", true);
    } else {
      throw DataError(file + ": unsupported normalizer '" + norm.value("type", "?") +
                      "' (expected BertNormalizer)");
    }
    const json& pre = j.contains("pre_tokenizer") ? j.at("pre_tokenizer") : json();
    if (pre.is_null() || pre.value("type", "") != "BertPreTokenizer") {
      throw DataError(file + ": unsupported pre_tokenizer (expected BertPreTokenizer)");
    }
    std::tie(o.cls_token, o.sep_token) =
        bert_template(path, j.contains("post_processor") ? j["post_processor"] : json());
    if (j.contains("padding") && j["padding"].is_object())
      o.pad_token = j["padding"].value("pad_token", "[PAD]");

    const json& vocab_map = model.at("vocab");
    if (!vocab_map.is_object() || vocab_map.empty())
      throw DataError(file + ": model.vocab is empty or not a map");
    std::vector<std::string> vocab(vocab_map.size());
    std::vector<bool> seen(vocab_map.size(), false);
    for (const auto& [token, idv] : vocab_map.items()) {
      int64_t id = idv.get<int64_t>();
      if (id < 0 || id >= static_cast<int64_t>(vocab.size()) || seen[static_cast<size_t>(id)]) {
        throw DataError(file + ": model.vocab ids must be 0.." + std::to_string(vocab.size() - 1) +
                        ", each once (token '" + token + "' has id " + std::to_string(id) + ")");
      }
      seen[static_cast<size_t>(id)] = true;
      vocab[static_cast<size_t>(id)] = token;
    }
    if (j.contains("added_tokens") && j["added_tokens"].is_array()) {
      for (const auto& t : j["added_tokens"]) {
        std::string content = t.at("content").get<std::string>();
        int64_t id = t.at("id").get<int64_t>();
        if (id >= static_cast<int64_t>(vocab.size()) || vocab[static_cast<size_t>(id)] != content) {
          throw DataError(
              file + ": added token '" + content + "' (id " + std::to_string(id) +
              ") is not in model.vocab under that id; added tokens beyond the vocabulary are not supported");
        }
        if (t.value("special", false)) o.special_tokens.push_back(content);
      }
    }
    return std::make_unique<WordPieceTokenizer>(std::move(vocab), std::move(o));
  } catch (const json::exception& e) {
    throw DataError(file + ": malformed tokenizer.json: " + e.what());
  } catch (const DataError& e) {
    std::string m = e.what();
    if (m.compare(0, file.size(), file) == 0) throw;
    throw DataError(file + ": " + m);
  }
}

}  // namespace lwm

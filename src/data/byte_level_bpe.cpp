#include "lwm/data/byte_level_bpe.h"

#include <fmt/format.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <unicode/uchar.h>
#include <unicode/utf8.h>

#include <algorithm>
#include <limits>
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

constexpr const char* kEndOfText = "<|endoftext|>";

// ---- GPT-2's pre-tokenisation regex, compiled once ----------------------------------------------------

// GPT-2's pattern. \s is Unicode White_Space in Python's `regex` (GPT2Tokenizer) and in Oniguruma
// (`tokenizers`); PCRE2's UCP \s is White_Space minus U+0085, hence [\s\x{85}].
constexpr const char* kPattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\x{85}\p{L}\p{N}]+|[\s\x{85}]+(?![^\s\x{85}])|[\s\x{85}]+)";

class Regex {
 public:
  Regex() {
    int err = 0;
    PCRE2_SIZE offset = 0;
    code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(kPattern), PCRE2_ZERO_TERMINATED,
                          PCRE2_UTF | PCRE2_UCP, &err, &offset, nullptr);
    if (code_ == nullptr) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(err, msg, sizeof msg);
      throw std::runtime_error(std::string("PCRE2: cannot compile GPT-2's pattern: ") +
                               reinterpret_cast<const char*>(msg));
    }
    pcre2_jit_compile(code_, PCRE2_JIT_COMPLETE);  // optional: without JIT the interpreter runs
  }
  ~Regex() { pcre2_code_free(code_); }
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;
  const pcre2_code* code() const { return code_; }

 private:
  pcre2_code* code_ = nullptr;
};

const Regex& gpt2_regex() {
  static const Regex r;
  return r;
}

struct MatchData {
  pcre2_match_data* md;
  MatchData() : md(pcre2_match_data_create_from_pattern(gpt2_regex().code(), nullptr)) {
    if (md == nullptr) throw std::bad_alloc();
  }
  ~MatchData() { pcre2_match_data_free(md); }
  MatchData(const MatchData&) = delete;
  MatchData& operator=(const MatchData&) = delete;
};

// ---- bytes_to_unicode ---------------------------------------------------------------------------------

// GPT-2's bytes_to_unicode: printable Latin-1 bytes ('!'..'~', '¡'..'¬', '®'..'ÿ') map to themselves,
// the other 68 to U+0100.. in byte order.
std::array<char32_t, 256> byte_to_code_point() {
  std::array<char32_t, 256> m{};
  char32_t next = 256;
  for (int b = 0; b < 256; ++b) {
    bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    m[static_cast<size_t>(b)] = printable ? static_cast<char32_t>(b) : next++;
  }
  return m;
}

bool is_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// Unicode White_Space (what tokenizers' lstrip/rstrip trim) of the code point ending/starting at k.
size_t space_before(std::string_view s, size_t k) {  // byte length of a whitespace char ending at k, or 0
  if (k == 0) return 0;
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  int32_t i = static_cast<int32_t>(k);
  UChar32 c;
  U8_PREV(p, 0, i, c);
  return (c >= 0 && u_isUWhiteSpace(c)) ? k - static_cast<size_t>(i) : 0;
}

size_t space_after(std::string_view s, size_t k) {
  if (k >= s.size()) return 0;
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  int32_t i = static_cast<int32_t>(k), n = static_cast<int32_t>(s.size());
  UChar32 c;
  U8_NEXT(p, i, n, c);
  return (c >= 0 && u_isUWhiteSpace(c)) ? static_cast<size_t>(i) - k : 0;
}

// ---- Families -----------------------------------------------------------------------------------------

struct Names {
  std::string bos, eos, unk, pad, cls, sep, mask;
};

// The special-token names of each family's HF tokenizer class (GPT2Tokenizer; OPT's GPT2Tokenizer
// config; RobertaTokenizer), with the caller's non-empty overrides.
Names family_names(const ByteLevelBpeOptions& o) {
  Names n;
  if (o.family == Family::Gpt2) {
    n = {kEndOfText, kEndOfText, kEndOfText, "<pad>", kEndOfText, kEndOfText, ""};
  } else if (o.family == Family::Opt) {
    n = {"</s>", "</s>", "</s>", "<pad>", "</s>", "</s>", ""};
  } else if (o.family == Family::Roberta) {
    n = {"<s>", "</s>", "<unk>", "<pad>", "<s>", "</s>", "<mask>"};
  } else {
    throw UsageError("no byte-level BPE template for the " + to_string(o.family) + " family (gpt2, opt or roberta)");
  }
  auto set = [](std::string& name, const std::string& given) {
    if (!given.empty()) name = given;
  };
  set(n.bos, o.bos_token);
  set(n.eos, o.eos_token);
  set(n.unk, o.unk_token);
  set(n.pad, o.pad_token);
  set(n.cls, o.cls_token);
  set(n.sep, o.sep_token);
  set(n.mask, o.mask_token);
  return n;
}

BpeTemplate family_template(Family family, const Names& n) {
  BpeTemplate t;
  if (family == Family::Opt) {  // GPT2Tokenizer.build_inputs_with_special_tokens with add_bos_token=True
    t.single_before = {n.bos};
    t.pair_before = {n.bos};
    t.pair_between = {n.bos};
  } else if (family == Family::Roberta) {  // RobertaTokenizer.build_inputs_with_special_tokens
    t.single_before = {n.cls};
    t.single_after = {n.sep};
    t.pair_before = {n.cls};
    t.pair_between = {n.sep, n.sep};
    t.pair_after = {n.sep};
  }  // gpt2: nothing (add_bos_token=False)
  return t;
}

// Re-throws a DataError with the file name in front, unless it already starts with it.
[[noreturn]] void rethrow_with_file(const std::string& file, const std::string& message) {
  if (message.compare(0, file.size(), file) == 0) throw DataError(message);
  throw DataError(file + ": " + message);
}

}  // namespace

// ---- ByteLevelBpeTokenizer ----------------------------------------------------------------------------

ByteLevelBpeTokenizer::ByteLevelBpeTokenizer(Vocab vocab, const Merges& merges, ByteLevelBpeOptions options)
    : opt_(std::move(options)), ids_(std::move(vocab)) {
  const Names names = family_names(opt_);  // validates the family
  if (ids_.empty()) throw DataError("tokenizer: the vocabulary is empty");

  // The vocabulary's ids number its entries (0 .. entries - 1; Hugging Face's vocab.json files are dense): an id
  // beyond them names no row of any model's embedding, and the id -> token table below would be sized by it.
  const auto entries = static_cast<int64_t>(ids_.size());
  for (const auto& [token, id] : ids_) {
    if (id < 0 || id >= entries) {
      throw DataError("tokenizer: token '" + token + "' has the id " + std::to_string(id) + ", outside 0.." +
                      std::to_string(entries - 1) + " (the vocabulary has " + std::to_string(entries) + " entries)");
    }
  }

  // Added tokens: their ids may lie beyond the vocabulary; an id < 0 means "look it up".
  std::vector<BpeAddedToken> added;
  for (auto t : opt_.added_tokens) {
    if (t.content.empty()) continue;
    if (t.id < 0) {
      auto it = ids_.find(t.content);
      if (it == ids_.end()) continue;  // a name only (special_tokens_map.json) without an id
      t.id = it->second;
    }
    added.push_back(t);
  }
  // After the vocabulary come at most the added tokens themselves.
  for (const auto& t : added) {
    if (t.id >= entries + static_cast<int64_t>(added.size())) {
      throw DataError("tokenizer: added token '" + t.content + "' has the id " + std::to_string(t.id) +
                      ", beyond the vocabulary's " + std::to_string(entries) + " entries and the " +
                      std::to_string(added.size()) + " added tokens after them");
    }
  }
  for (const auto& t : added) ids_[t.content] = t.id;

  int64_t max_id = -1;
  for (const auto& [token, id] : ids_) {
    if (id < 0 || id > std::numeric_limits<int32_t>::max()) {
      throw DataError("tokenizer: token '" + token + "' has the invalid id " + std::to_string(id));
    }
    max_id = std::max(max_id, id);
  }
  id_to_token_.assign(static_cast<size_t>(max_id + 1), std::string());
  used_.assign(id_to_token_.size(), false);
  added_.assign(id_to_token_.size(), false);
  for (const auto& [token, id] : ids_) {
    auto k = static_cast<size_t>(id);
    // Two tokens with one id: keep the lexicographically smaller one, so that the choice is deterministic.
    if (!used_[k] || token < id_to_token_[k]) id_to_token_[k] = token;
    used_[k] = true;
  }
  for (const auto& t : added) {
    id_to_token_[static_cast<size_t>(t.id)] = t.content;
    added_[static_cast<size_t>(t.id)] = true;
  }

  const auto cps = byte_to_code_point();
  for (size_t b = 0; b < 256; ++b) {
    byte_symbol_[b] = utf8::encode(static_cast<UChar32>(cps[b]));
    code_point_byte_[cps[b]] = static_cast<uint8_t>(b);
    auto it = ids_.find(byte_symbol_[b]);
    byte_id_[b] = it == ids_.end() ? -1 : static_cast<int32_t>(it->second);
  }

  merges_.reserve(merges.size() * 2);
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    // Not a structured binding: the lambda below names them, which clang before 16 cannot compile (fuzz/ builds
    // with Debian 12's clang 14).
    const std::string& left = merges[rank].first;
    const std::string& right = merges[rank].second;
    auto id_of = [&](const std::string& token) {
      auto it = ids_.find(token);
      if (it == ids_.end()) {
        throw DataError("tokenizer: merge " + std::to_string(rank + 1) + " '" + left + " " + right +
                        "' needs the token '" + token + "', which is not in the vocabulary");
      }
      return static_cast<uint64_t>(it->second);
    };
    uint64_t key = id_of(left) << 32 | id_of(right);
    auto merged = static_cast<int32_t>(id_of(left + right));
    merges_[key] = Merge{static_cast<int32_t>(rank), merged};  // a repeated pair keeps its last rank, as HF
  }

  // Special tokens: the name's id, else <|endoftext|>'s, else -1.
  auto direct = [&](const std::string& name) -> int64_t {
    if (name.empty()) return -1;
    auto it = ids_.find(name);
    return it == ids_.end() ? -1 : it->second;
  };
  auto with_fallback = [&](const std::string& name) {
    int64_t id = direct(name);
    return id >= 0 ? id : direct(kEndOfText);
  };
  bos_id_ = with_fallback(names.bos);
  eos_id_ = with_fallback(names.eos);
  unk_id_ = with_fallback(names.unk);
  pad_id_ = direct(names.pad);
  if (pad_id_ < 0) pad_id_ = eos_id_;
  if (pad_id_ < 0) {
    throw DataError("tokenizer: no padding token: neither '" + names.pad +
                    "' nor the end-of-sequence token '" + names.eos + "' nor '" + kEndOfText +
                    "' is in the vocabulary");
  }

  const BpeTemplate templ = opt_.templ ? *opt_.templ : family_template(opt_.family, names);
  auto resolve = [&](const std::vector<std::string>& list) {
    std::vector<int64_t> out;
    for (const auto& name : list) {
      int64_t id = with_fallback(name);
      if (id < 0) {
        throw DataError("tokenizer: the template's special token '" + name +
                        "' is not in the vocabulary (nor is '" + kEndOfText + "')");
      }
      out.push_back(id);
    }
    return out;
  };
  single_before_ = resolve(templ.single_before);
  single_after_ = resolve(templ.single_after);
  pair_before_ = resolve(templ.pair_before);
  pair_between_ = resolve(templ.pair_between);
  pair_after_ = resolve(templ.pair_after);

  // Verbatim tokens: the added tokens (with their flags), then the family's special tokens that resolve
  // (RoBERTa's <mask> takes the space before it, as RobertaTokenizer's AddedToken(lstrip=True)).
  verbatim_ = added;
  auto add_special = [&](const std::string& name, bool lstrip) {
    std::string token = direct(name) >= 0 ? name : (direct(kEndOfText) >= 0 ? kEndOfText : "");
    if (token.empty()) return;
    for (const auto& v : verbatim_) {
      if (v.content == token) return;  // an added token's own flags win
    }
    verbatim_.push_back({token, direct(token), token == name && lstrip, false});
  };
  for (const std::string* name : {&names.bos, &names.eos, &names.unk, &names.pad, &names.cls, &names.sep}) {
    if (!name->empty()) add_special(*name, false);
  }
  if (!names.mask.empty()) add_special(names.mask, opt_.family == Family::Roberta);
  std::stable_sort(verbatim_.begin(), verbatim_.end(), [](const BpeAddedToken& x, const BpeAddedToken& y) {
    return x.content.size() > y.content.size();
  });
  for (const auto& v : verbatim_) verbatim_first_[static_cast<unsigned char>(v.content[0])] = true;

  gpt2_regex();  // compile now: a PCRE2 problem shows at load time
}

// Splits `text` at the verbatim tokens: emit(segment, -1) for the text between them, emit(token, id)
// for each. Leftmost match; at one position the longest token wins (tokenizers' LeftmostLongest).
template <typename Emit>
void ByteLevelBpeTokenizer::for_each_segment(std::string_view text, Emit emit) const {
  size_t start = 0, i = 0;
  while (i < text.size()) {
    if (!verbatim_first_[static_cast<unsigned char>(text[i])]) {
      ++i;
      continue;
    }
    const BpeAddedToken* hit = nullptr;
    for (const auto& t : verbatim_) {
      if (text.compare(i, t.content.size(), t.content) == 0) {
        hit = &t;
        break;
      }
    }
    if (hit == nullptr) {
      ++i;
      continue;
    }
    size_t end = i;
    if (hit->lstrip) {
      while (size_t n = space_before(text.substr(0, end), end)) {
        if (end - n < start) break;
        end -= n;
      }
    }
    if (end > start) emit(text.substr(start, end - start), int64_t{-1});
    emit(std::string_view(hit->content), hit->id);
    i += hit->content.size();
    if (hit->rstrip) {
      while (size_t n = space_after(text, i)) i += n;
    }
    start = i;
  }
  if (start < text.size()) emit(text.substr(start), int64_t{-1});
}

// GPT-2's regex over one segment (no verbatim tokens inside): emit(piece) for each match.
template <typename Emit>
void ByteLevelBpeTokenizer::for_each_piece(std::string_view segment, Emit emit) const {
  if (segment.empty()) return;
  std::string buffer;
  if (opt_.add_prefix_space && segment.front() != ' ') {  // tokenizers: only when not already there
    buffer.reserve(segment.size() + 1);
    buffer += ' ';
    buffer.append(segment);
    segment = buffer;
  }
  if (!is_ascii(segment) && !utf8::valid(segment)) {
    buffer = utf8::replace_invalid(segment);
    segment = buffer;
  }
  thread_local MatchData match;
  const pcre2_code* code = gpt2_regex().code();
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(segment.data());
  PCRE2_SIZE offset = 0;
  while (offset < segment.size()) {
    int rc = pcre2_match(code, subject, segment.size(), offset, PCRE2_NO_UTF_CHECK, match.md, nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(rc, msg, sizeof msg);
      throw std::runtime_error(std::string("PCRE2: matching failed: ") + reinterpret_cast<const char*>(msg));
    }
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(match.md);
    if (ov[1] <= ov[0]) {  // no alternative matches the empty string; guard anyway
      offset = ov[0] + 1;
      continue;
    }
    emit(segment.substr(ov[0], ov[1] - ov[0]));
    offset = ov[1];
  }
}

// BPE of one pre-tokenised piece (raw bytes), cached. The loop is GPT-2's encoder.py: while some
// adjacent pair has a merge rank, take the lowest and merge all its occurrences, left to right.
void ByteLevelBpeTokenizer::bpe(std::string_view piece, std::vector<int64_t>& out) const {
  {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    auto it = cache_.find(std::string(piece));
    if (it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<int32_t> word;
  word.reserve(piece.size());
  if (opt_.ignore_merges) {
    std::string mapped;
    for (char ch : piece) mapped += byte_symbol_[static_cast<unsigned char>(ch)];
    auto it = ids_.find(mapped);
    if (it != ids_.end()) word.push_back(static_cast<int32_t>(it->second));
  }
  if (word.empty()) {
    for (char ch : piece) {
      auto b = static_cast<unsigned char>(ch);
      if (byte_id_[b] < 0) {
        throw DataError("tokenizer: the byte-level symbol '" + byte_symbol_[b] + "' (byte " + fmt::format("0x{:02X}", b) +
                        ") is not in the vocabulary");
      }
      word.push_back(byte_id_[b]);
    }
    std::vector<int32_t> next;
    next.reserve(word.size());
    while (word.size() > 1) {
      int32_t best_rank = std::numeric_limits<int32_t>::max();
      uint64_t best_key = 0;
      const Merge* best = nullptr;
      for (size_t k = 0; k + 1 < word.size(); ++k) {
        uint64_t key = static_cast<uint64_t>(word[k]) << 32 | static_cast<uint32_t>(word[k + 1]);
        auto it = merges_.find(key);
        if (it != merges_.end() && it->second.rank < best_rank) {
          best_rank = it->second.rank;
          best_key = key;
          best = &it->second;
        }
      }
      if (best == nullptr) break;
      const auto left = static_cast<int32_t>(best_key >> 32);
      const auto right = static_cast<int32_t>(best_key & 0xFFFFFFFFu);
      next.clear();
      for (size_t k = 0; k < word.size();) {
        if (k + 1 < word.size() && word[k] == left && word[k + 1] == right) {
          next.push_back(best->id);
          k += 2;
        } else {
          next.push_back(word[k]);
          k += 1;
        }
      }
      word.swap(next);
    }
  }
  out.insert(out.end(), word.begin(), word.end());
  std::lock_guard<std::mutex> lock(cache_mutex_);
  if (cache_.size() >= 1'000'000) cache_.clear();  // bound the memory on endless distinct input
  cache_.emplace(std::string(piece), std::move(word));
}

std::vector<int64_t> ByteLevelBpeTokenizer::token_ids(const std::string& text) const {
  std::vector<int64_t> ids;
  ids.reserve(text.size() / 3 + 4);
  for_each_segment(text, [&](std::string_view segment, int64_t special) {
    if (special >= 0) {
      ids.push_back(special);
      return;
    }
    for_each_piece(segment, [&](std::string_view piece) { bpe(piece, ids); });
  });
  return ids;
}

std::vector<std::string> ByteLevelBpeTokenizer::tokenize(const std::string& text) const {
  std::vector<std::string> tokens;
  for (int64_t id : token_ids(text)) tokens.push_back(id_to_token(id));
  return tokens;
}

std::vector<std::string> ByteLevelBpeTokenizer::pre_tokenize(const std::string& text) const {
  std::vector<std::string> pieces;
  for_each_segment(text, [&](std::string_view segment, int64_t special) {
    if (special >= 0) {
      pieces.emplace_back(segment);
      return;
    }
    for_each_piece(segment, [&](std::string_view piece) { pieces.emplace_back(piece); });
  });
  return pieces;
}

std::string ByteLevelBpeTokenizer::decode(const std::vector<int64_t>& ids) const {
  std::string out;
  for (int64_t id : ids) {
    const std::string& token = id_to_token(id);
    if (added_[static_cast<size_t>(id)]) {
      out += token;
      continue;
    }
    const auto* p = reinterpret_cast<const uint8_t*>(token.data());
    int32_t i = 0, n = static_cast<int32_t>(token.size());
    while (i < n) {
      int32_t start = i;
      UChar32 c;
      U8_NEXT(p, i, n, c);
      auto it = c >= 0 ? code_point_byte_.find(static_cast<char32_t>(c)) : code_point_byte_.end();
      if (it != code_point_byte_.end()) {
        out += static_cast<char>(it->second);
      } else {
        out.append(token, static_cast<size_t>(start), static_cast<size_t>(i - start));
      }
    }
  }
  return out;
}

std::vector<int64_t> ByteLevelBpeTokenizer::special_ids() const {
  std::set<int64_t> ids;
  for (const auto& v : verbatim_) ids.insert(v.id);
  for (int64_t id : {bos_id_, eos_id_, pad_id_, unk_id_}) {
    if (id >= 0) ids.insert(id);
  }
  return {ids.begin(), ids.end()};
}

int64_t ByteLevelBpeTokenizer::token_to_id(std::string_view token) const {
  auto it = ids_.find(std::string(token));
  return it == ids_.end() ? -1 : it->second;
}

const std::string& ByteLevelBpeTokenizer::id_to_token(int64_t id) const {
  if (id < 0 || id >= vocab_size() || !used_[static_cast<size_t>(id)]) {
    throw std::out_of_range("tokenizer: no token has the id " + std::to_string(id));
  }
  return id_to_token_[static_cast<size_t>(id)];
}

Encoding ByteLevelBpeTokenizer::encode(const std::string& a, const std::string& b, int max_length) const {
  std::vector<int64_t> ids_a = token_ids(a);
  std::vector<int64_t> ids_b;
  const bool pair = !b.empty();
  if (pair) ids_b = token_ids(b);
  const size_t specials = pair ? pair_before_.size() + pair_between_.size() + pair_after_.size()
                               : single_before_.size() + single_after_.size();
  truncate_longest_first(ids_a, ids_b, pair, max_length, specials);
  Encoding e;
  auto append = [&](const std::vector<int64_t>& v) { e.ids.insert(e.ids.end(), v.begin(), v.end()); };
  e.ids.reserve(ids_a.size() + ids_b.size() + specials);
  if (pair) {
    append(pair_before_);
    append(ids_a);
    append(pair_between_);
    append(ids_b);
    append(pair_after_);
  } else {
    append(single_before_);
    append(ids_a);
    append(single_after_);
  }
  e.type_ids.assign(e.ids.size(), 0);  // GPT-2, OPT and RoBERTa: no token types
  return e;
}

// ---- Loading ------------------------------------------------------------------------------------------

namespace {

using nlohmann::json;

// The special-token names (and AddedToken flags) of special_tokens_map.json / tokenizer_config.json beside
// the tokenizer files, and the extra special tokens (looked up in the vocabulary and the added tokens).
void apply_specials(const hf_folder::Folder& f, ByteLevelBpeOptions& o) {
  auto flags = [&](const hf_folder::AddedToken& t) {
    for (auto& a : o.added_tokens) {
      if (a.content == t.content) {  // an added token named as a special token: the name's flags too
        a.lstrip = a.lstrip || t.lstrip;
        a.rstrip = a.rstrip || t.rstrip;
        return;
      }
    }
    if (t.lstrip || t.rstrip) o.added_tokens.push_back({t.content, -1, t.lstrip, t.rstrip});
  };
  const std::pair<const char*, std::string*> keys[] = {
      {"bos_token", &o.bos_token},  {"eos_token", &o.eos_token}, {"unk_token", &o.unk_token},
      {"pad_token", &o.pad_token},  {"cls_token", &o.cls_token}, {"sep_token", &o.sep_token},
      {"mask_token", &o.mask_token}};
  for (const auto& [key, out] : keys) {
    auto it = f.specials.find(key);
    if (it == f.specials.end()) continue;
    *out = it->second.content;
    flags(it->second);
  }
  for (const auto& t : f.extra_specials) {
    auto same = [&](const BpeAddedToken& a) { return a.content == t.content; };
    if (std::none_of(o.added_tokens.begin(), o.added_tokens.end(), same)) {
      o.added_tokens.push_back({t.content, -1, t.lstrip, t.rstrip});  // looked up in the vocabulary
    } else {
      flags(t);
    }
  }
}

// One merge: "a b" (merges.txt, tokenizer.json string form) or ["a", "b"].
std::pair<std::string, std::string> split_merge(const std::string& line, const std::string& where) {
  size_t space = line.find(' ');
  if (space == std::string::npos || space == 0 || space + 1 >= line.size() ||
      line.find(' ', space + 1) != std::string::npos) {
    throw DataError(where + ": a merge must be two tokens separated by one space, got '" + line + "'");
  }
  return {line.substr(0, space), line.substr(space + 1)};
}

ByteLevelBpeTokenizer::Vocab read_vocab_map(const json& v, const std::string& where) {
  if (!v.is_object() || v.empty()) throw DataError(where + " must be a non-empty object of token: id");
  ByteLevelBpeTokenizer::Vocab vocab;
  vocab.reserve(v.size() * 2);
  for (const auto& [token, id] : v.items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0) {
      throw DataError(where + ": token '" + token + "' has no valid id (a non-negative integer)");
    }
    vocab.emplace(token, id.get<int64_t>());
  }
  return vocab;
}

}  // namespace

std::unique_ptr<ByteLevelBpeTokenizer> ByteLevelBpeTokenizer::from_files(const fs::path& vocab_json,
                                                                         const fs::path& merges_txt,
                                                                         Family family) {
  ByteLevelBpeOptions o;
  o.family = family;
  Vocab vocab;
  {
    const std::string file = vocab_json.string();
    std::string text = read_file(vocab_json, "a vocab.json");
    json j;
    try {
      j = json::parse(text);
    } catch (const json::exception& e) {  // parse_error, or out_of_range for a number beyond double
      throw DataError(file + ": invalid JSON: " + e.what());
    }
    vocab = read_vocab_map(j, file);
  }
  Merges merges;
  {
    const std::string file = merges_txt.string();
    std::string text = read_file(merges_txt, "a merges.txt");
    size_t pos = 0, line = 0;
    while (pos < text.size()) {
      size_t nl = text.find('\n', pos);
      size_t end = nl == std::string::npos ? text.size() : nl;
      std::string s = text.substr(pos, end - pos);
      pos = end + 1;
      ++line;
      if (!s.empty() && s.back() == '\r') s.pop_back();
      if (line == 1 && s.compare(0, 3, "\xEF\xBB\xBF") == 0) s.erase(0, 3);
      if (s.empty() || s.compare(0, 8, "#version") == 0) continue;  // the header, as tokenizers skips it
      merges.push_back(split_merge(s, file + ":" + std::to_string(line)));
    }
  }
  // The save_pretrained files beside vocab.json: added tokens, special-token names, options.
  const hf_folder::Folder f = hf_folder::read(vocab_json.parent_path());
  int64_t base = 0;
  for (const auto& [token, id] : vocab) base = std::max(base, id + 1);
  hf_folder::check_added_ids(
      f.added, base,
      [&](const std::string& t) {
        auto it = vocab.find(t);
        return it == vocab.end() ? int64_t{-1} : it->second;
      },
      (f.dir / "added_tokens.json").string());
  for (const auto& t : f.added) o.added_tokens.push_back({t.content, t.id, t.lstrip, t.rstrip});
  apply_specials(f, o);
  if (auto prefix = f.flag("add_prefix_space")) o.add_prefix_space = *prefix;
  if (auto bos = f.flag("add_bos_token"); bos && o.family != Family::Roberta && *bos != (o.family == Family::Opt)) {
    hf_folder::refuse(f, "add_bos_token",
                      "the " + to_string(o.family) + " template " + (o.family == Family::Opt ? "adds" : "adds no") +
                          " beginning-of-sequence token; the model's family decides it");
  }
  if (f.flag("add_eos_token").value_or(false))
    hf_folder::refuse(f, "add_eos_token", "no byte-level BPE template of lwm appends an end-of-sequence token");
  try {
    auto t = std::make_unique<ByteLevelBpeTokenizer>(std::move(vocab), merges, std::move(o));
    t->set_model_max_length(f.model_max_length);
    return t;
  } catch (const DataError& e) {
    rethrow_with_file(vocab_json.string(), e.what());
  }
}

namespace {

// A TemplateProcessing post-processor of the form  X.. $A Y..  /  X.. $A Y.. $B Z..  as token names.
BpeTemplate template_processing(const json& pp, const std::string& file) {
  auto names_of = [&](const std::string& id) {
    std::vector<std::string> out;
    if (pp.contains("special_tokens") && pp["special_tokens"].contains(id)) {
      for (const auto& t : pp["special_tokens"][id].at("tokens")) out.push_back(t.get<std::string>());
    } else {
      out.push_back(id);
    }
    return out;
  };
  // Splits the piece list at its sequences: parts[0] before the first, parts[1] after it, ...
  auto split = [&](const json& pieces, const std::vector<std::string>& sequences) {
    std::vector<std::vector<std::string>> parts(1);
    size_t next = 0;
    for (const auto& p : pieces) {
      if (p.contains("SpecialToken")) {
        for (auto& n : names_of(p["SpecialToken"].at("id").get<std::string>())) parts.back().push_back(n);
      } else if (p.contains("Sequence")) {
        std::string id = p["Sequence"].at("id").get<std::string>();
        if (next >= sequences.size() || id != sequences[next]) {
          throw DataError(file + ": unsupported post_processor template (sequence $" + id + " out of place)");
        }
        ++next;
        parts.emplace_back();
      } else {
        throw DataError(file + ": unsupported post_processor template piece " + p.dump());
      }
    }
    if (next != sequences.size())
      throw DataError(file + ": unsupported post_processor template (a sequence is missing)");
    return parts;
  };
  auto single = split(pp.at("single"), {"A"});
  auto pair = split(pp.at("pair"), {"A", "B"});
  BpeTemplate t;
  t.single_before = single[0];
  t.single_after = single[1];
  t.pair_before = pair[0];
  t.pair_between = pair[1];
  t.pair_after = pair[2];
  return t;
}

// The template a tokenizer.json's post_processor states, or gpt2's (none) for ByteLevel/null.
void template_from_post_processor(const json& pp, const std::string& file, ByteLevelBpeOptions& o) {
  if (pp.is_null()) return;
  std::string type = pp.value("type", "");
  if (type == "Sequence") {
    for (const auto& p : pp.at("processors")) template_from_post_processor(p, file, o);
    return;
  }
  if (type == "ByteLevel") return;  // offsets only
  if (type == "RobertaProcessing") {
    o.family = Family::Roberta;
    o.cls_token = pp.at("cls").at(0).get<std::string>();
    o.sep_token = pp.at("sep").at(0).get<std::string>();
    return;
  }
  if (type == "TemplateProcessing") {
    o.templ = template_processing(pp, file);
    return;
  }
  throw DataError(file + ": unsupported post_processor '" + type +
                  "' for byte-level BPE (expected ByteLevel, RobertaProcessing or TemplateProcessing)");
}

}  // namespace

std::unique_ptr<ByteLevelBpeTokenizer> ByteLevelBpeTokenizer::from_tokenizer_json(const fs::path& path,
                                                                                  std::optional<Family> family) {
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
    if (type != "BPE") {
      throw DataError(file + ": tokenizer model type '" + type + "' is not supported here (expected BPE)");
    }
    const json& pre = j.contains("pre_tokenizer") ? j["pre_tokenizer"] : json();
    std::string pre_type = pre.is_object() ? pre.value("type", "") : "";
    if (pre_type != "ByteLevel" || !pre.value("use_regex", true)) {
      throw DataError(file +
                      ": tokenizer model type 'BPE' is not supported without a ByteLevel pre_tokenizer " +
                      "using GPT-2's regex (found " +
                      (pre_type.empty() ? std::string("none") : "'" + pre_type + "'") + ")");
    }
    if (j.contains("normalizer") && !j["normalizer"].is_null()) {
      throw DataError(file + ": unsupported normalizer '" + j["normalizer"].value("type", "?") +
                      "' for byte-level BPE (expected none)");
    }
    auto nonempty = [&](const char* key) {
      return model.contains(key) && model[key].is_string() && !model[key].get<std::string>().empty();
    };
    if (nonempty("continuing_subword_prefix") || nonempty("end_of_word_suffix")) {
      throw DataError(file +
                      ": BPE with a continuing_subword_prefix or end_of_word_suffix is not byte-level BPE");
    }
    if (model.contains("dropout") && model["dropout"].is_number() && model["dropout"].get<double>() > 0) {
      throw DataError(file + ": BPE dropout is not supported (it makes tokenization random)");
    }

    ByteLevelBpeOptions o;
    o.family = family.value_or(Family::Gpt2);
    o.add_prefix_space = pre.value("add_prefix_space", false);
    o.ignore_merges = model.value("ignore_merges", false);
    if (!family)
      template_from_post_processor(j.contains("post_processor") ? j["post_processor"] : json(), file, o);

    Vocab vocab = read_vocab_map(model.at("vocab"), file + ": model.vocab");
    Merges merges;
    for (const auto& m : model.at("merges")) {
      if (m.is_string()) {
        merges.push_back(split_merge(m.get<std::string>(), file + ": model.merges"));
      } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
        merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
      } else {
        throw DataError(file + ": model.merges: a merge must be \"a b\" or [\"a\", \"b\"], got " + m.dump());
      }
    }
    if (j.contains("added_tokens") && j["added_tokens"].is_array()) {
      for (const auto& t : j["added_tokens"]) {
        o.added_tokens.push_back({t.at("content").get<std::string>(), t.at("id").get<int64_t>(),
                                  t.value("lstrip", false), t.value("rstrip", false)});
      }
    }
    if (j.contains("padding") && j["padding"].is_object() && j["padding"].contains("pad_token"))
      o.pad_token = j["padding"]["pad_token"].get<std::string>();
    apply_specials(hf_folder::read(path.parent_path()), o);
    return std::make_unique<ByteLevelBpeTokenizer>(std::move(vocab), merges, std::move(o));
  } catch (const json::exception& e) {
    throw DataError(file + ": malformed tokenizer.json: " + e.what());
  } catch (const DataError& e) {
    rethrow_with_file(file, e.what());
  }
}

}  // namespace lwm

#include "lwm/data/sentencepiece_tokenizer.h"

#include <sentencepiece_processor.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "lwm/common/error.h"

namespace fs = std::filesystem;

namespace lwm {
namespace {

constexpr std::string_view kSentinelPrefix = "<extra_id_";

std::string one_line(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  std::replace(s.begin(), s.end(), '\r', ' ');
  return s;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::string_view strip(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// "<extra_id_N>" at text[pos] with N written canonically (HF's tokens are exactly <extra_id_0>..): N and
// the token's length, or -1.
std::pair<int64_t, size_t> sentinel_at(std::string_view text, size_t pos) {
  if (text.compare(pos, kSentinelPrefix.size(), kSentinelPrefix) != 0) return {-1, 0};
  size_t i = pos + kSentinelPrefix.size();
  const size_t digits_begin = i;
  int64_t n = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9' && i - digits_begin < 9) {
    n = n * 10 + (text[i] - '0');
    ++i;
  }
  const size_t digits = i - digits_begin;
  if (digits == 0 || i >= text.size() || text[i] != '>') return {-1, 0};
  if (digits > 1 && text[digits_begin] == '0') return {-1, 0};  // "<extra_id_01>" is not a sentinel
  return {n, i + 1 - pos};
}

}  // namespace

SentencePieceTokenizer::SentencePieceTokenizer(std::unique_ptr<sentencepiece::SentencePieceProcessor> sp,
                                               int extra_ids, const fs::path& path)
    : sp_(std::move(sp)), extra_ids_(extra_ids) {
  piece_count_ = sp_->GetPieceSize();
  pad_id_ = sp_->pad_id();
  eos_id_ = sp_->eos_id();
  unk_id_ = sp_->unk_id();
  auto require = [&](int64_t id, const char* name, const char* flag) {
    if (id < 0 || id >= piece_count_) {
      throw DataError(path.string() + ": the SentencePiece model has no " + name +
                      " piece (T5 needs one; train with " + flag + ", see tools/train_sentencepiece.sh)");
    }
  };
  require(pad_id_, "<pad>", "--pad_id=0");
  require(eos_id_, "</s>", "--eos_id=1");
  require(unk_id_, "<unk>", "--unk_id=2");
  pad_piece_ = sp_->IdToPiece(static_cast<int>(pad_id_));
  eos_piece_ = sp_->IdToPiece(static_cast<int>(eos_id_));
  unk_piece_ = sp_->IdToPiece(static_cast<int>(unk_id_));
}

SentencePieceTokenizer::~SentencePieceTokenizer() = default;

std::unique_ptr<SentencePieceTokenizer> SentencePieceTokenizer::from_model_file(
    const fs::path& path, SentencePieceOptions options) {
  if (options.extra_ids < 0) {
    throw UsageError("sentencepiece tokenizer: extra_ids must be >= 0, got " +
                     std::to_string(options.extra_ids));
  }
  std::error_code ec;
  if (!fs::exists(path, ec)) throw DataError(path.string() + ": no such file (a SentencePiece model)");
  if (fs::is_directory(path, ec)) {
    throw DataError(path.string() + ": is a directory, expected a SentencePiece model (spiece.model)");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(path.string() + ": cannot open for reading");
  std::ostringstream ss;
  ss << in.rdbuf();
  const std::string bytes = ss.str();
  if (bytes.empty()) throw DataError(path.string() + ": empty file, expected a SentencePiece model");

  auto sp = std::make_unique<sentencepiece::SentencePieceProcessor>();
  const auto status = sp->LoadFromSerializedProto(bytes);
  if (!status.ok()) {
    // A protobuf parse failure reads "[model_proto->ParseFromArray(...)]": say so in words.
    const std::string why = one_line(status.message());
    throw DataError(path.string() + ": not a valid SentencePiece model (" +
                    (why.find("ParseFromArray") != std::string::npos ? "not a serialized ModelProto" : why) +
                    ")");
  }
  return std::unique_ptr<SentencePieceTokenizer>(
      new SentencePieceTokenizer(std::move(sp), options.extra_ids, path));
}

std::pair<int64_t, size_t> SentencePieceTokenizer::special_at(std::string_view text, size_t pos) const {
  const std::pair<const std::string*, int64_t> specials[] = {
      {&eos_piece_, eos_id_}, {&pad_piece_, pad_id_}, {&unk_piece_, unk_id_}};
  for (const auto& [piece, id] : specials) {
    if (!piece->empty() && text.compare(pos, piece->size(), *piece) == 0) return {id, piece->size()};
  }
  if (extra_ids_ > 0) {
    auto [n, len] = sentinel_at(text, pos);
    if (n >= 0 && n < extra_ids_) return {sentinel_id(static_cast<int>(n)), len};
  }
  return {-1, 0};
}

void SentencePieceTokenizer::encode_plain(std::string_view text, std::vector<int64_t>& out) const {
  if (text.empty()) return;
  std::vector<int> ids;
  const auto status = sp_->Encode(text, &ids);
  if (!status.ok()) throw DataError("sentencepiece tokenizer: " + one_line(status.ToString()));
  out.insert(out.end(), ids.begin(), ids.end());
}

std::vector<int64_t> SentencePieceTokenizer::token_ids(const std::string& text) const {
  // HF's slow tokenizer: split on the special tokens (earliest match), strip the whitespace around each,
  // encode the pieces between them on their own.
  std::vector<int64_t> out;
  std::string_view rest(text);
  size_t chunk_begin = 0;
  bool after_special = false;
  for (size_t pos = 0; pos < rest.size();) {
    auto [id, len] = special_at(rest, pos);
    if (id < 0) {
      ++pos;
      continue;
    }
    std::string_view chunk = rest.substr(chunk_begin, pos - chunk_begin);
    encode_plain(strip(chunk), out);
    out.push_back(id);
    pos += len;
    chunk_begin = pos;
    after_special = true;
  }
  std::string_view tail = rest.substr(chunk_begin);
  encode_plain(after_special ? strip(tail) : tail, out);
  return out;
}

std::vector<std::string> SentencePieceTokenizer::tokenize(const std::string& text) const {
  std::vector<std::string> pieces;
  for (int64_t id : token_ids(text)) pieces.push_back(id_to_token(id));
  return pieces;
}

Encoding SentencePieceTokenizer::encode(const std::string& a, const std::string& b, int max_length) const {
  std::vector<int64_t> ids_a = token_ids(a);
  std::vector<int64_t> ids_b;
  const bool pair = !b.empty();
  if (pair) ids_b = token_ids(b);
  const size_t specials = pair ? 2 : 1;
  if (max_length > 0) {
    if (static_cast<size_t>(max_length) < specials) {
      throw UsageError("max_length " + std::to_string(max_length) + " leaves no room for the " +
                       std::to_string(specials) + " </s> token" +
                       (pair ? "s of a pair" : " of a single text"));
    }
    const size_t budget = static_cast<size_t>(max_length) - specials;
    if (!pair) {
      if (ids_a.size() > budget) ids_a.resize(budget);
    } else {
      // HF "longest_first": one token at a time from the end of the longer text; B on a tie.
      while (ids_a.size() + ids_b.size() > budget) {
        if (ids_a.size() > ids_b.size()) {
          ids_a.pop_back();
        } else {
          ids_b.pop_back();
        }
      }
    }
  }
  // T5Tokenizer._add_eos_if_not_present
  auto add_eos = [&](std::vector<int64_t>& ids) {
    if (ids.empty() || ids.back() != eos_id_) ids.push_back(eos_id_);
  };
  Encoding e;
  add_eos(ids_a);
  e.ids = std::move(ids_a);
  if (pair) {
    add_eos(ids_b);
    e.ids.insert(e.ids.end(), ids_b.begin(), ids_b.end());
  }
  e.type_ids.assign(e.ids.size(), 0);
  return e;
}

std::vector<int64_t> SentencePieceTokenizer::encode_target(const std::string& text, int max_length) const {
  return encode(text, "", max_length).ids;
}

int64_t SentencePieceTokenizer::token_to_id(std::string_view token) const {
  if (extra_ids_ > 0) {
    auto [n, len] = sentinel_at(token, 0);
    if (n >= 0 && len == token.size()) return n < extra_ids_ ? sentinel_id(static_cast<int>(n)) : -1;
  }
  const int id = sp_->PieceToId(token);
  // PieceToId answers unk_id for an unknown piece: only <unk> itself maps there.
  if (id == unk_id_ && token != unk_piece_) return -1;
  return id;
}

std::string SentencePieceTokenizer::id_to_token(int64_t id) const {
  if (id < 0 || id >= vocab_size()) {
    throw std::out_of_range("sentencepiece tokenizer: id " + std::to_string(id) +
                            " is outside the vocabulary of " + std::to_string(vocab_size()));
  }
  if (id < piece_count_) return sp_->IdToPiece(static_cast<int>(id));
  return std::string(kSentinelPrefix) + std::to_string(vocab_size() - 1 - id) + ">";
}

int64_t SentencePieceTokenizer::sentinel_id(int n) const {
  if (n < 0 || n >= extra_ids_) {
    throw std::out_of_range("sentencepiece tokenizer: <extra_id_" + std::to_string(n) + "> with extra_ids " +
                            std::to_string(extra_ids_));
  }
  return vocab_size() - 1 - n;
}

}  // namespace lwm

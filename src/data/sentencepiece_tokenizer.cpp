#include "lwm/data/sentencepiece_tokenizer.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "lwm/common/error.h"
#include "lwm/common/read_file.h"
#include "sentencepiece_shim/sentencepiece_shim.h"

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

constexpr const char* kShimName = "liblwm_sentencepiece.so";
constexpr const char* kShimEnv = "LWM_SENTENCEPIECE_SHIM";

// GCC says it builds with a sanitizer through __SANITIZE_*__; clang (14, Debian 12's: fuzz/) only through
// __has_feature.
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define LWM_SANITIZER_RUNTIME 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define LWM_SANITIZER_RUNTIME 1
#endif

using DlopenFn = void* (*)(const char*, int);

// The dlopen that may be given RTLD_DEEPBIND. A sanitizer's dlopen interceptor aborts the process on that flag
// (google/sanitizers#611: a deep-bound library's own malloc calls would bypass the sanitizer's allocator), so
// a sanitized build calls glibc's dlopen itself, found with dlsym in libc.so.6 (libdl.so.2 before glibc 2.34).
// That is safe here: libsentencepiece calls no malloc or free (nm -D: its memory comes from libstdc++'s
// operator new, which calls the sanitizer's malloc), and the shim, built with the sanitizer, binds to it first.
// Without RTLD_DEEPBIND it is not safe at all: libsentencepiece's FLAGS_minloglevel, a 32-byte flag object,
// then binds to libc10's (a 4-byte int), and its constructor overwrites c10's data next to it (seen as a hang
// on the mutex in c10::GetEventSampledHandler at the first TorchScript call of every T5 run). nullptr when glibc's
// dlopen cannot be found. (TSan's library-load hooks are skipped too; lwm has no TSan build.)
DlopenFn deep_bind_dlopen() {
#ifdef LWM_SANITIZER_RUNTIME
  for (const char* libc : {"libc.so.6", "libdl.so.2"}) {
    if (void* handle = dlopen(libc, RTLD_LAZY | RTLD_NOLOAD); handle != nullptr) {
      void* real = dlsym(handle, "dlopen");
      dlclose(handle);
      if (real != nullptr) return reinterpret_cast<DlopenFn>(real);
    }
  }
  return nullptr;
#else
  return &dlopen;
#endif
}

// liblwm_sentencepiece.so, the only code in the process that links libsentencepiece. That library exports
// names libtorch's libraries define with other meanings (FLAGS_minloglevel; protobuf in LibTorch 1.13):
// RTLD_LOCAL keeps its symbols out of the global scope (nothing loaded later binds to them) and
// RTLD_DEEPBIND makes it and its dependencies bind to their own definitions first.
// One instance per process, loaded on first use and kept until exit; each model holds it too, so it is
// unloaded only after the last one is freed, whatever the order of static destruction.
class SentencePieceLibrary {
 public:
  // Thread-safe. DataError, one line, when no candidate loads; the next call tries again.
  static std::shared_ptr<const SentencePieceLibrary> get() {
    static const std::shared_ptr<const SentencePieceLibrary> library(new SentencePieceLibrary());
    return library;
  }

  SentencePieceLibrary(const SentencePieceLibrary&) = delete;
  SentencePieceLibrary& operator=(const SentencePieceLibrary&) = delete;

  lwm_spm_load_fn load_model = nullptr;
  lwm_spm_free_fn free_model = nullptr;
  lwm_spm_piece_size_fn piece_size = nullptr;
  lwm_spm_special_id_fn special_id = nullptr;
  lwm_spm_piece_to_id_fn piece_to_id = nullptr;
  lwm_spm_id_to_piece_fn id_to_piece = nullptr;
  lwm_spm_encode_fn encode = nullptr;

 private:
  struct Close {
    void operator()(void* handle) const { dlclose(handle); }
  };
  using Handle = std::unique_ptr<void, Close>;

  SentencePieceLibrary() {
    std::string tried;
    for (const std::string& path : candidates()) {
      std::string why;
      if (open(path, why)) return;
      tried += (tried.empty() ? "" : "; ") + path + " (" + why + ")";
    }
    throw DataError(one_line("cannot load the SentencePiece library " + std::string(kShimName) +
                             " (build the lwm_sentencepiece target, or set " + kShimEnv +
                             " to its path); tried " + tried));
  }

  // $LWM_SENTENCEPIECE_SHIM alone when set; else the executable's directory, then the build tree.
  static std::vector<std::string> candidates() {
    if (const char* env = std::getenv(kShimEnv); env != nullptr && *env != '\0') return {env};
    std::vector<std::string> paths;
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) paths.push_back((exe.parent_path() / kShimName).string());
#ifdef LWM_SENTENCEPIECE_SHIM
    if (std::find(paths.begin(), paths.end(), LWM_SENTENCEPIECE_SHIM) == paths.end()) {
      paths.push_back(LWM_SENTENCEPIECE_SHIM);
    }
#endif
    return paths;
  }

  // Loads `path` and resolves every function into this object; false with the reason in `why`.
  bool open(const std::string& path, std::string& why) {
    const DlopenFn open_deep = deep_bind_dlopen();
    if (open_deep == nullptr) {
      why = "glibc's own dlopen not found (a sanitized build needs it)";
      return false;
    }
    Handle handle(open_deep(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND));
    if (!handle) {
      const char* error = dlerror();
      why = error != nullptr ? error : "dlopen failed";
      if (why.rfind(path + ": ", 0) == 0) why.erase(0, path.size() + 2);  // dlerror names the file too
      return false;
    }
    bool ok = true;
    auto resolve = [&](auto& fn, const char* name) {
      if (!ok) return;
      void* symbol = dlsym(handle.get(), name);
      if (symbol == nullptr) {
        why = std::string("no symbol ") + name + ", not an lwm SentencePiece library";
        ok = false;
        return;
      }
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(symbol);
    };
    lwm_spm_abi_version_fn abi_version = nullptr;
    resolve(abi_version, "lwm_spm_abi_version");
    if (ok && abi_version() != LWM_SPM_SHIM_ABI_VERSION) {
      why = "interface version " + std::to_string(abi_version()) + ", this program needs " +
            std::to_string(LWM_SPM_SHIM_ABI_VERSION) + ": a stale build";
      return false;
    }
    resolve(load_model, "lwm_spm_load");
    resolve(free_model, "lwm_spm_free");
    resolve(piece_size, "lwm_spm_piece_size");
    resolve(special_id, "lwm_spm_special_id");
    resolve(piece_to_id, "lwm_spm_piece_to_id");
    resolve(id_to_piece, "lwm_spm_id_to_piece");
    resolve(encode, "lwm_spm_encode");
    if (ok) handle_ = std::move(handle);
    return ok;
  }

  Handle handle_;
};

}  // namespace

// One model in liblwm_sentencepiece.so, freed there; keeps the library loaded while it lives.
class SentencePieceTokenizer::Model {
 public:
  // DataError naming `path` when the library cannot be loaded or the bytes are not a model.
  static std::unique_ptr<Model> load(const std::string& bytes, const fs::path& path) {
    std::shared_ptr<const SentencePieceLibrary> library;
    try {
      library = SentencePieceLibrary::get();
    } catch (const DataError& e) {
      throw DataError(path.string() + ": " + e.what());
    }
    char error[512] = "";
    lwm_spm* model = library->load_model(bytes.data(), bytes.size(), error, sizeof error);
    if (model == nullptr) {
      // A protobuf parse failure reads "[model_proto->ParseFromArray(...)]": say so in words.
      const std::string why = one_line(error);
      throw DataError(
          path.string() + ": not a valid SentencePiece model (" +
          (why.find("ParseFromArray") != std::string::npos ? "not a serialized ModelProto" : why) + ")");
    }
    return std::unique_ptr<Model>(new Model(std::move(library), model));
  }
  ~Model() { library_->free_model(model_); }
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  int piece_size() const { return library_->piece_size(model_); }
  int special_id(int which) const { return library_->special_id(model_, which); }
  int piece_to_id(std::string_view piece) const {
    return library_->piece_to_id(model_, piece.data(), piece.size());
  }
  std::string id_to_piece(int id) const {
    size_t size = 0;
    const char* piece = library_->id_to_piece(model_, id, &size);
    if (piece == nullptr) throw std::out_of_range("sentencepiece: no piece with id " + std::to_string(id));
    return std::string(piece, size);
  }
  // Appends the ids of `text` (SentencePieceProcessor::Encode) to `out`.
  void encode(std::string_view text, std::vector<int64_t>& out) const {
    char error[512] = "";
    auto append = [](void* context, const int* ids, size_t count) {
      auto& to = *static_cast<std::vector<int64_t>*>(context);
      to.insert(to.end(), ids, ids + count);
    };
    if (library_->encode(model_, text.data(), text.size(), append, &out, error, sizeof error) != 0) {
      throw DataError("sentencepiece tokenizer: " + one_line(error));
    }
  }

 private:
  Model(std::shared_ptr<const SentencePieceLibrary> library, lwm_spm* model)
      : library_(std::move(library)), model_(model) {}

  std::shared_ptr<const SentencePieceLibrary> library_;
  lwm_spm* model_;
};

SentencePieceTokenizer::SentencePieceTokenizer(std::unique_ptr<Model> sp, const SentencePieceOptions& options,
                                               const fs::path& path)
    : sp_(std::move(sp)), layout_(options.layout), extra_ids_(options.extra_ids) {
  piece_count_ = sp_->piece_size();
  if (layout_ == SentencePieceLayout::XlmRoberta) {
    // fairseq's dictionary (XLMRobertaTokenizer): the model's <unk>, <s>, </s> (pieces 0, 1, 2) give way to
    // <s> <pad> </s> <unk>; the other pieces move up by one; <mask> comes last.
    const bool layout_ok = piece_count_ > 3 && sp_->special_id(LWM_SPM_SPECIAL_UNK) == 0 &&
                           sp_->id_to_piece(1) == "<s>" && sp_->id_to_piece(2) == "</s>";
    if (!layout_ok) {
      throw DataError(path.string() + ": not an XLM-RoBERTa SentencePiece model (its first pieces must be "
                      "<unk>, <s>, </s>, as sentencepiece.bpe.model's are)");
    }
    bos_id_ = 0, pad_id_ = 1, eos_id_ = 2, unk_id_ = 3, mask_id_ = piece_count_ + 1;
    bos_piece_ = "<s>", pad_piece_ = "<pad>", eos_piece_ = "</s>", unk_piece_ = "<unk>", mask_piece_ = "<mask>";
    vocab_size_ = piece_count_ + 2;
    return;
  }
  pad_id_ = sp_->special_id(LWM_SPM_SPECIAL_PAD);
  eos_id_ = sp_->special_id(LWM_SPM_SPECIAL_EOS);
  unk_id_ = sp_->special_id(LWM_SPM_SPECIAL_UNK);
  auto require = [&](int64_t id, const char* name, const char* flag) {
    if (id < 0 || id >= piece_count_) {
      throw DataError(path.string() + ": the SentencePiece model has no " + name +
                      " piece (T5 needs one; train with " + flag + ", see tools/train_sentencepiece.sh)");
    }
  };
  require(pad_id_, "<pad>", "--pad_id=0");
  require(eos_id_, "</s>", "--eos_id=1");
  require(unk_id_, "<unk>", "--unk_id=2");
  pad_piece_ = sp_->id_to_piece(static_cast<int>(pad_id_));
  eos_piece_ = sp_->id_to_piece(static_cast<int>(eos_id_));
  unk_piece_ = sp_->id_to_piece(static_cast<int>(unk_id_));
  vocab_size_ = piece_count_ + extra_ids_;
}

int64_t SentencePieceTokenizer::from_model_id(int64_t id) const {
  if (layout_ != SentencePieceLayout::XlmRoberta) return id;
  // Encode gives a piece id >= 3, or 0 for <unk> (the control pieces <s> and </s> never come from text).
  return id == 0 ? unk_id_ : id == 1 ? bos_id_ : id == 2 ? eos_id_ : id + 1;
}

SentencePieceTokenizer::~SentencePieceTokenizer() = default;

std::unique_ptr<SentencePieceTokenizer> SentencePieceTokenizer::from_model_file(
    const fs::path& path, SentencePieceOptions options) {
  if (options.extra_ids < 0) {
    throw UsageError("sentencepiece tokenizer: extra_ids must be >= 0, got " +
                     std::to_string(options.extra_ids));
  }
  const std::string bytes = read_file(path, "a SentencePiece model, e.g. spiece.model");
  if (bytes.empty()) throw DataError(path.string() + ": empty file, expected a SentencePiece model");

  if (options.layout == SentencePieceLayout::XlmRoberta && options.extra_ids != 0) {
    throw UsageError("sentencepiece tokenizer: XLM-RoBERTa's layout has no <extra_id_N> sentinels");
  }
  return std::unique_ptr<SentencePieceTokenizer>(
      new SentencePieceTokenizer(Model::load(bytes, path), options, path));
}

std::pair<int64_t, size_t> SentencePieceTokenizer::special_at(std::string_view text, size_t pos) const {
  for (const auto& [piece, id] : specials()) {
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
  const size_t begin = out.size();
  sp_->encode(text, out);
  for (size_t i = begin; i < out.size(); ++i) out[i] = from_model_id(out[i]);
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
  Encoding e;
  if (layout_ == SentencePieceLayout::XlmRoberta) {
    // XLMRobertaTokenizer.build_inputs_with_special_tokens: <s> A </s> [</s> B </s>].
    truncate_longest_first(ids_a, ids_b, pair, max_length, pair ? 4 : 2);
    e.ids.push_back(bos_id_);
    e.ids.insert(e.ids.end(), ids_a.begin(), ids_a.end());
    e.ids.push_back(eos_id_);
    if (pair) {
      e.ids.push_back(eos_id_);
      e.ids.insert(e.ids.end(), ids_b.begin(), ids_b.end());
      e.ids.push_back(eos_id_);
    }
    e.type_ids.assign(e.ids.size(), 0);
    return e;
  }
  const size_t specials = pair ? 2 : 1;
  truncate_longest_first(ids_a, ids_b, pair, max_length, specials);
  // T5Tokenizer._add_eos_if_not_present
  auto add_eos = [&](std::vector<int64_t>& ids) {
    if (ids.empty() || ids.back() != eos_id_) ids.push_back(eos_id_);
  };
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

std::vector<int64_t> SentencePieceTokenizer::special_ids() const {
  std::set<int64_t> ids;
  for (const auto& [piece, id] : specials()) {
    if (id >= 0) ids.insert(id);
  }
  for (int n = 0; n < extra_ids_; ++n) ids.insert(sentinel_id(n));
  return {ids.begin(), ids.end()};
}

int64_t SentencePieceTokenizer::token_to_id(std::string_view token) const {
  if (extra_ids_ > 0) {
    auto [n, len] = sentinel_at(token, 0);
    if (n >= 0 && len == token.size()) return n < extra_ids_ ? sentinel_id(static_cast<int>(n)) : -1;
  }
  if (layout_ == SentencePieceLayout::XlmRoberta) {
    for (const auto& [piece, id] : specials()) {
      if (token == *piece) return id;
    }
    const int id = sp_->piece_to_id(token);
    return id < 3 ? -1 : id + 1;  // 0: unknown piece (PieceToId answers <unk>'s id)
  }
  const int id = sp_->piece_to_id(token);
  // PieceToId answers unk_id for an unknown piece: only <unk> itself maps there.
  if (id == unk_id_ && token != unk_piece_) return -1;
  return id;
}

std::string SentencePieceTokenizer::id_to_token(int64_t id) const {
  if (id < 0 || id >= vocab_size()) {
    throw std::out_of_range("sentencepiece tokenizer: id " + std::to_string(id) +
                            " is outside the vocabulary of " + std::to_string(vocab_size()));
  }
  if (layout_ == SentencePieceLayout::XlmRoberta) {
    for (const auto& [piece, special] : specials()) {
      if (id == special) return *piece;
    }
    return sp_->id_to_piece(static_cast<int>(id - 1));
  }
  if (id < piece_count_) return sp_->id_to_piece(static_cast<int>(id));
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

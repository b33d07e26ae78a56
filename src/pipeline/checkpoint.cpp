#include "lwm/pipeline/checkpoint.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <torch/version.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <set>
#include <vector>

#include "lwm/common/atomic_file.h"
#include "lwm/common/error.h"

namespace fs = std::filesystem;

namespace lwm {
namespace {

constexpr int kFormat = 1;

// Keys read only after training: a resumed run may change them.
const std::set<std::string> kAfterTraining = {"int8",           "int8_min_weights",      "latency_samples",
                                              "cpu_watts",      "carbon_intensity",      "min_relative_accuracy",
                                              "max_relative_size", "max_relative_time"};

// The first difference between two fingerprints, as "what: then X, now Y"; empty when equal.
std::string first_difference(const nlohmann::json& then, const nlohmann::json& now, const std::string& where) {
  if (then.is_object() && now.is_object()) {
    for (const auto& [key, value] : now.items()) {
      const std::string path = where.empty() ? key : where + "." + key;
      if (!then.contains(key)) return path + ": not in the checkpoint";
      const std::string d = first_difference(then.at(key), value, path);
      if (!d.empty()) return d;
    }
    for (const auto& [key, value] : then.items()) {
      if (!now.contains(key)) return (where.empty() ? key : where + "." + key) + ": in the checkpoint only";
    }
    return "";
  }
  if (then != now) return where + ": " + then.dump() + " in the checkpoint, " + now.dump() + " now";
  return "";
}

// Streams `archive` into `file`. Not OutputArchive::save_to(path): on a failed write (a full disk) its zip
// writer throws, then throws again from its destructor, and the process aborts. Here the writer is always told
// that its bytes went out, and a failure is reported once it has finished.
void save_archive(torch::serialize::OutputArchive& archive, const fs::path& file) {
  std::FILE* out = std::fopen(file.c_str(), "wb");
  if (!out) throw OutputError(file.string() + ": cannot open for writing: " + std::strerror(errno));
  int error = 0;
  archive.save_to([&](const void* data, size_t n) -> size_t {
    if (error == 0 && n > 0 && std::fwrite(data, 1, n, out) != n) error = errno != 0 ? errno : EIO;
    return n;
  });
  if (std::fclose(out) != 0 && error == 0) error = errno != 0 ? errno : EIO;
  if (error != 0) throw OutputError(std::strerror(error));
}

// Size and 64-bit FNV-1a hash of a file's bytes (Fowler, Noll, Vo; the 64-bit offset basis and prime of the
// reference description): a fingerprint against mistakes, not against an adversary, so no cryptographic hash
// (and no library for one) is needed. {"size": -1} for a file that cannot be read.
nlohmann::json content_fingerprint(const fs::path& path) {
  std::FILE* in = std::fopen(path.c_str(), "rb");
  if (!in) return {{"size", -1}};
  uint64_t hash = 0xcbf29ce484222325ULL;
  int64_t size = 0;
  std::vector<unsigned char> buffer(1 << 20);
  while (size_t n = std::fread(buffer.data(), 1, buffer.size(), in)) {
    for (size_t i = 0; i < n; ++i) hash = (hash ^ buffer[i]) * 0x100000001b3ULL;
    size += static_cast<int64_t>(n);
  }
  std::fclose(in);
  return {{"size", size}, {"fnv1a64", fmt::format("{:016x}", hash)}};
}

}  // namespace

fs::path checkpoint_path(const fs::path& out) { return out / "checkpoint.pt"; }
fs::path staged_checkpoint_path(const fs::path& out) { return out / ".checkpoint.pt.staged"; }

nlohmann::json run_fingerprint(const CompressArgs& args, const std::vector<NamedPath>& inputs, int threads) {
  nlohmann::json config = args.config.to_json();
  for (const auto& key : kAfterTraining) config.erase(key);
  nlohmann::json files = nlohmann::json::object();
  for (const auto& in : inputs) {
    if (in.path.empty()) continue;
    files[in.role + " " + in.path.filename().string()] = content_fingerprint(in.path);
  }
  return {{"format", kFormat},
          {"task", args.task},
          {"config", config},
          {"limit_train", args.limit_train},
          {"limit_eval", args.limit_eval},
          {"labels", args.labels},
          {"label_words", args.label_words},
          {"input_files", files},
          {"threads", threads},
          {"lwm_version", LWM_VERSION},
          {"libtorch_version", TORCH_VERSION}};
}

void write_checkpoint(const fs::path& out, torch::serialize::OutputArchive& state, const nlohmann::json& fingerprint) {
  const fs::path staged = staged_checkpoint_path(out), target = checkpoint_path(out);
  try {
    state.write("run/fingerprint", c10::IValue(fingerprint.dump()));
    save_archive(state, staged);
    sync_file(staged);
    fs::rename(staged, target);
    sync_directory(out);
  } catch (const std::exception& e) {
    std::error_code ignore;
    fs::remove(staged, ignore);
    const auto* c10_error = dynamic_cast<const c10::Error*>(&e);
    const std::string why = c10_error ? c10_error->what_without_backtrace() : e.what();
    throw OutputError(target.string() + ": cannot write the checkpoint (disk full?): " +
                      why.substr(0, why.find('\n')));
  }
}

std::unique_ptr<torch::serialize::InputArchive> read_checkpoint(const fs::path& out, const nlohmann::json& fingerprint) {
  const fs::path file = checkpoint_path(out);
  auto archive = std::make_unique<torch::serialize::InputArchive>();
  nlohmann::json then;
  try {
    archive->load_from(file.string());
    c10::IValue value;
    archive->read("run/fingerprint", value);
    then = nlohmann::json::parse(value.toStringRef());
  } catch (const c10::Error& e) {
    const std::string why = e.what_without_backtrace();
    throw ModelError(file.string() + ": not a readable checkpoint (" + why.substr(0, why.find('\n')) +
                     "); start over with --overwrite instead of --resume");
  } catch (const std::exception&) {
    throw ModelError(file.string() + ": not a readable checkpoint (its fingerprint is damaged); start over with "
                     "--overwrite instead of --resume");
  }
  if (!then.is_object()) {
    throw ModelError(file.string() + ": not a readable checkpoint (its fingerprint is damaged); start over with "
                     "--overwrite instead of --resume");
  }
  // Differences that still resume, but not bit-identically.
  const char* const kWarnOnly[] = {"threads", "lwm_version", "libtorch_version"};
  nlohmann::json then_same = then, now_same = fingerprint;
  for (const char* key : kWarnOnly) {
    then_same.erase(key);
    now_same.erase(key);
  }
  const std::string difference = first_difference(then_same, now_same, "");
  if (!difference.empty()) {
    throw UsageError("--resume: " + file.string() + " is another run's checkpoint (" + difference +
                     "); run with the same inputs and config, or start over with --overwrite instead of --resume");
  }
  for (const char* key : kWarnOnly) {
    const nlohmann::json was = then.contains(key) ? then.at(key) : nlohmann::json(nullptr);
    if (was != fingerprint.at(key)) {
      spdlog::warn("{}: written with {} {}, resumed with {}: the student will not be bit-identical to an "
                   "uninterrupted run's", file.string(), key, was.dump(), fingerprint.at(key).dump());
    }
  }
  return archive;
}

}  // namespace lwm

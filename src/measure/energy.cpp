#include "lwm/measure/energy.h"

#include <dlfcn.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace fs = std::filesystem;

namespace lwm {
namespace {

// A whole non-negative integer from a sysfs-style file ("12345\n"); nullopt if unreadable or not one.
std::optional<std::uint64_t> read_u64(const fs::path& file) {
  std::ifstream in(file);
  std::string text;
  if (!in || !std::getline(in, text)) return std::nullopt;
  const char* begin = text.c_str();
  char* end = nullptr;
  errno = 0;
  const unsigned long long value = std::strtoull(begin, &end, 10);
  if (end == begin || errno != 0 || text.find('-') != std::string::npos) return std::nullopt;
  while (*end == ' ' || *end == '\t' || *end == '\r') ++end;
  if (*end != '\0') return std::nullopt;
  return static_cast<std::uint64_t>(value);
}

std::string read_line(const fs::path& file) {
  std::ifstream in(file);
  std::string text;
  if (in) std::getline(in, text);
  return text;
}

// The first field of /proc/loadavg; -1 when it cannot be read.
double load_average_1m(const fs::path& file) {
  std::istringstream in(read_line(file));
  double load = -1;
  if (!(in >> load) || !std::isfinite(load) || load < 0) return -1;
  return load;
}

double process_cpu_seconds() {
  rusage ru{};
  if (::getrusage(RUSAGE_SELF, &ru) != 0) throw std::runtime_error("getrusage(RUSAGE_SELF) failed");
  auto seconds = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + tv.tv_usec * 1e-6; };
  return seconds(ru.ru_utime) + seconds(ru.ru_stime);
}

// One RAPL package domain: <root>/intel-rapl:N with a `name` of "package-N".
struct RaplDomain {
  fs::path energy_file;         // energy_uj: microjoules, counts up, wraps at max_range
  std::uint64_t max_range = 0;  // max_energy_range_uj
  std::uint64_t start = 0;
};

// Package domains under `root`, or empty if there are none or any of them cannot be read
// (since Linux 5.10 energy_uj is readable by root only; a partial sum would under-count).
// Only top-level "intel-rapl:N": "intel-rapl:N:M" are sub-domains (core, uncore, dram) already
// inside the package figure, and "intel-rapl-mmio:N" repeats the package on newer Intel parts.
std::vector<RaplDomain> find_rapl_packages(const fs::path& root) {
  static const std::regex kTopLevel("intel-rapl:[0-9]+");
  std::vector<RaplDomain> domains;
  std::error_code ec;
  fs::directory_iterator it(root, ec);
  if (ec) {
    spdlog::debug("energy: no RAPL: {}: {}", root.string(), ec.message());
    return {};
  }
  for (const auto& entry : it) {
    const fs::path dir = entry.path();
    if (!std::regex_match(dir.filename().string(), kTopLevel)) continue;
    if (read_line(dir / "name").rfind("package", 0) != 0) continue;
    auto max_range = read_u64(dir / "max_energy_range_uj");
    auto energy = read_u64(dir / "energy_uj");
    if (!max_range || !energy || *max_range == 0) {
      spdlog::debug("energy: no RAPL: {} is not readable", (dir / "energy_uj").string());
      return {};
    }
    domains.push_back({dir / "energy_uj", *max_range, 0});
  }
  std::sort(domains.begin(), domains.end(),
            [](const RaplDomain& a, const RaplDomain& b) { return a.energy_file < b.energy_file; });
  if (domains.empty()) spdlog::debug("energy: no RAPL package domain under {}", root.string());
  return domains;
}

// Microjoules between two readings of a counter that wraps to 0 after `max_range`.
std::uint64_t rapl_delta(std::uint64_t start, std::uint64_t end, std::uint64_t max_range) {
  return end >= start ? end - start : (max_range - start) + end;
}

// NVML through dlopen, so lwm neither needs NVML headers to build nor libnvidia-ml to run.
// Declarations as in nvml.h (nvmlReturn_t is a C enum, NVML_SUCCESS == 0).
class Nvml {
 public:
  using Return = int;
  using Device = struct nvmlDevice_st*;

  // nullptr when the library, the device or the energy counter (Volta and newer) is unavailable.
  static std::unique_ptr<Nvml> open(int index) {
    void* lib = ::dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      spdlog::debug("energy: no NVML: {}", ::dlerror());
      return nullptr;
    }
    std::unique_ptr<Nvml> nvml(new Nvml(lib));
    if (!nvml->init_ || !nvml->shutdown_ || !nvml->handle_by_index_ || !nvml->total_energy_) {
      spdlog::debug("energy: no NVML: libnvidia-ml.so.1 lacks the energy API");
      return nullptr;
    }
    if (nvml->init_() != 0) {
      spdlog::debug("energy: no NVML: nvmlInit_v2 failed");
      return nullptr;
    }
    nvml->initialised_ = true;
    if (index < 0 || nvml->handle_by_index_(static_cast<unsigned>(index), &nvml->device_) != 0) {
      spdlog::debug("energy: no NVML: no device {}", index);
      return nullptr;
    }
    if (!nvml->millijoules()) {
      spdlog::debug("energy: no NVML: device {} has no energy counter", index);
      return nullptr;
    }
    return nvml;
  }

  ~Nvml() {
    if (initialised_) shutdown_();
    ::dlclose(lib_);
  }
  Nvml(const Nvml&) = delete;
  Nvml& operator=(const Nvml&) = delete;

  // Energy since the driver was loaded, in millijoules.
  std::optional<unsigned long long> millijoules() const {
    unsigned long long mj = 0;
    if (total_energy_(device_, &mj) != 0) return std::nullopt;
    return mj;
  }

  unsigned long long start = 0;

 private:
  explicit Nvml(void* lib)
      : lib_(lib),
        init_(reinterpret_cast<Return (*)()>(::dlsym(lib, "nvmlInit_v2"))),
        shutdown_(reinterpret_cast<Return (*)()>(::dlsym(lib, "nvmlShutdown"))),
        handle_by_index_(
            reinterpret_cast<Return (*)(unsigned, Device*)>(::dlsym(lib, "nvmlDeviceGetHandleByIndex_v2"))),
        total_energy_(reinterpret_cast<Return (*)(Device, unsigned long long*)>(
            ::dlsym(lib, "nvmlDeviceGetTotalEnergyConsumption"))) {}

  void* lib_;
  Return (*init_)();
  Return (*shutdown_)();
  Return (*handle_by_index_)(unsigned, Device*);
  Return (*total_energy_)(Device, unsigned long long*);
  Device device_ = nullptr;
  bool initialised_ = false;
};

}  // namespace

struct EnergyMeter::Impl {
  EnergyOptions opts;
  std::vector<RaplDomain> rapl;  // empty: estimate the CPU part from CPU time
  std::unique_ptr<Nvml> nvml;    // set only with opts.cuda and a working NVML
  bool started = false;
  std::chrono::steady_clock::time_point wall_start;
  double cpu_start = 0;
  double load_start = -1;
};

EnergyMeter::EnergyMeter(EnergyOptions opts) : impl_(std::make_unique<Impl>()) {
  if (!std::isfinite(opts.cpu_watts_per_core) || opts.cpu_watts_per_core < 0) {
    throw std::invalid_argument("energy: watts per core must be a non-negative number, got " +
                                std::to_string(opts.cpu_watts_per_core));
  }
  impl_->rapl = find_rapl_packages(opts.powercap_root);
  if (opts.cuda) impl_->nvml = Nvml::open(opts.nvml_device);
  impl_->opts = std::move(opts);
}

EnergyMeter::~EnergyMeter() = default;

std::string EnergyMeter::method() const {
  std::string m = impl_->rapl.empty() ? "estimated-cpu-time" : "rapl";
  if (impl_->nvml) m += "+nvml";
  return m;
}

void EnergyMeter::start() {
  Impl& s = *impl_;
  for (auto& d : s.rapl) {
    auto v = read_u64(d.energy_file);
    if (!v) throw std::runtime_error("energy: cannot read " + d.energy_file.string());
    d.start = *v;
  }
  if (s.nvml) {
    auto mj = s.nvml->millijoules();
    if (!mj) throw std::runtime_error("energy: NVML energy counter stopped answering");
    s.nvml->start = *mj;
  }
  s.load_start = load_average_1m(s.opts.loadavg_file);
  s.cpu_start = process_cpu_seconds();
  s.wall_start = std::chrono::steady_clock::now();
  s.started = true;
}

EnergyReading EnergyMeter::stop() {
  Impl& s = *impl_;
  if (!s.started) throw std::logic_error("EnergyMeter::stop() without start()");
  const auto wall_end = std::chrono::steady_clock::now();
  const double cpu_end = process_cpu_seconds();
  s.started = false;

  EnergyReading r;
  r.seconds = std::chrono::duration<double>(wall_end - s.wall_start).count();
  r.cpu_seconds = cpu_end - s.cpu_start;
  r.method = method();
  r.load_average_1m = std::max(s.load_start, load_average_1m(s.opts.loadavg_file));
  r.cores = static_cast<int>(std::max(0L, ::sysconf(_SC_NPROCESSORS_ONLN)));
  if (s.rapl.empty()) {
    r.joules = r.cpu_seconds * s.opts.cpu_watts_per_core;
  } else {
    // A counter wraps after max_energy_range_uj (~262 kJ, minutes to hours at full load); one wrap
    // per stretch is corrected, more cannot be seen, so measure stretches shorter than that.
    std::uint64_t uj = 0;
    for (const auto& d : s.rapl) {
      auto v = read_u64(d.energy_file);
      if (!v) throw std::runtime_error("energy: cannot read " + d.energy_file.string());
      uj += rapl_delta(d.start, *v, d.max_range);
    }
    r.joules = static_cast<double>(uj) * 1e-6;
  }
  if (s.nvml) {
    auto mj = s.nvml->millijoules();
    if (!mj) throw std::runtime_error("energy: NVML energy counter stopped answering");
    r.joules += static_cast<double>(*mj - s.nvml->start) * 1e-3;
  }
  return r;
}

std::string energy_trust_warning(const EnergyReading& r) {
  if (r.load_average_1m < 0 || r.cores <= 0 || r.load_average_1m <= 1.25 * r.cores) return "";
  return fmt::format("energy may be overstated: the machine's load average was {:.1f} on {} cores while measuring "
                     "(other processes compete for the cores; {} counts their effect too)",
                     r.load_average_1m, r.cores, r.method == "rapl" ? "RAPL" : "the CPU-time estimate");
}

double co2_grams(double joules, double g_per_kwh) {
  if (!std::isfinite(joules) || joules < 0 || !std::isfinite(g_per_kwh) || g_per_kwh < 0) {
    throw std::invalid_argument("co2_grams: energy and carbon intensity must be non-negative numbers");
  }
  return joules / 3.6e6 * g_per_kwh;  // 1 kWh = 3.6e6 J
}

}  // namespace lwm

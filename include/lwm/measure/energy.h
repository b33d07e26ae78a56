#pragma once
// Energy of a stretch of work, measured where the machine allows it.
// Order of preference: RAPL (/sys/class/powercap/intel-rapl:*/energy_uj, package domains),
// NVML (when the work runs on CUDA and libnvidia-ml is loadable), otherwise an estimate:
// process CPU time (user+sys, getrusage) x watts per core (default kDefaultCpuWattsPerCore).
// With `cuda`, the GPU's NVML energy is added to the CPU's (RAPL or estimate), as CodeCarbon does,
// and the method names both parts ("rapl+nvml", "estimated-cpu-time+nvml").
// See docs/measurement.md.
#include <memory>
#include <string>

namespace lwm {

constexpr double kDefaultCpuWattsPerCore = 10.0;   // W per busy core; documented in docs/measurement.md
constexpr double kDefaultCarbonIntensity = 475.0;  // gCO2e/kWh, IEA world average (CodeCarbon default)

struct EnergyReading {
  double joules = 0;
  double seconds = 0;      // wall time
  double cpu_seconds = 0;  // process CPU time over the same stretch
  std::string method;      // "rapl", "estimated-cpu-time", each with "+nvml" when the GPU is measured too
  // What else the machine was doing: the larger 1-minute load average (runnable threads, all processes) of
  // the readings at start and stop, and the online cores; -1 / 0 when unknown.
  double load_average_1m = -1;
  int cores = 0;
};

struct EnergyOptions {
  double cpu_watts_per_core = kDefaultCpuWattsPerCore;
  bool cuda = false;    // try NVML when true
  int nvml_device = 0;  // NVML device index (NVML does not apply CUDA_VISIBLE_DEVICES)
  std::string powercap_root = "/sys/class/powercap";  // injectable for tests
  std::string loadavg_file = "/proc/loadavg";          // injectable for tests
};

class EnergyMeter {
 public:
  explicit EnergyMeter(EnergyOptions opts = {});
  ~EnergyMeter();
  void start();
  EnergyReading stop();        // throws std::logic_error without a start()
  std::string method() const;  // which method start()/stop() will use here

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Neither method sees only this process's work on a busy machine: RAPL measures the whole package, and
// the CPU-time estimate counts the time worker threads spin waiting for cores that other processes hold
// (one evaluation measured 3.9 J per 1,000 inferences on a quiet machine and 106.8 beside two busy
// processes; docs/measurement.md). Returns a one-line warning when `r` was taken on an oversubscribed
// machine, its load average above 1.25 x its cores, else "" (also when the load is unknown).
std::string energy_trust_warning(const EnergyReading& r);

// grams CO2e for `joules` at `g_per_kwh`: joules / 3.6e6 * g_per_kwh.
// Throws std::invalid_argument for negative or non-finite inputs.
double co2_grams(double joules, double g_per_kwh);

}  // namespace lwm

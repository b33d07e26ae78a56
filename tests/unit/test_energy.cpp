// EnergyMeter: the CPU-time estimate on a busy loop, RAPL against a fake powercap tree, CO2 arithmetic.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/resource.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "lwm/measure/energy.h"

namespace fs = std::filesystem;

namespace lwm {
namespace {

double cpu_now() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
}

// A fresh directory removed at scope exit.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "lwm-energy-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

void write(const fs::path& file, const std::string& text) {
  fs::create_directories(file.parent_path());
  std::ofstream(file) << text << "\n";
}

// One powercap zone as the kernel shows it: name, energy_uj, max_energy_range_uj.
void zone(const fs::path& root, const std::string& dir, const std::string& name, unsigned long long uj,
          unsigned long long max_uj = 262143328850ULL) {
  write(root / dir / "name", name);
  write(root / dir / "energy_uj", std::to_string(uj));
  write(root / dir / "max_energy_range_uj", std::to_string(max_uj));
}

TEST(EnergyEstimated, BusyLoopJoulesAreCpuSecondsTimesWatts) {
  TempDir empty;  // no RAPL zones: the estimate is used wherever this runs
  EnergyOptions opts;
  opts.cpu_watts_per_core = 12.5;
  opts.powercap_root = (empty.path / "powercap").string();
  EnergyMeter meter(opts);
  EXPECT_EQ(meter.method(), "estimated-cpu-time");

  meter.start();
  const double cpu0 = cpu_now();
  volatile double sink = 0;
  while (cpu_now() - cpu0 < 0.25) {
    for (int i = 0; i < 100000; ++i) sink = sink + i * 1e-9;
  }
  const EnergyReading r = meter.stop();

  EXPECT_EQ(r.method, "estimated-cpu-time");
  EXPECT_GE(r.cpu_seconds, 0.25);
  EXPECT_LT(r.cpu_seconds, 0.35);
  EXPECT_GE(r.seconds, r.cpu_seconds * 0.98);  // one busy thread cannot use more CPU than wall time
  EXPECT_DOUBLE_EQ(r.joules, r.cpu_seconds * 12.5);
}

TEST(EnergyEstimated, DefaultIsTenWattsPerCore) {
  EXPECT_DOUBLE_EQ(EnergyOptions{}.cpu_watts_per_core, 10.0);
  EXPECT_EQ(EnergyOptions{}.powercap_root, "/sys/class/powercap");
}

TEST(EnergyEstimated, RejectsNegativeWatts) {
  EnergyOptions opts;
  opts.cpu_watts_per_core = -1;
  EXPECT_THROW(EnergyMeter{opts}, std::invalid_argument);
}

TEST(EnergyMeter, StopWithoutStartThrows) {
  TempDir empty;
  EnergyOptions opts;
  opts.powercap_root = empty.path.string();
  EnergyMeter meter(opts);
  EXPECT_THROW(meter.stop(), std::logic_error);
}

TEST(EnergyRapl, SumsPackageDeltasAndIgnoresOtherZones) {
  TempDir tmp;
  const fs::path root = tmp.path;
  zone(root, "intel-rapl:0", "package-0", 1000000);
  zone(root, "intel-rapl:1", "package-1", 2000000);
  zone(root, "intel-rapl:0:0", "core", 5);          // inside package-0 already
  zone(root, "intel-rapl:2", "psys", 7);            // platform, not a package
  zone(root, "intel-rapl-mmio:0", "package-0", 9);  // MMIO copy of package-0
  EnergyOptions opts;
  opts.powercap_root = root.string();
  EnergyMeter meter(opts);
  EXPECT_EQ(meter.method(), "rapl");

  meter.start();
  zone(root, "intel-rapl:0", "package-0", 1000000 + 2500000);
  zone(root, "intel-rapl:1", "package-1", 2000000 + 1500000);
  zone(root, "intel-rapl:0:0", "core", 5 + 70000000);
  zone(root, "intel-rapl:2", "psys", 7 + 70000000);
  zone(root, "intel-rapl-mmio:0", "package-0", 9 + 70000000);
  const EnergyReading r = meter.stop();

  EXPECT_EQ(r.method, "rapl");
  EXPECT_DOUBLE_EQ(r.joules, 4.0);  // 2.5 J + 1.5 J, in microjoules
  EXPECT_GE(r.seconds, 0.0);
  EXPECT_GE(r.cpu_seconds, 0.0);
}

TEST(EnergyRapl, CounterWrapAround) {
  TempDir tmp;
  zone(tmp.path, "intel-rapl:0", "package-0", 999000, 1000000);
  EnergyOptions opts;
  opts.powercap_root = tmp.path.string();
  EnergyMeter meter(opts);
  meter.start();
  zone(tmp.path, "intel-rapl:0", "package-0", 500, 1000000);
  // (max - start) + end = 1000 + 500 uJ.
  EXPECT_DOUBLE_EQ(meter.stop().joules, 0.0015);
}

TEST(EnergyRapl, UnreadablePackageFallsBackToEstimate) {
  TempDir tmp;
  zone(tmp.path, "intel-rapl:0", "package-0", 1000);
  write(tmp.path / "intel-rapl:1" / "name", "package-1");  // energy_uj missing, as if root-only
  EnergyOptions opts;
  opts.powercap_root = tmp.path.string();
  EXPECT_EQ(EnergyMeter(opts).method(), "estimated-cpu-time");

  TempDir garbage;
  zone(garbage.path, "intel-rapl:0", "package-0", 1000);
  write(garbage.path / "intel-rapl:0" / "energy_uj", "not a number");
  opts.powercap_root = garbage.path.string();
  EXPECT_EQ(EnergyMeter(opts).method(), "estimated-cpu-time");
}

// NVML is added only with `cuda`, only where libnvidia-ml loads, and only for a device that exists.
TEST(EnergyNvml, CudaAddsNvmlOnlyWhenAvailable) {
  TempDir empty;
  EnergyOptions opts;
  opts.powercap_root = empty.path.string();
  EXPECT_EQ(EnergyMeter(opts).method(), "estimated-cpu-time");  // no cuda: never NVML
  opts.cuda = true;
  opts.nvml_device = -1;
  EXPECT_EQ(EnergyMeter(opts).method(), "estimated-cpu-time");  // no such device
  opts.nvml_device = 0;
  void* lib = ::dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
  EnergyMeter meter(opts);
  const std::string m = meter.method();
  if (!lib) {
    EXPECT_EQ(m, "estimated-cpu-time");  // this machine: no NVML library
  } else {
    ::dlclose(lib);
    EXPECT_TRUE(m == "estimated-cpu-time" || m == "estimated-cpu-time+nvml") << m;  // a device may lack the counter
  }
  meter.start();
  const EnergyReading r = meter.stop();
  EXPECT_EQ(r.method, m);
  EXPECT_GE(r.joules, 0.0);
}

TEST(EnergyCo2, GramsFromJoulesAndIntensity) {
  // 1 kWh = 3.6e6 J: 3.6e6 J at 475 g/kWh is 475 g; 7200 J = 0.002 kWh -> 0.95 g.
  EXPECT_DOUBLE_EQ(co2_grams(3.6e6, 475), 475.0);
  EXPECT_DOUBLE_EQ(co2_grams(7200, kDefaultCarbonIntensity), 0.95);
  EXPECT_DOUBLE_EQ(co2_grams(0, 475), 0.0);
  EXPECT_THROW(co2_grams(-1, 475), std::invalid_argument);
}

}  // namespace
}  // namespace lwm

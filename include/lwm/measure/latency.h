#pragma once
// Summary statistics over repeated timings.
#include <vector>

namespace lwm {

struct LatencyStats {
  int runs = 0;
  double median_ms = 0;
  double p90_ms = 0;
  double mean_ms = 0;
};

// Percentiles by linear interpolation between closest ranks (numpy's default).
double percentile(std::vector<double> values, double q);
LatencyStats summarize_latency(const std::vector<double>& ms);

}  // namespace lwm

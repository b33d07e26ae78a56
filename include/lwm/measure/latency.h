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

// Percentiles by linear interpolation between closest ranks (numpy's default). q in [0, 100].
// Throws std::invalid_argument for empty input, NaN values, or q outside [0, 100].
double percentile(std::vector<double> values, double q);
// Throws std::invalid_argument for empty input.
LatencyStats summarize_latency(const std::vector<double>& ms);

}  // namespace lwm

#include "lwm/measure/latency.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>

namespace lwm {

double percentile(std::vector<double> values, double q) {
  if (values.empty()) throw std::invalid_argument("percentile: no values");
  if (!(q >= 0.0 && q <= 100.0)) {
    throw std::invalid_argument("percentile: q must lie in [0, 100], got " + std::to_string(q));
  }
  if (std::any_of(values.begin(), values.end(), [](double v) { return std::isnan(v); })) {
    throw std::invalid_argument("percentile: NaN among the values");
  }
  std::sort(values.begin(), values.end());
  // numpy's "linear" method: the q-th percentile sits at (n-1)*q/100 in the sorted values;
  // a fractional position interpolates between its two neighbours.
  const double pos = (static_cast<double>(values.size()) - 1.0) * q / 100.0;
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, values.size() - 1);
  const double frac = pos - static_cast<double>(lo);
  if (frac == 0.0) return values[lo];  // exact rank (also keeps inf - inf out of the sum)
  return values[lo] + (values[hi] - values[lo]) * frac;
}

LatencyStats summarize_latency(const std::vector<double>& ms) {
  if (ms.empty()) throw std::invalid_argument("summarize_latency: no timings");
  LatencyStats s;
  s.runs = static_cast<int>(ms.size());
  s.median_ms = percentile(ms, 50.0);
  s.p90_ms = percentile(ms, 90.0);
  s.mean_ms = std::accumulate(ms.begin(), ms.end(), 0.0) / static_cast<double>(ms.size());
  return s;
}

}  // namespace lwm

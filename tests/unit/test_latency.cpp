// Percentiles checked against numpy.percentile (default method "linear") by hand.
#include <gtest/gtest.h>

#include <limits>
#include <stdexcept>

#include "lwm/measure/latency.h"

namespace lwm {
namespace {

TEST(LatencyPercentile, LinearInterpolationLikeNumpy) {
  // Sorted (15, 20, 35, 40, 50); position = (n-1) * q/100 = 4q/100.
  const std::vector<double> v = {35, 15, 50, 40, 20};
  EXPECT_DOUBLE_EQ(percentile(v, 0), 15.0);
  EXPECT_DOUBLE_EQ(percentile(v, 30), 23.0);  // pos 1.2: 20 + 0.2*(35-20)
  EXPECT_DOUBLE_EQ(percentile(v, 40), 29.0);  // pos 1.6: 20 + 0.6*(35-20)
  EXPECT_DOUBLE_EQ(percentile(v, 50), 35.0);  // pos 2
  EXPECT_DOUBLE_EQ(percentile(v, 90), 46.0);  // pos 3.6: 40 + 0.6*(50-40)
  EXPECT_DOUBLE_EQ(percentile(v, 100), 50.0);
}

TEST(LatencyPercentile, EvenCountAndSingleValue) {
  // Sorted (1, 2, 3, 4): pos = 3*0.9 = 2.7 -> 3 + 0.7 = 3.7; median pos 1.5 -> 2.5.
  EXPECT_DOUBLE_EQ(percentile({3, 1, 2, 4}, 90), 3.7);
  EXPECT_DOUBLE_EQ(percentile({3, 1, 2, 4}, 50), 2.5);
  EXPECT_DOUBLE_EQ(percentile({7}, 90), 7.0);
}

TEST(LatencyPercentile, RejectsBadInput) {
  EXPECT_THROW(percentile({}, 50), std::invalid_argument);
  EXPECT_THROW(percentile({1, 2}, -1), std::invalid_argument);
  EXPECT_THROW(percentile({1, 2}, 100.5), std::invalid_argument);
  EXPECT_THROW(percentile({1, std::numeric_limits<double>::quiet_NaN()}, 50), std::invalid_argument);
}

TEST(LatencySummary, MedianP90MeanRuns) {
  const auto s = summarize_latency({35, 15, 50, 40, 20});
  EXPECT_EQ(s.runs, 5);
  EXPECT_DOUBLE_EQ(s.median_ms, 35.0);
  EXPECT_DOUBLE_EQ(s.p90_ms, 46.0);
  EXPECT_DOUBLE_EQ(s.mean_ms, 32.0);  // 160 / 5
}

TEST(LatencySummary, EmptyThrows) { EXPECT_THROW(summarize_latency({}), std::invalid_argument); }

}  // namespace
}  // namespace lwm

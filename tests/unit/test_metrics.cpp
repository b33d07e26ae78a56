// Metric values checked against hand computations (written out below) that agree with
// sklearn.metrics / scipy.stats for the same inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>

#include "lwm/common/error.h"
#include "lwm/measure/metrics.h"

namespace lwm {
namespace {

// Ten binary examples with confusion matrix TP=3, FP=1, FN=2, TN=4.
const std::vector<int> kPred = {1, 1, 1, 1, 0, 0, 0, 0, 0, 0};
const std::vector<int> kGold = {1, 1, 1, 0, 1, 1, 0, 0, 0, 0};

TEST(MetricsAccuracy, CountsMatchesOverAll) {
  // 3 TP + 4 TN correct out of 10.
  EXPECT_DOUBLE_EQ(accuracy(kPred, kGold), 0.7);
}

TEST(MetricsF1, PositiveClassFromConfusionMatrix) {
  // P = 3/4, R = 3/5, F1 = 2PR/(P+R) = 2TP/(2TP+FP+FN) = 6/9.
  EXPECT_DOUBLE_EQ(f1_binary(kPred, kGold), 6.0 / 9.0);
}

TEST(MetricsF1, ZeroWhenNoPositivePredictedOrGold) {
  // 0/0: sklearn's zero_division default gives 0.
  EXPECT_DOUBLE_EQ(f1_binary({0, 0, 0}, {0, 0, 0}), 0.0);
  // Positives exist but none predicted: TP = 0 -> 0.
  EXPECT_DOUBLE_EQ(f1_binary({0, 0, 0}, {1, 0, 1}), 0.0);
}

TEST(MetricsF1, RejectsNonBinaryLabels) { EXPECT_THROW(f1_binary({0, 2}, {0, 1}), std::invalid_argument); }

TEST(MetricsMcc, BinaryFromConfusionMatrix) {
  // (TP*TN - FP*FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN)) = (12 - 2) / sqrt(4*5*5*6) = 10/sqrt(600).
  EXPECT_NEAR(matthews_corrcoef(kPred, kGold), 0.408248290463863, 1e-12);
}

TEST(MetricsMcc, PerfectAndInverted) {
  EXPECT_DOUBLE_EQ(matthews_corrcoef({0, 1, 1, 0}, {0, 1, 1, 0}), 1.0);
  EXPECT_DOUBLE_EQ(matthews_corrcoef({1, 0, 0, 1}, {0, 1, 1, 0}), -1.0);
}

TEST(MetricsMcc, ZeroForConstantPrediction) {
  // A model that always says "acceptable": the denominator is 0, sklearn returns 0.
  EXPECT_DOUBLE_EQ(matthews_corrcoef({1, 1, 1, 1}, {0, 1, 1, 0}), 0.0);
}

TEST(MetricsMcc, MulticlassMatchesSklearnForm) {
  // pred {0,1,2,2,1,0,2}, gold {0,1,1,2,2,0,2}: c = 5 correct, s = 7,
  // t = gold counts (2,2,3), p = pred counts (2,2,3):
  // (c*s - sum t*p) / sqrt((s^2 - sum p^2)(s^2 - sum t^2)) = (35 - 17) / sqrt(32 * 32) = 18/32.
  EXPECT_DOUBLE_EQ(matthews_corrcoef({0, 1, 2, 2, 1, 0, 2}, {0, 1, 1, 2, 2, 0, 2}), 0.5625);
}

// x has a tie (2, 2), y has a tie (4, 4).
const std::vector<double> kX = {1, 2, 2, 3, 5};
const std::vector<double> kY = {2, 1, 4, 4, 6};

TEST(MetricsPearson, SmallVector) {
  // means 2.6, 3.4; dx = (-1.6,-0.6,-0.6,0.4,2.4), dy = (-1.4,-2.4,0.6,0.6,2.6);
  // sum dx*dy = 9.8, sum dx^2 = 9.2, sum dy^2 = 15.2; r = 9.8 / sqrt(9.2*15.2) (scipy: 0.8287248620773794).
  EXPECT_NEAR(pearson(kX, kY), 0.8287248620773794, 1e-12);
}

TEST(MetricsSpearman, AverageRanksForTies) {
  // ranks x = (1, 2.5, 2.5, 4, 5), ranks y = (2, 1, 3.5, 3.5, 5), both with mean 3;
  // centred: (-2,-0.5,-0.5,1,2) and (-1,-2,0.5,0.5,2); sum of products 7.25, squares 9.5 and 9.5;
  // rho = 7.25 / 9.5 = 29/38 (scipy.stats.spearmanr: 0.7631578947368421).
  EXPECT_NEAR(spearman(kX, kY), 29.0 / 38.0, 1e-12);
}

TEST(MetricsSpearman, MonotoneIsOne) {
  EXPECT_NEAR(spearman({1, 2, 3, 4}, {1, 10, 100, 1000}), 1.0, 1e-12);
  EXPECT_NEAR(spearman({1, 2, 3, 4}, {4, 3, 2, 1}), -1.0, 1e-12);
}

TEST(MetricsCorrelation, ConstantInputGivesZeroAndNanPropagates) {
  EXPECT_DOUBLE_EQ(pearson({0.1, 0.1, 0.1}, {1, 2, 3}), 0.0);
  EXPECT_DOUBLE_EQ(spearman({1, 2, 3}, {5, 5, 5}), 0.0);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_TRUE(std::isnan(pearson({1, nan, 3}, {1, 2, 3})));
  EXPECT_TRUE(std::isnan(spearman({1, 2, 3}, {nan, 2, 3})));
}

TEST(MetricsInput, SizeMismatchAndEmptyThrow) {
  EXPECT_THROW(accuracy({1, 0}, {1}), std::invalid_argument);
  EXPECT_THROW(f1_binary({}, {}), std::invalid_argument);
  EXPECT_THROW(matthews_corrcoef({1}, {}), std::invalid_argument);
  EXPECT_THROW(pearson({1, 2}, {1, 2, 3}), std::invalid_argument);
  EXPECT_THROW(spearman({}, {}), std::invalid_argument);
}

TEST(MetricsCompute, DispatchesByName) {
  auto m = compute_metrics({"accuracy", "f1", "mcc"}, kPred, kGold, {}, {});
  ASSERT_EQ(m.size(), 3u);
  EXPECT_DOUBLE_EQ(m.at("accuracy"), 0.7);
  EXPECT_DOUBLE_EQ(m.at("f1"), 6.0 / 9.0);
  EXPECT_NEAR(m.at("mcc"), 0.408248290463863, 1e-12);

  auto r = compute_metrics({"pearson", "spearman"}, {}, {}, kX, kY);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_NEAR(r.at("pearson"), 0.8287248620773794, 1e-12);
  EXPECT_NEAR(r.at("spearman"), 29.0 / 38.0, 1e-12);
}

TEST(MetricsCompute, UnknownNameIsUsageError) {
  EXPECT_THROW(compute_metrics({"accuracy", "bleu"}, kPred, kGold, {}, {}), UsageError);
}

TEST(MetricsCompute, MissingDataForNamedMetricThrows) {
  // Regression metric requested without scores.
  EXPECT_THROW(compute_metrics({"pearson"}, kPred, kGold, {}, {}), std::invalid_argument);
}

}  // namespace
}  // namespace lwm

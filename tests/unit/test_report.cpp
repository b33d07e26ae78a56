// The relative figures and the console summary of a compression run: values checked against hand-computed ones.
#include <gtest/gtest.h>

#include "lwm/pipeline/report.h"

namespace lwm {
namespace {

using nlohmann::json;

ModelMeasurement measurement(const std::string& metric, double value, double bytes, double batch1_ms, double batch_ms) {
  ModelMeasurement m;
  m.primary_metric = metric;
  m.metrics[metric] = value;
  m.file_bytes = static_cast<int64_t>(bytes);
  m.parameters = static_cast<int64_t>(bytes / 4);
  m.examples = 100;
  m.batch_size = 32;
  m.threads = 2;
  m.latency_batch1.median_ms = batch1_ms;
  m.latency_batch.median_ms = batch_ms;
  m.throughput = 100.0 / (batch_ms * 4 / 1000.0);
  m.energy.joules = batch_ms;
  m.energy.method = "estimated-cpu-time";
  m.carbon_intensity = 475;
  return m;
}

// Equal is 1.0 and worse is never above 1.0, for every metric, also where the teacher's is 0 or negative.
TEST(RelativeMetric, EqualIsOneAndWorseIsNeverAboveOne) {
  EXPECT_DOUBLE_EQ(*relative_metric(0.9, 0.9), 1.0);      // accuracy
  EXPECT_DOUBLE_EQ(*relative_metric(0.8, 0.4), 0.5);      // Pearson, F1
  EXPECT_LT(*relative_metric(0.5, -0.2), 1.0);            // MCC: student below 0
  EXPECT_FALSE(relative_metric(0.0, 0.0).has_value());    // MCC teacher at 0: a ratio would call equal 0.000
  EXPECT_FALSE(relative_metric(-0.035, -0.127).has_value());  // was 3.639 for a worse student
  // Targets: the same rule as the ratio above 0, the same fraction of the magnitude at or below it.
  EXPECT_TRUE(meets_min_relative(0.9, 0.9, 0.97));
  EXPECT_TRUE(meets_min_relative(0.9, 0.873, 0.97));
  EXPECT_FALSE(meets_min_relative(0.9, 0.872, 0.97));
  EXPECT_TRUE(meets_min_relative(0.0, 0.0, 0.9));          // identical student, teacher at 0
  EXPECT_FALSE(meets_min_relative(0.0, -0.01, 0.9));
  EXPECT_TRUE(meets_min_relative(-0.035, -0.035, 0.9));
  EXPECT_TRUE(meets_min_relative(-0.1, -0.105, 0.9));      // lost 0.005 of the 0.01 allowed
  EXPECT_FALSE(meets_min_relative(-0.035, -0.127, 0.9));
  const json rel = relative_json(measurement("mcc", 0.0, 1000, 1, 1), measurement("mcc", 0.0, 500, 1, 1));
  EXPECT_TRUE(rel["accuracy"].is_null());
  EXPECT_DOUBLE_EQ(rel["accuracy_difference"].get<double>(), 0.0);
  EXPECT_EQ(rel["metric"], "mcc");
}

// The summary says no less than the report: the metric by name, both latency ratios, int8 layers n of m,
// sparsity reached against asked, and a warning for every figure in which the student is worse.
TEST(CompressSummary, SaysNoLessThanTheReport) {
  const ModelMeasurement teacher = measurement("mcc", 0.0, 1000, 2.0, 10.0);
  ModelMeasurement student = measurement("mcc", 0.0, 400, 32.0, 5.0);  // 16x slower at batch 1
  student.warnings = {"energy may be overstated: the machine's load average was 9.0 on 2 cores"};
  json report = {
      {"teacher", {{"spec", {{"num_layers", 4}}}, {"measurement", teacher.to_json()}}},
      {"student", {{"spec", {{"num_layers", 2}}}, {"path", "out/model.pt"}, {"measurement", student.to_json()}}},
      {"relative", relative_json(teacher, student)},
      {"stages",
       {{"int8", {{"linear_layers", 12}, {"linear_layers_int8", 0}, {"min_weights", 32768}, {"word_embedding_int8", true}}},
        {"pruning", {{"targets", {{"heads", 0.9}, {"ffn", 0.5}, {"hidden", 0.0}}},
                     {"sparsity", {{"heads", 0.75}, {"ffn", 0.5}, {"hidden", 0.0}}}}}}},
      {"targets", {{"met", true}, {"checks", json::array()}}},
  };
  const std::string s = compress_summary(report);
  EXPECT_NE(s.find("mcc undefined (teacher 0.0000; difference +0.0000)"), std::string::npos) << s;
  EXPECT_EQ(s.find("accuracy"), std::string::npos) << s;
  EXPECT_NE(s.find("int8: 0 of 12 Linear layers"), std::string::npos) << s;
  EXPECT_NE(s.find("warning: int8 was asked for, but no Linear layer runs int8"), std::string::npos) << s;
  EXPECT_NE(s.find("pruned: heads 0.75 of 0.90 asked, ffn 0.50 of 0.50 asked"), std::string::npos) << s;
  EXPECT_NE(s.find("warning: heads sparsity reached 0.75, below the 0.90 asked"), std::string::npos) << s;
  EXPECT_EQ(s.find("ffn sparsity reached"), std::string::npos) << s;
  EXPECT_NE(s.find("latency batch 1 16.000, latency batch 32 0.500"), std::string::npos) << s;
  EXPECT_NE(s.find("warning: the student is slower at batch 1 than the teacher (16.00x)"), std::string::npos) << s;
  EXPECT_EQ(s.find("slower per eval batch"), std::string::npos) << s;
  EXPECT_EQ(s.find("is larger"), std::string::npos) << s;
  EXPECT_NE(s.find("warning: student: energy may be overstated"), std::string::npos) << s;
  EXPECT_NE(s.find("targets: none set"), std::string::npos) << s;
}

}  // namespace
}  // namespace lwm

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
  // Short of the target by less than one whole unit (0.6 of 4,096 FFN neurons is 2,457.6): no warning; by one: one.
  report["stages"]["pruning"] = {{"targets", {{"heads", 0.0}, {"ffn", 0.6}, {"hidden", 0.65}}},
                                 {"sparsity", {{"heads", 0.0}, {"ffn", 2457.0 / 4096}, {"hidden", 166.0 / 256}}},
                                 {"ffn_per_layer", {410, 410, 410, 409}},
                                 {"heads_per_layer", {4, 4, 4, 4}},
                                 {"hidden", 90},
                                 {"hidden_before", 256}};
  std::string near = compress_summary(report);
  EXPECT_EQ(near.find("sparsity reached"), std::string::npos) << near;
  report["stages"]["pruning"]["sparsity"]["hidden"] = 165.0 / 256;
  report["stages"]["pruning"]["hidden"] = 91;
  near = compress_summary(report);
  EXPECT_NE(near.find("warning: hidden sparsity reached 0.64, below the 0.65 asked"), std::string::npos) << near;
  EXPECT_EQ(near.find("ffn sparsity reached"), std::string::npos) << near;
}

// Break-even: the run's energy over the saving per inference, rounded up; never when the student saves nothing.
TEST(BreakEven, IsTheRunsEnergyOverTheSavingPerInference) {
  // measurement(): 100 examples, joules = batch_ms: the teacher 10 J (0.1 J each), the student 4 J (0.04 J each).
  const ModelMeasurement teacher = measurement("accuracy", 0.9, 1000, 2.0, 10.0);
  const ModelMeasurement student = measurement("accuracy", 0.9, 400, 1.0, 4.0);
  json be = break_even_json(300.0, 475, teacher, student);
  EXPECT_EQ(be["inferences"].get<int64_t>(), 5000);  // 300 J / 0.06 J
  EXPECT_DOUBLE_EQ(be["saving_joules_per_1000_inferences"].get<double>(), 60.0);
  EXPECT_NEAR(be["compression_co2_grams"].get<double>(), 300.0 / 3.6e6 * 475, 1e-12);
  EXPECT_EQ(break_even_json(300.1, 475, teacher, student)["inferences"].get<int64_t>(), 5002);  // rounded up
  EXPECT_TRUE(break_even_json(300.0, 475, student, teacher)["inferences"].is_null());  // costs more per inference
  EXPECT_TRUE(break_even_json(300.0, 475, teacher, teacher)["inferences"].is_null());
  EXPECT_TRUE(break_even_json(300.0, 475, teacher, student, /*resumed=*/true)["inferences"].is_null());
  EXPECT_EQ(break_even_json(3.0, 475, teacher, student)["inferences"].get<int64_t>(), 50);  // exact: not 51
  ModelMeasurement barely = teacher;
  barely.energy.joules = teacher.energy.joules * (1 - 1e-15);  // a saving within rounding: no count
  EXPECT_TRUE(break_even_json(1e9, 475, teacher, barely)["inferences"].is_null());
  json report = {{"relative", relative_json(teacher, student)},
                 {"teacher", {{"spec", {{"num_layers", 4}}}, {"measurement", teacher.to_json()}}},
                 {"student", {{"spec", {{"num_layers", 2}}}, {"path", "out/model.pt"}, {"measurement", student.to_json()}}},
                 {"stages", {{"int8", nullptr}, {"pruning", nullptr}}},
                 {"targets", {{"met", true}, {"checks", json::array()}}},
                 {"compression_run", {{"break_even", be}}}};
  EXPECT_NE(compress_summary(report).find("break-even: the run's 300 J are paid back after 5000 inferences"),
            std::string::npos)
      << compress_summary(report);
  report["compression_run"]["break_even"] = break_even_json(300.0, 475, student, teacher);
  EXPECT_NE(compress_summary(report).find("break-even: never"), std::string::npos) << compress_summary(report);
  report["compression_run"]["break_even"] = break_even_json(300.0, 475, teacher, student, true);
  EXPECT_NE(compress_summary(report).find("break-even: not computed"), std::string::npos) << compress_summary(report);
}

}  // namespace
}  // namespace lwm

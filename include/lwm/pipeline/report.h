#pragma once
// report.json of a compression run (schema in docs/report.md) and its human summary.
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "lwm/measure/energy.h"
#include "lwm/measure/model_measurement.h"
#include "lwm/model/spec.h"
#include "lwm/pipeline/pipeline.h"
#include "lwm/train/trainer.h"

namespace lwm {

struct ReportInputs {
  const CompressArgs& args;
  const ModelSpec& teacher_spec;
  const ModelSpec& student_spec;
  const std::vector<int>& kept_layers;
  const ModelMeasurement& teacher;
  const ModelMeasurement& student;
  const TrainResult& training;
  nlohmann::json pruning;  // null when not pruned
  double shrink_difference;
  nlohmann::json int8;  // null when not quantized
  const EnergyReading& run_energy;
  const TaskSpec& task;  // its label order is the one used (--labels)
  nlohmann::json vocab_pruning;  // null when the vocabulary was not pruned
};

// The student's primary metric relative to the teacher's (teacher = 1.0): student / teacher when the teacher's
// is above 0, as the reference study reports accuracy; nullopt when it is 0 or below (MCC, Pearson and
// Spearman can be: a ratio there calls an identical student 0 and a worse one better than 1).
std::optional<double> relative_metric(double teacher, double student);

// Whether a min_relative_accuracy target r is met: student >= teacher - (1 - r) * |teacher|. For a teacher
// above 0 that is exactly student / teacher >= r; at or below 0 the student may lose the same fraction of the
// teacher's magnitude (at 0: it must not be worse). Equal always meets any r <= 1.
bool meets_min_relative(double teacher, double student, double r);

// Student/teacher ratios (teacher = 1.0) as the reference study reports them; "accuracy" is relative_metric
// (null when undefined) and "accuracy_difference" is student - teacher, both of the primary metric named
// by "metric".
nlohmann::json relative_json(const ModelMeasurement& teacher, const ModelMeasurement& student);

// The break-even of a compression run: how many inferences the student must serve, instead of the teacher, for
// its saving per inference to pay back the energy the run spent. inferences = ceil(run_joules / (teacher J per
// inference - student J per inference)), per-inference energy from each model's eval pass (measurement.energy,
// at the eval batch size); CO2 follows the same ratio at one carbon intensity. `inferences` is null when the
// student saves nothing per inference (then the run is never paid back), or so little that the count passes 2^53,
// and when `resumed` (run_joules is then only the resuming process's part). Keys: inferences,
// compression_energy_joules, saving_joules_per_1000_inferences, compression_co2_grams,
// saving_co2_grams_per_1000_inferences, basis.
nlohmann::json break_even_json(double run_joules, double carbon_intensity, const ModelMeasurement& teacher,
                               const ModelMeasurement& student, bool resumed = false);

nlohmann::json compress_report(const ReportInputs& in);

// A few lines for people: what was done and the relative numbers, saying no less than the report: the
// metric's name, batch-1 and eval-batch latency ratios, int8 layers n of m, sparsity reached against asked,
// a warning line for every measured figure in which the student is slower or larger than the teacher, and the
// break-even when the report has one.
std::string compress_summary(const nlohmann::json& report);

}  // namespace lwm

#pragma once
// report.json of a compression run (schema in docs/report.md) and its human summary.
#include <nlohmann/json.hpp>

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
};

// Student/teacher ratios (teacher = 1.0) as the reference study reports them.
nlohmann::json relative_json(const ModelMeasurement& teacher, const ModelMeasurement& student);

nlohmann::json compress_report(const ReportInputs& in);

// A few lines for people: what was done and the relative numbers.
std::string compress_summary(const nlohmann::json& report);

}  // namespace lwm

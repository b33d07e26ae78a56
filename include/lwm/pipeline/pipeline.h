#pragma once
// The one fixed pipeline: measure the teacher -> layer removal -> distillation with
// gradual magnitude pruning -> shrink -> optional int8 -> measure the student -> report.
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "lwm/pipeline/config.h"

namespace lwm {

struct CompressArgs {
  std::filesystem::path model, train, eval, tokenizer, out;
  std::string task;
  CompressConfig config;
  bool overwrite = false;
  bool quiet = false;
  size_t limit_train = 0;  // 0: all
  size_t limit_eval = 0;
  std::vector<std::string> label_words;  // text-to-text models: the words scored for the labels
};

struct CompressOutcome {
  nlohmann::json report;
  bool targets_met = true;
};

// Writes out/model.pt and out/report.json (atomically, both or neither) and returns the report.
// OutputError if `out` holds an earlier result and overwrite is false.
CompressOutcome run_compress(const CompressArgs& args);

}  // namespace lwm

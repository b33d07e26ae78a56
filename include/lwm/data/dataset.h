#pragma once
// Task examples read from GLUE TSV, JSONL or CSV files.
#include <filesystem>
#include <string>
#include <vector>

#include "lwm/data/task.h"

namespace lwm {

struct Example {
  std::string text_a;
  std::string text_b;  // empty for single-sentence tasks
  int label = -1;      // class index into TaskSpec::label_names (classification)
  float score = 0.f;   // regression target (STS-B)
};

struct Dataset {
  TaskSpec task;
  std::vector<Example> examples;
  std::string source;  // file it came from, for messages
};

// Reads `path` for `task`. Format from the extension (.tsv, .jsonl/.json, .csv).
// Malformed rows throw DataError naming file and line; labels outside the
// task's label set too; an empty dataset too. `limit` > 0 keeps the first N rows.
Dataset read_dataset(const std::filesystem::path& path, const TaskSpec& task, size_t limit = 0);

}  // namespace lwm

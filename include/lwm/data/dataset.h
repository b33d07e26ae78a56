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
  size_t line = 0;     // 1-based line of the source file where the example starts (0: not from a file)
};

struct Dataset {
  TaskSpec task;
  std::vector<Example> examples;
  std::string source;  // file it came from, for messages
};

// Reads `path` for `task`. Format from the extension (.tsv, .jsonl/.json, .csv).
// Malformed rows throw DataError naming file and line; labels outside the
// task's label set too; an empty dataset too. `limit` > 0 keeps the first N rows.
//
// Columns are found by header name (TSV/CSV header row, JSONL keys), first match wins:
//   single-text tasks: text  <- "sentence", "text"
//   pair tasks:        first <- "sentence1", "question1", "question", "#1 String", "premise"
//                      second <- "sentence2", "question2", "sentence", "#2 String", "hypothesis"
//   classification:    label <- "label", "gold_label", "is_duplicate", "Quality"
//   regression (stsb): label <- "score", "label"
// So GLUE's SST-2, MRPC (UTF-8 BOM stripped), RTE, WNLI, QNLI, STS-B, MNLI and QQP files read as
// distributed. CoLA train/dev have no header: a CoLA TSV whose first line names no known column and
// has 4 fields is read positionally (source, label, orig_label, sentence).
// TSV fields are split on tabs with no quoting (as GLUE's own readers do: MRPC text holds '"').
// CSV is RFC 4180 (quoted fields with commas, doubled quotes and newlines). .json is read as JSON Lines
// (what Hugging Face `Dataset.to_json` writes) unless it starts with '[' (an array of objects).
// A label is a name from TaskSpec::label_names, or a class index: a JSON integer, or a field of
// digits that is not itself a name (so an HF export with 0/1 for RTE reads). Blank lines are skipped.
// A file without a label column (GLUE test.tsv) throws DataError saying it "has no label column".
// Text must be valid UTF-8; a leading UTF-8 BOM is ignored.
Dataset read_dataset(const std::filesystem::path& path, const TaskSpec& task, size_t limit = 0);

// The format `read_dataset` would use for `path`; DataError for an unknown extension.
FileFormat file_format(const std::filesystem::path& path);

}  // namespace lwm

#pragma once
// What a task is: where its columns are, its label set, and its metrics.
#include <optional>
#include <string>
#include <vector>

namespace lwm {

enum class FileFormat { Tsv, Jsonl, Csv };

struct TaskSpec {
  std::string name;                      // "sst2", "cola", ..., "imdb", "generic"
  bool regression = false;               // STS-B: a float score, MSE loss
  std::vector<std::string> label_names;  // label string -> index (position); empty for regression
  // What an integer label in a data file (a JSONL 2, a TSV "2" that is no label name) means: the index into
  // this list, the Hugging Face datasets' ClassLabel order. Empty: label_names (they differ after --labels).
  std::vector<std::string> file_label_names;
  bool pair = false;                     // sentence pairs (text_a, text_b)
  // Metric names computed on eval, first is the primary ("accuracy", "f1", "mcc", "pearson", "spearman").
  std::vector<std::string> metrics;
  // Text to text (T5): the word the decoder writes for each label, and the prefixes put before the first
  // and second text (T5 paper, appendix D: "sst2 sentence: ...", "rte sentence1: ... sentence2: ...").
  std::vector<std::string> label_words;
  std::string prefix_a, prefix_b;
  int num_labels() const { return regression ? 1 : static_cast<int>(label_names.size()); }
};

// Known: sst2, cola, mrpc, rte, stsb, wnli, qnli, qqp, mnli, imdb, generic
// ("generic": single text + integer label 0/1, columns "text"/"label" or "sentence"/"label").
// Case, '-' and '_' are ignored, so the GLUE folder names ("SST-2", "STS-B") work too.
// Throws UsageError listing the known names for anything else.
// Label order is the Hugging Face `glue` datasets' ClassLabel order; MNLI is
// entailment, neutral, contradiction. Metrics: accuracy (all classification tasks), plus f1 for
// mrpc/qqp, mcc first (primary) for cola; stsb: pearson, spearman.
TaskSpec task_by_name(const std::string& name);

// The task with its labels in the order a model was trained with: `labels` is a permutation of
// task.label_names (the names as written in the data files, e.g. MNLI's "contradiction,entailment,neutral"
// for a model trained with the legacy transformers GLUE processors); class index i of the model is
// labels[i]. The label words (text-to-text) move with their labels. UsageError, naming the task's labels,
// when `labels` is not such a permutation or the task is a regression.
TaskSpec with_label_order(TaskSpec task, const std::vector<std::string>& labels);

// The names task_by_name accepts, sorted.
std::vector<std::string> known_task_names();

}  // namespace lwm

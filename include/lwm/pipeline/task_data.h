#pragma once
// Task data as the commands and the pipeline need it: read, tokenized, checked against the model.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "lwm/data/batcher.h"
#include "lwm/data/tokenizer.h"
#include "lwm/model/spec.h"

namespace lwm {

// Where the task data are and how to read them (the command line's data options).
struct DataArgs {
  std::string task;
  std::filesystem::path tokenizer;
  int max_length = 128;
  size_t limit_train = 0;  // 0: all
  size_t limit_eval = 0;
  // Text-to-text models (T5): the words scored for the labels, in label order (default: the task's).
  std::vector<std::string> label_words;
  // The model's label order: class i is labels[i], a permutation of the task's names (lwm/data/task.h,
  // with_label_order). Empty: the task's order (README, "Tasks and label order").
  std::vector<std::string> labels;
};

struct TaskData {
  TaskSpec task;
  std::unique_ptr<Tokenizer> tokenizer;
  bool text_to_text = false;  // texts get the task's prefixes (T5)
};

// Task and tokenizer; DataError when the tokenizer's vocabulary does not fit the model's
// embedding, or the task's label count differs from the model's; UsageError when max_length exceeds the
// model's positions or the tokenizer's model_max_length (tokenizer_config.json). For a model that scores label words
// (HeadType::LabelWords: T5, a GPT-2 LM) it fills model.label_tokens / num_labels with the label words'
// token ids, or, when the model already has some (lwm wrote it), checks that they are the same.
TaskData load_task_data(const DataArgs& args, ModelSpec& model);

// Reads and tokenizes one file of the task.
EncodedDataset load_split(const TaskData& data, const std::filesystem::path& file, int max_length, size_t limit);

}  // namespace lwm

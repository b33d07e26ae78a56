#pragma once
// Task data as the commands need it: read, tokenized, checked against the model.
#include <filesystem>
#include <memory>

#include "lwm/cli/commands.h"
#include "lwm/data/batcher.h"
#include "lwm/data/tokenizer.h"
#include "lwm/model/spec.h"

namespace lwm {

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

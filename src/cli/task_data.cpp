#include "lwm/cli/task_data.h"

#include <spdlog/spdlog.h>

#include "lwm/common/error.h"

namespace lwm {

TaskData load_task_data(const DataArgs& args, const ModelSpec& model) {
  TaskData data;
  data.task = task_by_name(args.task);
  data.tokenizer = load_tokenizer(args.tokenizer, to_string(model.family));
  if (data.tokenizer->vocab_size() > model.vocab_size) {
    throw DataError(args.tokenizer.string() + ": tokenizer does not match the model: its vocabulary has " +
                    std::to_string(data.tokenizer->vocab_size()) + " tokens, the model's embedding has " +
                    std::to_string(model.vocab_size) + " rows");
  }
  if (model.head == HeadType::LastToken && data.tokenizer->pad_id() != model.pad_token_id) {
    // GPT-2/OPT classify the last token that is not pad_token_id: other padding would be read as text.
    throw DataError(args.tokenizer.string() + ": tokenizer does not match the model: it pads with id " +
                    std::to_string(data.tokenizer->pad_id()) + ", the model's classifier treats id " +
                    std::to_string(model.pad_token_id) + " as padding");
  }
  if (data.task.num_labels() != model.num_labels) {
    throw DataError("task '" + data.task.name + "' has " + std::to_string(data.task.num_labels()) +
                    " label(s), the model's classifier has " + std::to_string(model.num_labels) + " output(s)");
  }
  if (args.max_length < 2) throw UsageError("--max-length must be at least 2");
  const int usable =
      model.max_positions - (model.positions == PositionScheme::PaddingOffset ? model.pad_token_id + 1 : 0);
  if (args.max_length > usable) {
    throw UsageError("--max-length " + std::to_string(args.max_length) + " exceeds the model's " +
                     std::to_string(usable) + " positions");
  }
  return data;
}

EncodedDataset load_split(const TaskData& data, const std::filesystem::path& file, int max_length, size_t limit) {
  Dataset ds = read_dataset(file, data.task, limit);
  EncodedDataset enc = encode_dataset(ds, *data.tokenizer, max_length);
  spdlog::debug("{}: {} examples", file.string(), enc.examples.size());
  return enc;
}

}  // namespace lwm

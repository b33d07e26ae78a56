#include "lwm/pipeline/task_data.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "lwm/common/error.h"
#include "lwm/data/byte_level_bpe.h"
#include "lwm/data/sentencepiece_tokenizer.h"

namespace lwm {

namespace {

// The label words' token ids, into the model's spec or checked against it. T5 (encoder-decoder): each word's
// decoder target, SentencePiece ids + </s>. A decoder-only LM (GPT-2): the one byte-level BPE token of " word",
// the word as the next token after the text: a space is put before a word given without one, a word given
// with its own leading space (" negative") is encoded as given.
std::vector<int64_t> label_word_ids(const DataArgs& args, const TaskData& data, const ModelSpec& model,
                                    const std::string& word) {
  if (model.encoder_decoder) {
    const auto* sp = dynamic_cast<const SentencePieceTokenizer*>(data.tokenizer.get());
    if (!sp) {
      throw DataError(args.tokenizer.string() + ": a " + to_string(model.family) +
                      " model needs its SentencePiece tokenizer (spiece.model), not a " + data.tokenizer->kind() + " one");
    }
    return sp->encode_target(word);
  }
  const auto* bpe = dynamic_cast<const ByteLevelBpeTokenizer*>(data.tokenizer.get());
  if (!bpe) {
    throw DataError(args.tokenizer.string() + ": a " + to_string(model.family) +
                    " language model needs its byte-level BPE tokenizer, not a " + data.tokenizer->kind() + " one");
  }
  const std::string text = word.rfind(' ', 0) == 0 ? word : " " + word;
  auto ids = bpe->token_ids(text);
  if (ids.size() != 1) {
    throw UsageError("label word '" + word + "' is encoded as '" + text + "' (the word after the text, with its space), " +
                     "which is " + std::to_string(ids.size()) + " tokens with this tokenizer; a " + to_string(model.family) +
                     " language model scores one next token per label: give one-token words with --label-words");
  }
  return ids;
}

void attach_label_words(const DataArgs& args, const TaskData& data, ModelSpec& model) {
  if (data.task.regression) {
    throw UsageError("task '" + data.task.name + "' is a regression; a " + to_string(model.family) +
                     " language model classifies by label words only");
  }
  const auto& words = args.label_words.empty() ? data.task.label_words : args.label_words;
  if (static_cast<int>(words.size()) != data.task.num_labels()) {
    throw UsageError("task '" + data.task.name + "' has " + std::to_string(data.task.num_labels()) + " labels, " +
                     std::to_string(words.size()) + " label words were given");
  }
  std::vector<std::vector<int64_t>> targets;
  for (const auto& w : words) targets.push_back(label_word_ids(args, data, model, w));
  for (size_t i = 0; i < targets.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (targets[i] == targets[j]) throw UsageError("label words '" + words[j] + "' and '" + words[i] + "' encode to the same tokens");
    }
  }
  if (!model.label_tokens.empty() && model.label_tokens != targets) {
    throw DataError("the model scores other label words than task '" + data.task.name + "' with this tokenizer gives (" +
                    std::to_string(model.label_tokens.size()) + " labels trained; check --task, --tokenizer and --label-words)");
  }
  model.label_tokens = targets;
  model.num_labels = static_cast<int>(targets.size());
}

}  // namespace

TaskData load_task_data(const DataArgs& args, ModelSpec& model) {
  TaskData data;
  data.task = task_by_name(args.task);
  if (!args.labels.empty()) data.task = with_label_order(data.task, args.labels);
  data.tokenizer = load_tokenizer(args.tokenizer, model.family);
  if (model.head != HeadType::LabelWords) {
    if (!args.label_words.empty()) {
      throw UsageError("--label-words is for models that score label words (T5, a GPT-2 LM); this is a " +
                       to_string(model.family) + " classifier");
    }
  } else {
    attach_label_words(args, data, model);  // first: a wrong kind of tokenizer is the clearer message
    data.text_to_text = model.encoder_decoder;  // T5's task prefixes
  }
  if (data.tokenizer->vocab_size() > model.input_vocab()) {
    throw DataError(args.tokenizer.string() + ": tokenizer does not match the model: its vocabulary has " +
                    std::to_string(data.tokenizer->vocab_size()) + " tokens, the model's embedding has " +
                    std::to_string(model.input_vocab()) + " rows");
  }
  if ((model.head == HeadType::LastToken || model.head == HeadType::LabelWords) &&
      data.tokenizer->pad_id() != model.pad_token_id) {
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
  if (const int64_t limit = data.tokenizer->model_max_length(); limit > 0 && args.max_length > limit) {
    throw UsageError("--max-length " + std::to_string(args.max_length) + " exceeds the tokenizer's model_max_length " +
                     std::to_string(limit) + " (its tokenizer_config.json)");
  }
  return data;
}

EncodedDataset load_split(const TaskData& data, const std::filesystem::path& file, int max_length, size_t limit) {
  Dataset ds = read_dataset(file, data.task, limit);
  if (data.text_to_text) {
    for (auto& e : ds.examples) {
      e.text_a = data.task.prefix_a + e.text_a;
      if (data.task.pair) e.text_b = data.task.prefix_b + e.text_b;
    }
  }
  if (!data.task.regression && ds.examples.size() > 1) {
    // --limit keeps the first N rows: of a file sorted by label (IMDb's are) that is one class only.
    const int first = ds.examples.front().label;
    const bool one_class = std::all_of(ds.examples.begin(), ds.examples.end(), [first](const Example& e) { return e.label == first; });
    if (one_class) {
      spdlog::warn("{}: all {} examples{} have label '{}' (a file sorted by label? --limit keeps the first N rows)",
                   file.string(), ds.examples.size(), limit > 0 ? " read" : "", data.task.label_names.at(first));
    }
  }
  EncodedDataset enc = encode_dataset(ds, *data.tokenizer, max_length);
  spdlog::debug("{}: {} examples", file.string(), enc.examples.size());
  return enc;
}

}  // namespace lwm

#pragma once
// Tokenized examples -> padded tensor batches.
#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "lwm/data/dataset.h"
#include "lwm/data/tokenizer.h"

namespace lwm {

struct Batch {
  torch::Tensor input_ids;       // [B, T] int64
  torch::Tensor attention_mask;  // [B, T] int64, 1 = token, 0 = padding
  torch::Tensor token_type_ids;  // [B, T] int64
  torch::Tensor labels;          // [B] int64 (classification) or float (regression)
  std::vector<size_t> indices;   // which examples of the dataset, in batch order
  int64_t tokens() const;        // non-padding tokens
};

struct EncodedDataset {
  std::vector<Encoding> encodings;
  std::vector<Example> examples;  // parallel to encodings (labels)
  bool regression = false;
};

// Encodes every example (text_b only for pair tasks), truncated to max_length (<= 0: no truncation).
// An empty text (or an empty half of a pair) gets the tokenizer's template around nothing, as Hugging Face's
// tokenizers encode "": BERT [CLS] [SEP], RoBERTa <s> </s>, OPT </s>, T5 (prefix) </s>. An example that
// encodes to no token at all (GPT-2's template adds none) cannot be classified, since the model would read
// a padding position: DataError "<file>:<line>: ..." naming the first such example.
EncodedDataset encode_dataset(const Dataset& data, const Tokenizer& tok, int max_length);

// Dynamic padding: each batch is padded to its own longest sequence.
// sort_by_length=true buckets by length (evaluation speed; order restored via indices);
// shuffle with seed for training (batches formed from a shuffled order; each batch padded on its own).
// Details: sorting is longest first and stable. shuffle is Fisher-Yates driven by std::mt19937_64(seed)
// (rng() % (i + 1)), so a seed gives the same batches on every platform. shuffle + sort_by_length:
// the shuffled order is sorted within windows of 50 batches, cut into batches, and the batches are
// shuffled again with the same generator. Labels are int64 (classification) or float32 (regression).
// batch_size <= 0 -> UsageError. An empty dataset gives no batches.
std::vector<Batch> make_batches(const EncodedDataset& data, int batch_size, bool sort_by_length,
                                bool shuffle = false, uint64_t seed = 0, int64_t pad_id = 0);

}  // namespace lwm

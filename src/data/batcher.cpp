#include "lwm/data/batcher.h"

#include <algorithm>
#include <numeric>
#include <random>

#include "lwm/common/error.h"

namespace lwm {
namespace {

// With shuffle and sort_by_length together, examples are sorted by length within windows of this many
// batches (similar lengths share a batch, less padding) and the batches are then shuffled.
constexpr size_t kBucketBatches = 50;

// Fisher-Yates with rng() % (i + 1): the same order from the same seed on every platform
// (std::shuffle's algorithm is left to the standard library). The modulo bias is below 2^-40.
template <typename T>
void shuffle_in_place(std::vector<T>& v, std::mt19937_64& rng) {
  for (size_t i = v.size(); i > 1; --i) {
    size_t j = static_cast<size_t>(rng() % i);
    std::swap(v[i - 1], v[j]);
  }
}

// Longest first (a batch that runs out of memory does so at once); ties keep their order.
void sort_longest_first(const EncodedDataset& data, std::vector<size_t>::iterator begin,
                        std::vector<size_t>::iterator end) {
  std::stable_sort(begin, end, [&](size_t x, size_t y) {
    return data.encodings[x].ids.size() > data.encodings[y].ids.size();
  });
}

Batch make_batch(const EncodedDataset& data, std::vector<size_t> indices, int64_t pad_id) {
  const auto b = static_cast<int64_t>(indices.size());
  size_t longest = 0;
  for (size_t i : indices) longest = std::max(longest, data.encodings[i].ids.size());
  const auto t = static_cast<int64_t>(longest);

  Batch batch;
  batch.input_ids = torch::full({b, t}, pad_id, torch::kInt64);
  batch.attention_mask = torch::zeros({b, t}, torch::kInt64);
  batch.token_type_ids = torch::zeros({b, t}, torch::kInt64);
  int64_t* ids = batch.input_ids.data_ptr<int64_t>();
  int64_t* mask = batch.attention_mask.data_ptr<int64_t>();
  int64_t* types = batch.token_type_ids.data_ptr<int64_t>();
  for (int64_t row = 0; row < b; ++row) {
    const Encoding& e = data.encodings[indices[static_cast<size_t>(row)]];
    if (e.type_ids.size() != e.ids.size()) {
      throw std::logic_error("make_batches: an encoding's ids and type_ids differ in length");
    }
    std::copy(e.ids.begin(), e.ids.end(), ids + row * t);
    std::fill(mask + row * t, mask + row * t + static_cast<int64_t>(e.ids.size()), int64_t{1});
    std::copy(e.type_ids.begin(), e.type_ids.end(), types + row * t);
  }
  if (data.regression) {
    std::vector<float> scores;
    for (size_t i : indices) scores.push_back(data.examples[i].score);
    batch.labels = torch::tensor(scores, torch::kFloat32);
  } else {
    std::vector<int64_t> labels;
    for (size_t i : indices) labels.push_back(data.examples[i].label);
    batch.labels = torch::tensor(labels, torch::kInt64);
  }
  batch.indices = std::move(indices);
  return batch;
}

}  // namespace

int64_t Batch::tokens() const { return attention_mask.defined() ? attention_mask.sum().item<int64_t>() : 0; }

EncodedDataset encode_dataset(const Dataset& data, const Tokenizer& tok, int max_length) {
  EncodedDataset out;
  out.regression = data.task.regression;
  out.examples = data.examples;
  out.encodings.reserve(data.examples.size());
  static const std::string kNone;
  for (const Example& e : data.examples) {
    out.encodings.push_back(tok.encode(e.text_a, data.task.pair ? e.text_b : kNone, max_length));
    if (out.encodings.back().ids.empty()) {
      throw DataError(data.source + ":" + std::to_string(e.line) + ": the text is empty" +
                      (data.task.pair ? " (both texts of the pair)" : "") + ", and this " + tok.kind() +
                      " tokenizer adds no special token: the model would have no token to classify from. "
                      "Remove the row or give it text");
    }
  }
  return out;
}

std::vector<Batch> make_batches(const EncodedDataset& data, int batch_size, bool sort_by_length, bool shuffle,
                                uint64_t seed, int64_t pad_id) {
  if (batch_size <= 0) throw UsageError("batch size must be positive, got " + std::to_string(batch_size));
  if (data.examples.size() != data.encodings.size()) {
    throw std::logic_error("make_batches: examples and encodings differ in number");
  }
  const size_t n = data.encodings.size();
  const auto size = static_cast<size_t>(batch_size);
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::mt19937_64 rng(seed);
  if (shuffle) shuffle_in_place(order, rng);
  if (sort_by_length) {
    // Without shuffle: one global sort. With it: sort within windows, so batches stay random.
    const size_t window = shuffle ? size * kBucketBatches : std::max<size_t>(n, 1);
    for (size_t start = 0; start < n; start += window) {
      auto begin = order.begin() + static_cast<std::ptrdiff_t>(start);
      auto end = order.begin() + static_cast<std::ptrdiff_t>(std::min(n, start + window));
      sort_longest_first(data, begin, end);
    }
  }
  std::vector<std::vector<size_t>> groups;
  for (size_t start = 0; start < n; start += size) {
    groups.emplace_back(order.begin() + static_cast<std::ptrdiff_t>(start),
                        order.begin() + static_cast<std::ptrdiff_t>(std::min(n, start + size)));
  }
  if (shuffle && sort_by_length) shuffle_in_place(groups, rng);
  std::vector<Batch> batches;
  batches.reserve(groups.size());
  for (auto& g : groups) batches.push_back(make_batch(data, std::move(g), pad_id));
  return batches;
}

}  // namespace lwm

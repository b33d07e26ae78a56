// Encoding datasets and forming padded batches.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <set>
#include <string>

#include "lwm/common/error.h"
#include "lwm/data/batcher.h"
#include "lwm/data/wordpiece.h"

namespace lwm {
namespace {

std::string data_file(const std::string& rel) { return std::string(LWM_SOURCE_DIR) + "/tests/data/" + rel; }

// n examples; example i has i % 7 + 2 tokens (ids 1000 + i), label i % 2, score i / 10.
EncodedDataset synthetic(size_t n, bool regression = false, bool pair = false) {
  EncodedDataset d;
  d.regression = regression;
  for (size_t i = 0; i < n; ++i) {
    Encoding e;
    size_t len = i % 7 + 2;
    e.ids.assign(len, static_cast<int64_t>(1000 + i));
    e.type_ids.assign(len, 0);
    if (pair) e.type_ids.back() = 1;
    d.encodings.push_back(e);
    Example ex;
    ex.label = static_cast<int>(i % 2);
    ex.score = static_cast<float>(i) / 10.f;
    d.examples.push_back(ex);
  }
  return d;
}

std::vector<size_t> all_indices(const std::vector<Batch>& batches) {
  std::vector<size_t> out;
  for (const auto& b : batches) out.insert(out.end(), b.indices.begin(), b.indices.end());
  return out;
}

TEST(BatchPadding, EachBatchPaddedToItsOwnLongest) {
  EncodedDataset d = synthetic(10);
  auto batches = make_batches(d, 4, /*sort_by_length=*/false, false, 0, /*pad_id=*/7);
  ASSERT_EQ(batches.size(), 3u);  // 4 + 4 + 2
  // Batch 0: examples 0..3, lengths 2,3,4,5.
  const Batch& b = batches[0];
  EXPECT_EQ(b.indices, (std::vector<size_t>{0, 1, 2, 3}));
  EXPECT_EQ(b.input_ids.sizes(), (std::vector<int64_t>{4, 5}));
  EXPECT_EQ(b.input_ids.dtype(), torch::kInt64);
  EXPECT_EQ(b.attention_mask.dtype(), torch::kInt64);
  EXPECT_EQ(b.token_type_ids.dtype(), torch::kInt64);
  EXPECT_EQ(b.input_ids[0][0].item<int64_t>(), 1000);
  EXPECT_EQ(b.input_ids[0][2].item<int64_t>(), 7);  // padding
  EXPECT_EQ(b.attention_mask[0].sum().item<int64_t>(), 2);
  EXPECT_EQ(b.attention_mask[3].sum().item<int64_t>(), 5);
  EXPECT_EQ(b.tokens(), 2 + 3 + 4 + 5);
  EXPECT_EQ(b.labels.dtype(), torch::kInt64);
  EXPECT_EQ(b.labels[1].item<int64_t>(), 1);
  // Batch 2: examples 8, 9 with lengths 3, 4.
  EXPECT_EQ(batches[2].input_ids.sizes(), (std::vector<int64_t>{2, 4}));
  EXPECT_EQ(batches[2].tokens(), 7);
}

TEST(BatchPadding, TypeIdsCopiedAndPaddedWithZero) {
  EncodedDataset d = synthetic(3, false, /*pair=*/true);
  auto batches = make_batches(d, 3, false);
  const Batch& b = batches[0];
  EXPECT_EQ(b.token_type_ids[0][1].item<int64_t>(), 1);  // example 0: 2 tokens, last is type 1
  EXPECT_EQ(b.token_type_ids[0][2].item<int64_t>(), 0);  // padding
  EXPECT_EQ(b.token_type_ids[2][3].item<int64_t>(), 1);
}

TEST(BatchPadding, RegressionLabelsAreFloat) {
  EncodedDataset d = synthetic(5, /*regression=*/true);
  auto batches = make_batches(d, 8, false);
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].labels.dtype(), torch::kFloat32);
  EXPECT_FLOAT_EQ(batches[0].labels[3].item<float>(), 0.3f);
}

TEST(BatchSort, SortByLengthGroupsSimilarLengthsLongestFirst) {
  EncodedDataset d = synthetic(70);
  auto batches = make_batches(d, 10, /*sort_by_length=*/true);
  ASSERT_EQ(batches.size(), 7u);
  // Lengths 2..8, ten of each: every batch holds one length, longest first.
  for (size_t k = 0; k < batches.size(); ++k) {
    EXPECT_EQ(batches[k].input_ids.size(1), static_cast<int64_t>(8 - k));
    EXPECT_EQ(batches[k].tokens(), 10 * static_cast<int64_t>(8 - k));
  }
  // Stable within a length, and every example appears once: order can be restored from indices.
  EXPECT_EQ(batches[0].indices[0], 6u);
  EXPECT_EQ(batches[0].indices[1], 13u);
  auto idx = all_indices(batches);
  std::sort(idx.begin(), idx.end());
  std::vector<size_t> expected(70);
  std::iota(expected.begin(), expected.end(), size_t{0});
  EXPECT_EQ(idx, expected);
}

TEST(BatchShuffle, DeterministicPerSeedAndAPermutation) {
  EncodedDataset d = synthetic(100);
  auto a = all_indices(make_batches(d, 16, false, /*shuffle=*/true, 42));
  auto b = all_indices(make_batches(d, 16, false, true, 42));
  auto c = all_indices(make_batches(d, 16, false, true, 43));
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  std::vector<size_t> identity(100);
  std::iota(identity.begin(), identity.end(), size_t{0});
  EXPECT_NE(a, identity);
  std::sort(a.begin(), a.end());
  EXPECT_EQ(a, identity);
}

TEST(BatchShuffle, FisherYatesWithMt19937IsPinned) {
  // The order depends only on std::mt19937_64 (fully specified by the standard) and our loop, so it is
  // the same on every platform. Recomputed here independently of make_batches.
  EncodedDataset d = synthetic(5);
  std::vector<size_t> expected = {0, 1, 2, 3, 4};
  std::mt19937_64 rng(7);
  for (size_t i = expected.size(); i > 1; --i) std::swap(expected[i - 1], expected[rng() % i]);
  EXPECT_EQ(all_indices(make_batches(d, 2, false, true, 7)), expected);
}

TEST(BatchShuffle, BucketedShuffleKeepsLengthsTogether) {
  EncodedDataset d = synthetic(700);
  auto batches = make_batches(d, 10, /*sort_by_length=*/true, /*shuffle=*/true, 1);
  ASSERT_EQ(batches.size(), 70u);
  int64_t padded = 0, real = 0;
  for (const auto& b : batches) {
    padded += b.input_ids.numel();
    real += b.tokens();
  }
  auto unsorted = make_batches(d, 10, false, true, 1);
  int64_t padded_unsorted = 0;
  for (const auto& b : unsorted) padded_unsorted += b.input_ids.numel();
  EXPECT_LT(padded, padded_unsorted);
  EXPECT_LT(padded - real, real / 10);  // windows of 500 sort 7 lengths: little padding left
  EXPECT_EQ(all_indices(make_batches(d, 10, true, true, 1)), all_indices(batches));
  auto idx = all_indices(batches);
  EXPECT_EQ(std::set<size_t>(idx.begin(), idx.end()).size(), 700u);
}

TEST(BatchErrors, BadBatchSizeAndEmptyData) {
  EncodedDataset d = synthetic(3);
  EXPECT_THROW(make_batches(d, 0, false), UsageError);
  EXPECT_TRUE(make_batches(EncodedDataset{}, 4, true, true, 1).empty());
}

TEST(BatchEncode, EncodeDatasetUsesTextBOnlyForPairTasks) {
  auto tok = WordPieceTokenizer::from_vocab_file(data_file("vocab/bert-base-uncased/vocab.txt"));
  Dataset rte = read_dataset(data_file("glue/RTE/dev.tsv"), task_by_name("rte"));
  EncodedDataset enc = encode_dataset(rte, *tok, 32);
  ASSERT_EQ(enc.encodings.size(), rte.examples.size());
  EXPECT_FALSE(enc.regression);
  for (const auto& e : enc.encodings) {
    EXPECT_LE(e.ids.size(), 32u);
    EXPECT_EQ(std::count(e.ids.begin(), e.ids.end(), int64_t{102}), 2);  // [SEP] A [SEP] B [SEP]
    EXPECT_EQ(e.type_ids.back(), 1);
  }
  // "Christopher Reeve had an accident." -> [SEP] christopher reeve had an accident . [SEP]
  const auto& first = enc.encodings[0].ids;
  std::vector<int64_t> tail(first.end() - 8, first.end());
  EXPECT_EQ(tail, (std::vector<int64_t>{102, 5696, 20726, 2018, 2019, 4926, 1012, 102}));

  // A single-sentence task ignores text_b even if set.
  Dataset sst2 = read_dataset(data_file("glue/SST-2/train.tsv"), task_by_name("sst2"));
  sst2.examples[0].text_b = "ignored";
  EncodedDataset s = encode_dataset(sst2, *tok, 128);
  EXPECT_EQ(std::count(s.encodings[0].ids.begin(), s.encodings[0].ids.end(), int64_t{102}), 1);

  Dataset stsb = read_dataset(data_file("glue/STS-B/dev.tsv"), task_by_name("stsb"));
  EncodedDataset r = encode_dataset(stsb, *tok, 128);
  EXPECT_TRUE(r.regression);
  auto batches = make_batches(r, 8, true, false, 0, tok->pad_id());
  EXPECT_EQ(batches[0].labels.dtype(), torch::kFloat32);
}

}  // namespace
}  // namespace lwm

// Vocabulary pruning (compress/vocab_pruning.h): for every family with a classifier head, a pruned model gives the
// teacher's logits on kept ids and reads a dropped id as the unknown token; it saves, re-imports and rebuilds
// faithfully, prunes again through its map, and shrinks under hidden pruning and int8. The tokenizers' special and
// unknown ids it relies on are checked per tokenizer kind.
#include <gtest/gtest.h>
#include <torch/script.h>

#include <algorithm>
#include <filesystem>

#include "lwm/common/error.h"
#include "lwm/compress/vocab_pruning.h"
#include "lwm/data/tokenizer.h"
#include "lwm/model/builder.h"
#include "lwm/model/faithfulness.h"
#include "lwm/model/importer.h"
#include "lwm/model/runner.h"
#include "lwm/model/torchscript_file.h"
#include "test_support.h"

namespace lwm {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kUnk = 100;  // bert-base-uncased's [UNK]; any id serves in a model's own vocabulary

// Two rows of 6 ids in [1000, 1100) (never a family's pad id), attention mask all ones, token types 0.
struct Inputs {
  torch::Tensor ids, mask, types;
};
Inputs inputs_from(std::vector<int64_t> ids) {
  auto t = torch::tensor(ids, torch::kLong).view({2, 3});
  return {t, torch::ones_like(t), torch::zeros_like(t)};
}

torch::Tensor logits(const torch::jit::Module& m, const Inputs& in) {
  return ModelRunner(m).logits(in.ids, in.mask, in.types);
}

class VocabPruning : public ::testing::TestWithParam<test::Export> {};

TEST_P(VocabPruning, KeptIdsGiveTheTeachersLogitsAndDroppedOnesReadUnknown) {
  const auto& e = GetParam();
  auto path = test::reference_model(e.family, "sdpa", e.args);
  ASSERT_FALSE(path.empty()) << "export failed";
  ImportedModel m = import_model(path);
  if (m.spec.head == HeadType::LabelWords) {
    EXPECT_THROW(prune_vocabulary(m.spec, m.weights, {1000}, kUnk), UsageError);  // it scores the vocabulary
    return;
  }
  const std::vector<int64_t> used = {1000, 1001, 1002, 1003, 1004, 1005, m.spec.pad_token_id};
  VocabPruned p = prune_vocabulary(m.spec, m.weights, used, kUnk);
  EXPECT_EQ(p.kept_rows, 8);  // the six, the pad and the unknown token
  EXPECT_EQ(p.dropped_rows, m.spec.vocab_size - 8);
  EXPECT_EQ(p.spec.vocab_size, 8);
  EXPECT_EQ(p.spec.input_vocab_size, m.spec.vocab_size);
  EXPECT_EQ(p.weights.at(p.spec.names.word_embeddings + ".weight").size(0), 8);

  const auto teacher = build_module(m.spec, m.weights);
  const auto student = build_module(p.spec, p.weights);
  const Inputs kept = inputs_from({1000, 1001, 1002, 1003, 1004, 1005});
  EXPECT_TRUE(torch::allclose(logits(student, kept), logits(teacher, kept), 1e-5, 1e-5));
  // 1050 and 1099 lost their rows: the student reads them as [UNK], the teacher would have.
  const Inputs dropped = inputs_from({1000, 1050, 1002, 1099, 1004, 1005});
  const Inputs as_unknown = inputs_from({1000, kUnk, 1002, kUnk, 1004, 1005});
  EXPECT_TRUE(torch::allclose(logits(student, dropped), logits(teacher, as_unknown), 1e-5, 1e-5));
  EXPECT_FALSE(torch::allclose(logits(teacher, dropped), logits(teacher, as_unknown), 1e-5, 1e-5))
      << "the dropped ids must matter to the teacher, or this test shows nothing";
  EXPECT_DOUBLE_EQ(fraction_read_as_unknown(p.spec, p.weights, {1000, 1050, kUnk, 1099}, kUnk), 0.5);

  // Saved and read back: the same spec, its map a buffer (not a parameter), rebuilt faithfully on ids across
  // the teacher's whole vocabulary, and pruned again through its map with the teacher's ids.
  const fs::path file = test::models_dir() / ("vocab-pruned-" + e.name + ".pt");
  save_torchscript(student, file);
  ImportedModel back = import_model(file);
  EXPECT_FALSE(back.frozen);
  EXPECT_TRUE(back.spec == p.spec) << back.spec.to_json().dump();
  EXPECT_TRUE(torch::equal(back.weights.at(p.spec.vocab_map_name()), p.weights.at(p.spec.vocab_map_name())));
  for (const auto& param : back.module.named_parameters(true)) EXPECT_NE(param.name, p.spec.vocab_map_name());
  EXPECT_LE(verify_faithful(back.module, build_module(back.spec, back.weights), back.spec), kFaithfulnessTolerance);
  VocabPruned again = prune_vocabulary(back.spec, back.weights, {1000, 1001}, kUnk);
  EXPECT_EQ(again.kept_rows, 3);
  EXPECT_EQ(again.spec.input_vocab_size, m.spec.vocab_size);
  const auto twice = build_module(again.spec, again.weights);
  const Inputs some = inputs_from({1000, 1001, 1002, 1000, 1050, 1001});
  const Inputs some_unknown = inputs_from({1000, 1001, kUnk, 1000, kUnk, 1001});
  EXPECT_TRUE(torch::allclose(logits(twice, some), logits(teacher, some_unknown), 1e-5, 1e-5));
}

INSTANTIATE_TEST_SUITE_P(Families, VocabPruning, ::testing::ValuesIn(test::family_exports()),
                         [](const auto& info) { return info.param.name; });

TEST(VocabPruningInput, RefusedOneLineEach) {
  ImportedModel m = import_model(test::reference_model("bert", "sdpa"));
  EXPECT_THROW(prune_vocabulary(m.spec, m.weights, {1000}, -1), UsageError);  // no unknown token
  EXPECT_THROW(prune_vocabulary(m.spec, m.weights, {m.spec.vocab_size}, kUnk), ModelError);
  EXPECT_THROW(prune_vocabulary(m.spec, m.weights, {-1}, kUnk), ModelError);
  EXPECT_THROW(prune_vocabulary(m.spec, m.weights, {1000}, m.spec.vocab_size), ModelError);
  // A map that does not fit its spec is refused when the model is built, as a damaged file would be.
  VocabPruned p = prune_vocabulary(m.spec, m.weights, {1000}, kUnk);
  Weights bad = p.weights;
  bad[p.spec.vocab_map_name()] = torch::full({p.spec.input_vocab_size}, p.spec.vocab_size, torch::kLong);
  EXPECT_THROW(build_module(p.spec, bad), ModelError);
  // ... and by the stage itself, pruning again or counting unknown tokens, for every way a map can be damaged.
  const std::vector<torch::Tensor> damaged = {
      torch::full({p.spec.input_vocab_size}, p.spec.vocab_size, torch::kLong),      // a row past the end
      torch::full({p.spec.input_vocab_size}, -1, torch::kLong),                     // a negative row
      torch::zeros({p.spec.input_vocab_size - 1}, torch::kLong),                    // too few ids
      torch::zeros({p.spec.input_vocab_size}, torch::kInt),                         // not int64
  };
  for (const auto& map : damaged) {
    bad[p.spec.vocab_map_name()] = map;
    EXPECT_THROW(prune_vocabulary(p.spec, bad, {1000}, kUnk), ModelError) << map.sizes() << map.dtype();
    EXPECT_THROW(fraction_read_as_unknown(p.spec, bad, {1000}, kUnk), ModelError) << map.sizes() << map.dtype();
  }
  EXPECT_THROW(fraction_read_as_unknown(p.spec, p.weights, {1000}, p.spec.input_vocab_size), ModelError);
  bad.erase(p.spec.vocab_map_name());
  EXPECT_THROW(build_module(p.spec, bad), ModelError);
  EXPECT_THROW(prune_vocabulary(p.spec, bad, {1000}, kUnk), ModelError);
  Weights stray = m.weights;
  stray[p.spec.vocab_map_name()] = p.weights.at(p.spec.vocab_map_name());
  EXPECT_THROW(build_module(m.spec, stray), ModelError);
}

// What the pipeline keeps besides the training data's ids: each tokenizer kind's special tokens and its
// unknown token (the row a dropped id reads).
TEST(TokenizerSpecialIds, EachKindNamesItsSpecialAndUnknownTokens) {
  auto bert = load_tokenizer(test::bert_vocab());
  EXPECT_EQ(bert->unk_id(), 100);
  const std::vector<int64_t> bert_specials = bert->special_ids();
  for (int64_t id : {0, 100, 101, 102, 103}) {  // [PAD] [UNK] [CLS] [SEP] [MASK]
    EXPECT_NE(std::find(bert_specials.begin(), bert_specials.end(), id), bert_specials.end()) << id;
  }
  EXPECT_TRUE(std::is_sorted(bert_specials.begin(), bert_specials.end()));

  const fs::path gpt2 = test::shared_data() / "vocab" / "gpt2";
  auto g = load_tokenizer(gpt2, Family::Gpt2);
  EXPECT_EQ(g->unk_id(), 50256);  // <|endoftext|>, GPT2Tokenizer's unk_token
  EXPECT_EQ(g->special_ids(), std::vector<int64_t>{50256});
  auto r = load_tokenizer(gpt2, Family::Roberta);  // RoBERTa's names over GPT-2's files: none but <|endoftext|>
  EXPECT_EQ(r->unk_id(), 50256);

  auto t5 = load_tokenizer(test::source_dir() / "tests" / "data" / "tokenizer" / "t5" / "spiece.model", Family::T5);
  EXPECT_EQ(t5->unk_id(), 2);
  const std::vector<int64_t> t5_specials = t5->special_ids();
  for (int64_t id : {0, 1, 2}) {  // <pad> </s> <unk>
    EXPECT_NE(std::find(t5_specials.begin(), t5_specials.end(), id), t5_specials.end()) << id;
  }
}

}  // namespace
}  // namespace lwm

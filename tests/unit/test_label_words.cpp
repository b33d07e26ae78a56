// label_word_buffers(): the decoder inputs and targets a label-word model classifies with, from spec.label_tokens.
#include <gtest/gtest.h>

#include "lwm/common/error.h"
#include "lwm/model/label_words.h"

namespace lwm {
namespace {

torch::Tensor ids(std::vector<std::vector<int64_t>> rows) {
  auto t = torch::empty({static_cast<int64_t>(rows.size()), static_cast<int64_t>(rows.at(0).size())}, torch::kLong);
  for (size_t r = 0; r < rows.size(); ++r) {
    for (size_t c = 0; c < rows[r].size(); ++c) t[static_cast<int64_t>(r)][static_cast<int64_t>(c)] = rows[r][c];
  }
  return t;
}

ModelSpec label_word_model(bool encoder_decoder, std::vector<std::vector<int64_t>> words) {
  ModelSpec s;
  s.head = HeadType::LabelWords;
  s.encoder_decoder = encoder_decoder;
  s.pad_token_id = 5;
  s.decoder_start_token_id = 6;
  s.label_tokens = std::move(words);
  return s;
}

TEST(LabelWordBuffers, EncoderDecoderInputsStartTheDecoderAndTargetsArePaddedWithMinusOne) {
  const auto b = label_word_buffers(label_word_model(true, {{7, 1}, {9, 8, 1}}));
  EXPECT_TRUE(torch::equal(b.inputs, ids({{6, 7, 5}, {6, 9, 8}}))) << b.inputs;
  EXPECT_TRUE(torch::equal(b.targets, ids({{7, 1, -1}, {9, 8, 1}}))) << b.targets;
}

TEST(LabelWordBuffers, DecoderOnlyModelsScoreOneNextTokenPerLabel) {
  const auto b = label_word_buffers(label_word_model(false, {{4633}, {3967}}));
  EXPECT_FALSE(b.inputs.defined());
  EXPECT_TRUE(torch::equal(b.targets, ids({{4633}, {3967}}))) << b.targets;
  EXPECT_THROW(label_word_buffers(label_word_model(false, {{4633}, {77, 4012}})), ModelError);
}

TEST(LabelWordBuffers, NoneWithoutLabelWordsAndAnEmptyLabelIsRefused) {
  EXPECT_FALSE(label_word_buffers(label_word_model(true, {})).targets.defined());
  ModelSpec classifier = label_word_model(false, {{1}, {2}});
  classifier.head = HeadType::LastToken;
  EXPECT_FALSE(label_word_buffers(classifier).targets.defined());
  try {
    label_word_buffers(label_word_model(true, {{7, 1}, {}}));
    FAIL() << "an empty label was accepted";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("label 1 has no tokens"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace lwm

// ModelSpec::to_json / from_json: every field of every family survives the round trip (an int8 file keeps its
// spec only as this JSON), and a spec JSON written before a field existed reads with the field's default.
#include <gtest/gtest.h>

#include <utility>

#include "lwm/model/importer.h"
#include "lwm/model/spec.h"
#include "test_support.h"

namespace lwm {
namespace {

ModelSpec round_trip(const ModelSpec& s) {
  // Through text, as the lwm_spec attribute of a file stores it.
  return ModelSpec::from_json(nlohmann::json::parse(s.to_json().dump()));
}

class SpecJson : public ::testing::TestWithParam<test::Export> {};

TEST_P(SpecJson, EveryFieldSurvivesTheRoundTrip) {
  const auto& e = GetParam();
  auto path = test::reference_model(e.family, "sdpa", e.args);
  ASSERT_FALSE(path.empty()) << "export failed";
  ModelSpec s = import_model(path).spec;
  if (s.head == HeadType::LabelWords && s.label_tokens.empty()) {
    s.label_tokens = {{4633}, {3967}};  // a GPT-2 LM's " negative", " positive", as the task fills them in
    s.num_labels = 2;
  }
  const ModelSpec back = round_trip(s);
  EXPECT_TRUE(back == s) << "written:  " << s.to_json().dump() << "\nread back: " << back.to_json().dump();
  EXPECT_EQ(back.names, s.names);
  EXPECT_EQ(back.decoder_names, s.decoder_names);
  EXPECT_EQ(back.label_tokens, s.label_tokens);
  EXPECT_EQ(back.layers, s.layers);
}

INSTANTIATE_TEST_SUITE_P(Families, SpecJson, ::testing::ValuesIn(test::family_exports()),
                         [](const auto& info) { return info.param.name; });

// Every field away from its default at once, so that none is left out of either direction.
TEST(SpecJson, NonDefaultValuesOfEveryFieldSurvive) {
  ModelSpec s;
  s.family = Family::T5;
  s.names.word_embeddings = "shared";
  s.names.layer_prefix = "encoder.block.";
  s.names.relative_bias = "layer.0.SelfAttention.relative_attention_bias";
  s.decoder_names.layer_prefix = "decoder.block.";
  s.decoder_names.cross_query = "layer.1.EncDecAttention.q";
  s.vocab_size = 99;
  s.max_positions = 77;
  s.type_vocab_size = 3;
  s.hidden = 24;
  s.num_labels = 3;
  s.pad_token_id = 5;
  s.norm_eps = 1.25e-6;
  s.dropout = 0.3;
  s.activation = Activation::Relu;
  s.positions = PositionScheme::MaskOffset;
  s.head = HeadType::LabelWords;
  s.head_activation = Activation::GeluTanh;
  s.names.embedding_project = "electra.embeddings_project";
  s.norm = NormPlacement::Pre;
  s.causal = true;
  s.position_offset = 2;
  s.embedding_width = 16;
  s.transposed_weights = true;
  s.head_out_bias = false;
  s.pooling = Pooling::BeforeFirstPad;
  s.norm_kind = NormKind::RmsNorm;
  s.linear_bias = false;
  s.attention_scaling = false;
  s.encoder_decoder = true;
  s.relative_buckets = 32;
  s.relative_max_distance = 128;
  s.output_scale = 0.125;
  s.decoder_start_token_id = 7;
  s.label_tokens = {{1, 2}, {3}, {4, 5, 6}};
  s.layers = {LayerSpec{4, 6, 32, false, 0, {0, 2, 3, 5}}, LayerSpec{3, 6, 30, true, 2, {}}};
  s.forward_args = {"input_ids", "attention_mask", "decoder_input_ids"};
  s.returns_tuple = false;
  s.output_key = "logits";
  const ModelSpec back = round_trip(s);
  EXPECT_TRUE(back == s) << "written:  " << s.to_json().dump() << "\nread back: " << back.to_json().dump();
}

// A spec written before `pooling` (and the other later keys) existed reads with their defaults: the rule lwm
// always rebuilt, rightmost non-pad.
TEST(SpecJson, AnOlderSpecWithoutTheNewKeysReadsWithTheirDefaults) {
  ModelSpec s;
  s.family = Family::Gpt2;
  s.head = HeadType::LastToken;
  s.hidden = 8;
  s.layers = {LayerSpec{2, 4, 16}};
  s.forward_args = {"input_ids", "attention_mask"};
  s.pooling = Pooling::BeforeFirstPad;
  s.dropout = 0.2;
  s.names.word_embeddings = "transformer.wte";
  nlohmann::json j = s.to_json();
  for (const char* key : {"pooling", "dropout", "names", "decoder_names", "encoder_decoder", "norm_kind",
                          "linear_bias", "attention_scaling", "relative_buckets", "relative_max_distance",
                          "output_scale", "decoder_start_token_id", "label_tokens", "output_key", "head_activation"}) {
    ASSERT_TRUE(j.contains(key)) << key;
    j.erase(key);
  }
  const ModelSpec back = ModelSpec::from_json(j);
  EXPECT_EQ(back.pooling, Pooling::RightmostNonPad);
  EXPECT_DOUBLE_EQ(back.dropout, ModelSpec{}.dropout);
  EXPECT_TRUE(back.names == ParamNames{});
  EXPECT_TRUE(back.label_tokens.empty());
  EXPECT_EQ(back.hidden, 8);
  EXPECT_EQ(back.layers, s.layers);
  // head_activation, added with ELECTRA: the head type's own (relu for DistilBERT's pre_classifier, else tanh).
  for (const auto& [head, activation] : {std::pair{HeadType::PreClassifier, Activation::Relu},
                                         std::pair{HeadType::PoolerClassifier, Activation::Tanh},
                                         std::pair{HeadType::RobertaClassifier, Activation::Tanh}}) {
    nlohmann::json old = j;
    old.erase("head_activation");
    old["head"] = to_string(head);
    EXPECT_EQ(ModelSpec::from_json(old).head_activation, activation) << to_string(head);
  }
  // An unknown rule is an error, not a silent default.
  j["pooling"] = "leftmost";
  EXPECT_THROW(ModelSpec::from_json(j), std::invalid_argument);
}

}  // namespace
}  // namespace lwm

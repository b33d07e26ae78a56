// Import of BERT-family TorchScript files into a ModelSpec, and the faithfulness of the native rebuild.
#include <gtest/gtest.h>

#include <torch/version.h>

#include <fstream>

#include "lwm/common/error.h"
#include "lwm/model/builder.h"
#include "lwm/model/faithfulness.h"
#include "lwm/model/importer.h"
#include "test_support.h"

namespace lwm {
namespace {

struct Case {
  std::string family, mode, args;
  Family expected;
  double eps;
  int type_vocab;
  std::vector<std::string> forward_args;
};

class ModelImport : public ::testing::TestWithParam<Case> {};

TEST_P(ModelImport, SpecMatchesExportAndRebuildIsFaithful) {
  const Case& c = GetParam();
  auto path = test::reference_model(c.family, c.mode, c.args);
  ASSERT_FALSE(path.empty()) << "export failed";
  ImportedModel m = import_model(path);
  EXPECT_EQ(m.spec.family, c.expected);
  EXPECT_EQ(m.spec.num_layers(), 2);
  EXPECT_EQ(m.spec.hidden, 64);
  EXPECT_EQ(m.spec.vocab_size, 30522);
  EXPECT_EQ(m.spec.num_labels, 2);
  EXPECT_EQ(m.spec.type_vocab_size, c.type_vocab);
  EXPECT_DOUBLE_EQ(m.spec.norm_eps, c.eps);
  EXPECT_EQ(m.spec.activation, Activation::GeluErf);
  EXPECT_EQ(m.spec.forward_args, c.forward_args);
  EXPECT_TRUE(m.spec.returns_tuple);
  for (const auto& layer : m.spec.layers) {
    EXPECT_EQ(layer.heads, 4);
    EXPECT_EQ(layer.head_dim, 16);
    EXPECT_EQ(layer.ffn, 128);
  }
  auto native = build_module(m.spec, m.weights);
  EXPECT_LE(max_logit_difference(m.module, native, m.spec), 1e-4);
  // The rebuild keeps Hugging Face's parameter names.
  EXPECT_EQ(module_weights(native).size(), m.weights.size());
}

INSTANTIATE_TEST_SUITE_P(
    Families, ModelImport,
    ::testing::Values(Case{"bert", "trace", "", Family::Bert, 1e-12, 2, {"input_ids", "attention_mask"}},
                      Case{"bert", "script", "", Family::Bert, 1e-12, 2, {"input_ids", "attention_mask"}},
                      Case{"bert", "trace", "--token-types", Family::Bert, 1e-12, 2,
                           {"input_ids", "attention_mask", "token_type_ids"}},
                      Case{"roberta", "trace", "", Family::Roberta, 1e-5, 1, {"input_ids", "attention_mask"}},
                      Case{"roberta", "script", "", Family::Roberta, 1e-5, 1, {"input_ids", "attention_mask"}},
                      Case{"distilbert", "trace", "", Family::DistilBert, 1e-12, 0, {"input_ids", "attention_mask"}},
                      Case{"distilbert", "script", "", Family::DistilBert, 1e-12, 0,
                           {"input_ids", "attention_mask"}}),
    [](const auto& info) {
      std::string n = info.param.family + "_" + info.param.mode + (info.param.args.empty() ? "" : "_tokentypes");
      return n;
    });

TEST(ModelFaithfulness, WrongSpecIsRefused) {
  ImportedModel m = import_model(test::reference_model("bert", "trace"));
  ModelSpec wrong = m.spec;
  wrong.activation = Activation::Relu;
  auto native = build_module(wrong, m.weights);
  EXPECT_THROW(verify_faithful(m.module, native, wrong), ModelError);
  ModelSpec wrong_eps = m.spec;
  wrong_eps.norm_eps = 0.5;
  EXPECT_THROW(verify_faithful(m.module, build_module(wrong_eps, m.weights), wrong_eps), ModelError);
}

TEST(ModelFaithfulness, RebuildDoesNotShareWeightsWithTeacher) {
  ImportedModel m = import_model(test::reference_model("bert", "trace"));
  auto native = build_module(m.spec, m.weights);
  for (auto p : native.parameters()) p.detach().zero_();
  EXPECT_GT(m.module.attr("classifier").toModule().attr("weight").toTensor().abs().sum().item<double>(), 0.0);
}

TEST(ModelFaithfulness, SavedRebuildReloadsWithSameOutputs) {
  ImportedModel m = import_model(test::reference_model("roberta", "trace"));
  auto native = build_module(m.spec, m.weights);
  auto path = test::models_dir() / "roberta-rebuilt.pt";
  native.save(path.string());
  ImportedModel again = import_model(path);
  EXPECT_EQ(again.spec.to_json(), m.spec.to_json());
  EXPECT_LE(max_logit_difference(m.module, again.module, m.spec), 1e-6);
}

// ---- bad input ----

TEST(ModelBadInput, MissingFile) {
  try {
    import_model("/nonexistent/teacher.pt");
    FAIL();
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("no such file"), std::string::npos);
  }
}

TEST(ModelBadInput, NotTorchScript) {
  auto path = test::models_dir() / "not-a-model.pt";
  std::ofstream(path) << "hello, I am text\n";
  try {
    import_model(path);
    FAIL();
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("not a TorchScript file"), std::string::npos) << e.what();
  }
}

TEST(ModelBadInput, CorruptZip) {
  auto good = test::reference_model("bert", "trace");
  auto path = test::models_dir() / "truncated.pt";
  std::ifstream in(good, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  std::ofstream(path, std::ios::binary) << bytes.substr(0, bytes.size() / 3);
  EXPECT_THROW(import_model(path), ModelError);
}

// A real Hugging Face export saved by PyTorch 2.11 (tests/data/models/README.md).
TEST(ModelImportNewerPyTorch, RefusedClearlyByLibTorch1OrImportedFaithfullyByLibTorch2) {
  const auto path = test::source_dir() / "tests" / "data" / "models" / "hf-bert-transformers5.17-torch2.11-trace.pt";
#if TORCH_VERSION_MAJOR < 2
  try {
    import_model(path);
    FAIL() << "LibTorch " << TORCH_VERSION << " loaded a file that needs aten::scaled_dot_product_attention";
  } catch (const ModelError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("newer PyTorch"), std::string::npos) << what;
    EXPECT_NE(what.find("scaled_dot_product_attention"), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
  }
#else
  ImportedModel m = import_model(path);
  EXPECT_EQ(m.spec.family, Family::Bert);
  EXPECT_EQ(m.spec.num_layers(), 2);
  auto native = build_module(m.spec, m.weights);
  EXPECT_LE(max_logit_difference(m.module, native, m.spec), 1e-4);
#endif
}

TEST(ModelBadInput, TorchScriptThatIsNotATransformer) {
  auto cu = std::make_shared<torch::jit::CompilationUnit>();
  torch::jit::Module m(c10::QualifiedName("__torch__.Tiny"), cu, true);
  m.register_parameter("weight", torch::ones({3, 3}), false);
  m.define("def forward(self, x):\n    return torch.matmul(x, self.weight)\n");
  auto path = test::models_dir() / "tiny-linear.pt";
  m.save(path.string());
  try {
    import_model(path);
    FAIL();
  } catch (const ModelError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("unknown architecture"), std::string::npos) << what;
    EXPECT_NE(what.find("'weight'"), std::string::npos) << what;
    EXPECT_NE(what.find("bert.encoder.layer.N"), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace lwm

// Import of BERT-family and ELECTRA TorchScript files into a ModelSpec, and the faithfulness of the native rebuild.
#include <gtest/gtest.h>

#include <caffe2/serialize/inline_container.h>
#include <caffe2/serialize/versions.h>
#include <torch/version.h>

#include <algorithm>
#include <fstream>
#include <functional>

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
  Activation head_activation = Activation::Tanh;  // after head_dense
  int embedding_width = 64;                       // ELECTRA: embedding_size (64: no embeddings_project)
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
  EXPECT_EQ(m.spec.embedding_width, c.embedding_width);
  EXPECT_EQ(m.spec.names.embedding_project.empty(), c.embedding_width == 64);
  EXPECT_EQ(m.spec.head_activation, c.head_activation);
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
    ::testing::Values(Case{"bert", "sdpa", "", Family::Bert, 1e-12, 2, {"input_ids", "attention_mask"}},
                      Case{"bert", "eager", "", Family::Bert, 1e-12, 2, {"input_ids", "attention_mask"}},
                      Case{"bert", "sdpa", "--token-types", Family::Bert, 1e-12, 2,
                           {"input_ids", "attention_mask", "token_type_ids"}},
                      Case{"roberta", "sdpa", "", Family::Roberta, 1e-5, 1, {"input_ids", "attention_mask"}},
                      Case{"roberta", "eager", "", Family::Roberta, 1e-5, 1, {"input_ids", "attention_mask"}},
                      // XLM-R: RoBERTa's names; the class name tells the family.
                      Case{"xlm-roberta", "sdpa", "", Family::XlmRoberta, 1e-5, 1, {"input_ids", "attention_mask"}},
                      Case{"xlm-roberta", "eager", "", Family::XlmRoberta, 1e-5, 1, {"input_ids", "attention_mask"}},
                      Case{"distilbert", "sdpa", "", Family::DistilBert, 1e-12, 0, {"input_ids", "attention_mask"},
                           Activation::Relu},
                      Case{"distilbert", "eager", "", Family::DistilBert, 1e-12, 0,
                           {"input_ids", "attention_mask"}, Activation::Relu},
                      // ELECTRA: embedding_size 32 (the export's default, hidden / 2) through embeddings_project,
                      // or 64 (= hidden: no projection); GELU classifier head.
                      Case{"electra", "sdpa", "", Family::Electra, 1e-12, 2, {"input_ids", "attention_mask"},
                           Activation::GeluErf, 32},
                      Case{"electra", "eager", "", Family::Electra, 1e-12, 2, {"input_ids", "attention_mask"},
                           Activation::GeluErf, 32},
                      Case{"electra", "sdpa", "--token-types", Family::Electra, 1e-12, 2,
                           {"input_ids", "attention_mask", "token_type_ids"}, Activation::GeluErf, 32},
                      Case{"electra", "sdpa", "--embedding-size 64", Family::Electra, 1e-12, 2,
                           {"input_ids", "attention_mask"}, Activation::GeluErf, 64}),
    [](const auto& info) {
      const auto& a = info.param.args;
      std::string family = info.param.family;
      std::replace(family.begin(), family.end(), '-', '_');
      return family + "_" + info.param.mode +
             (a.empty() ? "" : a == "--token-types" ? "_tokentypes" : "_unprojected");
    });

TEST(ModelFaithfulness, WrongSpecIsRefused) {
  ImportedModel m = import_model(test::reference_model("bert", "sdpa"));
  ModelSpec wrong = m.spec;
  wrong.activation = Activation::Relu;
  auto native = build_module(wrong, m.weights);
  EXPECT_THROW(verify_faithful(m.module, native, wrong), ModelError);
  ModelSpec wrong_eps = m.spec;
  wrong_eps.norm_eps = 0.5;
  EXPECT_THROW(verify_faithful(m.module, build_module(wrong_eps, m.weights), wrong_eps), ModelError);
}

TEST(ModelFaithfulness, RebuildDoesNotShareWeightsWithTeacher) {
  ImportedModel m = import_model(test::reference_model("bert", "sdpa"));
  auto native = build_module(m.spec, m.weights);
  for (auto p : native.parameters()) p.detach().zero_();
  EXPECT_GT(m.module.attr("classifier").toModule().attr("weight").toTensor().abs().sum().item<double>(), 0.0);
}

// XLM-R has RoBERTa's names: a model lwm builds records its family, so a student stays an XLM-R (and keeps
// reading its SentencePiece vocabulary) when imported again.
TEST(ModelFaithfulness, ARebuiltXlmRobertaImportsAsXlmRoberta) {
  ImportedModel m = import_model(test::reference_model("xlm-roberta", "sdpa"));
  ASSERT_EQ(m.spec.family, Family::XlmRoberta);
  const auto path = test::models_dir() / "xlm-roberta-rebuilt.pt";
  build_module(m.spec, m.weights).save(path.string());
  EXPECT_EQ(import_model(path).spec.family, Family::XlmRoberta);
  // A RoBERTa rebuilt stays a RoBERTa.
  ImportedModel r = import_model(test::reference_model("roberta", "sdpa"));
  const auto roberta_path = test::models_dir() / "roberta-rebuilt-family.pt";
  build_module(r.spec, r.weights).save(roberta_path.string());
  EXPECT_EQ(import_model(roberta_path).spec.family, Family::Roberta);
}

TEST(ModelFaithfulness, SavedRebuildReloadsWithSameOutputs) {
  ImportedModel m = import_model(test::reference_model("roberta", "sdpa"));
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
  auto good = test::reference_model("bert", "sdpa");
  auto path = test::models_dir() / "truncated.pt";
  std::ifstream in(good, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  std::ofstream(path, std::ios::binary) << bytes.substr(0, bytes.size() / 3);
  EXPECT_THROW(import_model(path), ModelError);
}

// A real Hugging Face export by another transformers and PyTorch (5.17, 2.11; tests/data/models/README.md), with
// aten::scaled_dot_product_attention in its graph.
TEST(ModelImportOtherVersions, Transformers517Torch211ImportsFaithfully) {
  const auto path = test::source_dir() / "tests" / "data" / "models" / "hf-bert-transformers5.17-torch2.11-trace.pt";
  ImportedModel m = import_model(path);
  EXPECT_EQ(m.spec.family, Family::Bert);
  EXPECT_EQ(m.spec.num_layers(), 2);
  EXPECT_EQ(m.spec.output_key, "logits");  // traced with strict=False: forward() returns {"logits": ...}
  auto native = build_module(m.spec, m.weights);
  EXPECT_LE(max_logit_difference(m.module, native, m.spec), 1e-4);
  auto out = native.forward({torch::ones({1, 4}, torch::kLong), torch::ones({1, 4}, torch::kLong)});
  ASSERT_TRUE(out.isGenericDict());
  EXPECT_TRUE(out.toGenericDict().contains("logits"));
}

// Copies a TorchScript archive record by record, with `edit` applied to each record's bytes, and the file format
// version `version` (0: the original's): what a newer PyTorch writes, as far as this LibTorch can tell.
std::filesystem::path rewrite_archive(const std::filesystem::path& from, const std::string& name,
                                      const std::function<void(const std::string&, std::string&)>& edit,
                                      uint64_t version = 0) {
  caffe2::serialize::PyTorchStreamReader reader(from.string());
  const auto out = test::models_dir() / name;
  caffe2::serialize::PyTorchStreamWriter writer(out.string());
  writer.setMinVersion(version ? version : reader.version());
  for (const auto& record : reader.getAllRecords()) {
    // Records the writer writes itself (version, byteorder, serialization id).
    if (record == "version" || record == ".data/version" || record == ".data/serialization_id" ||
        writer.getAllWrittenRecords().count(record)) {
      continue;
    }
    auto [data, size] = reader.getRecord(record);
    std::string bytes(static_cast<const char*>(data.get()), size);
    edit(record, bytes);
    writer.writeRecord(record, bytes.data(), bytes.size());
  }
  writer.writeEndOfFile();
  return out;
}

std::string load_error(const std::filesystem::path& path) {
  try {
    import_model(path);
  } catch (const ModelError& e) {
    return e.what();
  }
  return "(loaded)";
}

// An op this LibTorch lacks (a newer PyTorch's, or a custom one): one line naming the op, the file's format
// version and this LibTorch's.
TEST(ModelImportNewerPyTorch, UnknownOpNamedWithBothVersions) {
  const auto path = rewrite_archive(test::reference_model("bert", "sdpa"), "future-op.pt",
                                    [](const std::string& record, std::string& bytes) {
                                      if (record.find("code/") != 0 || record.find(".py") == std::string::npos) return;
                                      for (size_t at; (at = bytes.find("torch.scaled_dot_product_attention(")) !=
                                                      std::string::npos;) {
                                        bytes.replace(at, 35, "torch.lwm_attention_from_the_future(");
                                      }
                                    });
  const std::string what = load_error(path);
  EXPECT_NE(what.find("aten::lwm_attention_from_the_future"), std::string::npos) << what;
  EXPECT_NE(what.find(std::string("LibTorch ") + TORCH_VERSION), std::string::npos) << what;
  EXPECT_NE(what.find("file format version"), std::string::npos) << what;
  EXPECT_EQ(what.find('\n'), std::string::npos) << what;
  std::string out;
  EXPECT_EQ(test::run_command(test::compress_binary() + " inspect " + path.string(), &out), 3) << out;
}

// Damaged or foreign zip archives: one plain line, without LibTorch's "[enforce fail at ...]" prefix or its
// "Could this error message be improved?" request.
TEST(ModelBadInput, DamagedArchivesGiveOnePlainLine) {
  const auto model = test::reference_model("bert", "sdpa");
  std::ifstream in(model, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), {});
  const auto dir = test::models_dir() / "damaged";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "truncated.pt", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  // A zip without the version record torch.jit.save writes (a stored entry; "PK" local header by hand).
  const std::string name = "archive/data.pkl", body = "xx";
  std::string zip = "PK\x03\x04";
  zip += std::string("\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00", 10);
  zip += std::string(12, '\0');  // crc and sizes left 0: a damaged entry of a foreign archive
  zip += static_cast<char>(name.size());
  zip += std::string(3, '\0');
  zip += name + body;
  std::ofstream(dir / "foreign.pt", std::ios::binary) << zip;
  std::ofstream(dir / "empty-zip.pt", std::ios::binary) << std::string("PK\x05\x06", 4) + std::string(18, '\0');
  for (const char* file : {"truncated.pt", "foreign.pt", "empty-zip.pt"}) {
    SCOPED_TRACE(file);
    const std::string what = load_error(dir / file);
    EXPECT_FALSE(what.empty());
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    EXPECT_EQ(what.find("[enforce fail"), std::string::npos) << what;
    EXPECT_EQ(what.find("Could this error message be improved"), std::string::npos) << what;
    EXPECT_NE(what.find(file), std::string::npos) << what;
  }
}

TEST(ModelImportNewerPyTorch, NewerFileFormatNamedWithBothVersions) {
  const auto path = rewrite_archive(test::reference_model("bert", "sdpa"), "future-format.pt",
                                    [](const std::string&, std::string&) {}, 99);
  const std::string what = load_error(path);
  EXPECT_NE(what.find("file format version 99"), std::string::npos) << what;
  EXPECT_NE(what.find(std::string("LibTorch ") + TORCH_VERSION), std::string::npos) << what;
  EXPECT_NE(what.find("up to " + std::to_string(caffe2::serialize::kMaxSupportedFileFormatVersion)),
            std::string::npos)
      << what;
  EXPECT_EQ(what.find('\n'), std::string::npos) << what;
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

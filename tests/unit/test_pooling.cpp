// Which token a GPT-2 / OPT classifier pools (spec.h, Pooling): Hugging Face's rule changed in transformers 4.49
// (rightmost non-pad token; before: the token before the first pad id). The two differ when a text holds the pad
// id (GPT-2's <|endoftext|>). lwm reads the rule from what the file computes, rebuilds and writes students with
// it, and its faithfulness check refuses a rebuild with the other rule. The old-rule files are the transformers
// classes with the 4.32-4.48 rule patched in (tools/export_reference.py --pooling before-first-pad).
#include <gtest/gtest.h>

#include "lwm/common/error.h"
#include "lwm/compress/quantize.h"
#include "lwm/model/builder.h"
#include "lwm/model/faithfulness.h"
#include "lwm/model/importer.h"
#include "lwm/model/runner.h"
#include "test_support.h"

namespace lwm {
namespace {

constexpr int64_t kPad = 30521;  // the exports' 30522-token vocabulary: GPT-2 and OPT pad with its last id

std::string export_args(Pooling p) { return p == Pooling::BeforeFirstPad ? "--pooling before-first-pad" : ""; }

// Texts holding the pad id: inside, first, and inside a right-padded row.
struct Inputs {
  torch::Tensor ids, mask;
};
Inputs texts_holding_the_pad_id() {
  auto gen = at::detail::createCPUGenerator(11);
  auto ids = torch::randint(100, 20000, {3, 10}, gen, torch::kLong);
  auto mask = torch::ones({3, 10}, torch::kLong);
  ids[0][3] = kPad;
  ids[1][0] = kPad;
  ids[2][4] = kPad;
  ids[2].narrow(0, 7, 3).fill_(kPad);
  mask[2].narrow(0, 7, 3).fill_(0);
  return {ids, mask};
}

torch::Tensor logits(const torch::jit::Module& m, const Inputs& in) {
  torch::NoGradGuard no_grad;
  return ModelRunner(m).logits(in.ids, in.mask, torch::zeros_like(in.ids));
}

struct PoolingCase {
  std::string name, family, attn;
  Pooling pooling;
};

void PrintTo(const PoolingCase& c, std::ostream* os) { *os << c.name; }

class LastTokenPooling : public ::testing::TestWithParam<PoolingCase> {};

TEST_P(LastTokenPooling, ReadFromTheFileKeptByTheRebuildAndTheOtherRuleIsRefused) {
  const auto& c = GetParam();
  auto path = test::reference_model(c.family, c.attn, export_args(c.pooling));
  ASSERT_FALSE(path.empty()) << "export failed";
  ImportedModel m = import_model(path);
  ASSERT_EQ(m.spec.head, HeadType::LastToken);
  EXPECT_EQ(m.spec.pooling, c.pooling) << to_string(m.spec.pooling);
  EXPECT_EQ(m.spec.to_json()["pooling"], to_string(c.pooling));  // what inspect --json and the reports show

  // What `evaluate` of the file and `compress` (the rebuild) compute on texts holding the pad id agree.
  const Inputs in = texts_holding_the_pad_id();
  auto native = build_module(m.spec, m.weights);
  EXPECT_LE((logits(m.module, in) - logits(native, in)).abs().max().item<double>(), 1e-5);
  EXPECT_LE(verify_faithful(m.module, native, m.spec), kFaithfulnessTolerance);

  // The other rule computes something else on those texts, and the faithfulness check says where.
  ModelSpec wrong = m.spec;
  wrong.pooling = c.pooling == Pooling::BeforeFirstPad ? Pooling::RightmostNonPad : Pooling::BeforeFirstPad;
  auto other = build_module(wrong, m.weights);
  EXPECT_GT((logits(m.module, in) - logits(other, in)).abs().max().item<double>(), 1e-3);
  try {
    verify_faithful(m.module, other, wrong);
    FAIL() << "a rebuild pooling " << to_string(wrong.pooling) << " passed as faithful";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("texts holding the pad id"), std::string::npos) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Exports, LastTokenPooling,
    ::testing::Values(PoolingCase{"gpt2_current", "gpt2", "sdpa", Pooling::RightmostNonPad},
                      PoolingCase{"gpt2_before_first_pad", "gpt2", "sdpa", Pooling::BeforeFirstPad},
                      PoolingCase{"gpt2_eager_before_first_pad", "gpt2", "eager", Pooling::BeforeFirstPad},
                      PoolingCase{"opt_current", "opt", "sdpa", Pooling::RightmostNonPad},
                      PoolingCase{"opt_before_first_pad", "opt", "sdpa", Pooling::BeforeFirstPad}),
    [](const auto& info) { return info.param.name; });

// A student is lwm's own TorchScript: it pools as its teacher did, re-imported (fp32: read from the file again;
// int8: kept in its lwm_spec) and in Python.
TEST(LastTokenPooling, AStudentOfABeforeFirstPadTeacherKeepsTheRuleInPython) {
  ImportedModel teacher = import_model(test::reference_model("gpt2", "sdpa", export_args(Pooling::BeforeFirstPad)));
  ASSERT_EQ(teacher.spec.pooling, Pooling::BeforeFirstPad);
  select_quantized_engine();
  const auto dir = test::models_dir() / "pooling";
  std::filesystem::create_directories(dir);
  const auto fp32_file = dir / "student-fp32.pt", int8_file = dir / "student-int8.pt";
  build_module(teacher.spec, teacher.weights).save(fp32_file.string());
  const Int8Weights int8_weights = quantize_weights(teacher.spec, teacher.weights, 0);
  BuildOptions options;
  options.int8 = &int8_weights;
  auto int8 = build_module(teacher.spec, teacher.weights, options);
  int8.register_attribute(kSpecAttribute, c10::StringType::get(), teacher.spec.to_json().dump());  // as the pipeline
  int8.save(int8_file.string());

  EXPECT_EQ(import_model(fp32_file).spec.pooling, Pooling::BeforeFirstPad);
  ImportedModel frozen = import_model(int8_file);
  EXPECT_TRUE(frozen.frozen);
  EXPECT_EQ(frozen.spec.pooling, Pooling::BeforeFirstPad);

  // Rows: a text holding the pad id, the same text cut before it, another text; run_torchscript.py right-pads
  // with --pad-id and attends every id given.
  const std::vector<std::vector<int64_t>> rows = {{464, 3290, 318, kPad, 1049, 13, 2}, {464, 3290, 318}, {40, 588, 340, 9}};
  std::string ids_args;
  for (const auto& r : rows) {
    ids_args += " --ids ";
    for (size_t i = 0; i < r.size(); ++i) {
      if (i > 0) ids_args += ',';  // (appending: GCC 12 warns falsely on "," + std::string in C++20)
      ids_args += std::to_string(r[i]);
    }
  }
  auto python_logits = [&](const std::filesystem::path& file) {
    std::string out;
    const int code = test::run_command(test::python() + " " + (test::source_dir() / "tools" / "run_torchscript.py").string() +
                                           " " + file.string() + " --pad-id " + std::to_string(kPad) + ids_args,
                                       &out);
    EXPECT_EQ(code, 0) << out;
    const auto j = test::last_json_line(out)["logits"].get<std::vector<std::vector<double>>>();
    std::vector<float> flat;
    for (const auto& row : j) flat.insert(flat.end(), row.begin(), row.end());
    return torch::tensor(flat).view({static_cast<int64_t>(j.size()), -1});
  };
  // The teacher file on the same batch, in C++.
  Inputs in{torch::full({3, 7}, kPad, torch::kLong), torch::zeros({3, 7}, torch::kLong)};
  for (size_t b = 0; b < rows.size(); ++b) {
    for (size_t i = 0; i < rows[b].size(); ++i) in.ids[b][i] = rows[b][i];
    in.mask[b].narrow(0, 0, static_cast<int64_t>(rows[b].size())).fill_(1);
  }
  const auto want = logits(teacher.module, in);
  EXPECT_LE((want[0] - want[1]).abs().max().item<double>(), 1e-5);  // the teacher pools before the first pad id

  const auto fp32_py = python_logits(fp32_file);
  EXPECT_LE((fp32_py - want).abs().max().item<double>(), 1e-5);
  const auto int8_py = python_logits(int8_file);
  ASSERT_EQ(int8_py.sizes(), want.sizes());
  EXPECT_LE((int8_py[0] - int8_py[1]).abs().max().item<double>(), 1e-5);  // int8 pools the same token
}

}  // namespace
}  // namespace lwm

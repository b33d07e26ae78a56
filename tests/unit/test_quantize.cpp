// Dynamic int8 quantization of a natively built model: accuracy against fp32, size, the input left
// alone, and the saved file loading in C++ and in Python.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <iostream>

#include "lwm/common/error.h"
#include "lwm/compress/quantize.h"
#include "lwm/model/builder.h"
#include "lwm/model/importer.h"
#include "test_support.h"

namespace lwm {
namespace {

// Mostly Linear weights: a 1000-token vocabulary keeps the (fp32) embeddings small.
const char* kArgs = "--vocab 1000 --hidden 256 --intermediate 1024 --max-positions 64";

struct Built {
  ImportedModel imported;
  torch::jit::Module native;
};

const Built& bert() {
  static const Built built = [] {
    auto path = test::reference_model("bert", "trace", kArgs, /*layers=*/4);
    if (path.empty()) throw std::runtime_error("export failed");
    ImportedModel m = import_model(path);
    auto native = build_module(m.spec, m.weights);
    return Built{std::move(m), native};
  }();
  return built;
}

std::vector<torch::jit::IValue> padded_batch(const ModelSpec& spec, int batch, int max_len, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto lengths = torch::randint(2, max_len + 1, {batch}, gen, torch::kLong);
  lengths[0] = max_len;
  auto ids = torch::randint(spec.pad_token_id + 1, spec.vocab_size, {batch, max_len}, gen, torch::kLong);
  auto mask = torch::arange(max_len).unsqueeze(0).lt(lengths.unsqueeze(1)).to(torch::kLong);
  ids = torch::where(mask.to(torch::kBool), ids, torch::full_like(ids, spec.pad_token_id));
  std::vector<torch::jit::IValue> inputs{ids, mask};
  if (spec.forward_args.size() > 2) inputs.emplace_back(torch::zeros_like(ids));
  return inputs;
}

torch::Tensor logits(torch::jit::Module& m, const std::vector<torch::jit::IValue>& inputs) {
  torch::NoGradGuard no_grad;
  auto out = m.forward(inputs);
  return out.isTuple() ? out.toTuple()->elements()[0].toTensor() : out.toTensor();
}

std::vector<std::string> arg_names(const torch::jit::Module& m) {
  std::vector<std::string> names;
  for (const auto& a : m.get_method("forward").function().getSchema().arguments()) names.push_back(a.name());
  return names;
}

struct Agreement {
  double max_diff = 0, scale = 0, agree = 0;
};

// Max |Δlogit|, the fp32 logit scale (std over the batch), and argmax agreement.
Agreement compare(torch::jit::Module& fp32, torch::jit::Module& int8, const ModelSpec& spec, int batches) {
  Agreement a;
  std::vector<torch::Tensor> ref, got;
  for (int b = 0; b < batches; ++b) {
    auto inputs = padded_batch(spec, 16, 8 + 8 * b, 100 + b);
    ref.push_back(logits(fp32, inputs));
    got.push_back(logits(int8, inputs));
  }
  auto r = torch::cat(ref), g = torch::cat(got);
  a.max_diff = (r - g).abs().max().item<double>();
  a.scale = r.std().item<double>();
  a.agree = r.argmax(1).eq(g.argmax(1)).to(torch::kDouble).mean().item<double>();
  return a;
}

TEST(QuantEngine, PicksASupportedEngine) {
  std::string engine = select_quantized_engine();
  EXPECT_TRUE(engine == "onednn" || engine == "fbgemm" || engine == "qnnpack") << engine;
  std::string current = c10::toString(at::globalContext().qEngine());
  std::transform(current.begin(), current.end(), current.begin(), ::tolower);
  EXPECT_EQ(current, engine);
  const auto& supported = at::globalContext().supportedQEngines();
  if (std::find(supported.begin(), supported.end(), at::QEngine::ONEDNN) != supported.end()) {
    EXPECT_EQ(engine, "onednn");
  }
}

TEST(QuantAccuracy, Int8LogitsCloseToFp32) {
  auto fp32 = bert().native;
  auto int8 = quantize_dynamic_int8(fp32);
  Agreement a = compare(fp32, int8, bert().imported.spec, 4);
  RecordProperty("max_diff", std::to_string(a.max_diff));
  std::cout << "max |dlogit| " << a.max_diff << ", fp32 logit std " << a.scale << ", argmax agreement " << a.agree
            << "\n";
  // Measured here: max |dlogit| ~0.09 x the fp32 logit std (random-init models barely separate their
  // inputs, so the std is small), argmax agreement ~0.98 (flips only where fp32's own margin is tiny).
  EXPECT_GT(a.scale, 0.0);
  EXPECT_LE(a.max_diff, 0.2 * a.scale);
  EXPECT_GE(a.agree, 0.9);
}

TEST(QuantAccuracy, PerTensorAlsoWorks) {
  auto fp32 = bert().native;
  auto int8 = quantize_dynamic_int8(fp32, QuantizeOptions{/*per_channel=*/false});
  Agreement a = compare(fp32, int8, bert().imported.spec, 2);
  EXPECT_LE(a.max_diff, 0.25 * a.scale);
}

TEST(QuantAccuracy, EveryLinearIsQuantizedAndSignatureKept) {
  auto fp32 = bert().native;
  auto int8 = quantize_dynamic_int8(fp32);
  EXPECT_EQ(arg_names(int8), arg_names(fp32));
  EXPECT_EQ(int8.get_method("forward").function().getSchema().returns()[0].type()->str(),
            fp32.get_method("forward").function().getSchema().returns()[0].type()->str());
  const std::string code = int8.get_method("forward").graph()->toString();
  EXPECT_EQ(code.find("aten::linear"), std::string::npos);
  size_t count = 0;
  for (size_t at = code.find("quantized::linear_dynamic"); at != std::string::npos;
       at = code.find("quantized::linear_dynamic", at + 1)) {
    ++count;
  }
  EXPECT_EQ(count, 4u * 6u + 2u);  // q, k, v, attention out, FFN in/out per layer; pooler, classifier
  EXPECT_FALSE(int8.find_method("forward_hidden"));
}

// RoBERTa and DistilBERT heads and layers (and pruned-away heads) quantize as well.
TEST(QuantAccuracy, OtherFamiliesAndPrunedLayers) {
  for (const std::string family : {"roberta", "distilbert"}) {
    ImportedModel m = import_model(test::reference_model(family, "trace"));
    // Layer 0 keeps no attention head: its q/k/v/out Linear calls disappear from the source.
    ModelSpec spec = m.spec;
    Weights w = m.weights;
    spec.layers[0].heads = 0;
    for (const auto* name : {&spec.names.query, &spec.names.key, &spec.names.value}) {
      w[spec.layer_param(0, *name, "weight")] = w[spec.layer_param(0, *name, "weight")].slice(0, 0, 0);
      w[spec.layer_param(0, *name, "bias")] = w[spec.layer_param(0, *name, "bias")].slice(0, 0, 0);
    }
    w[spec.layer_param(0, spec.names.attn_out, "weight")] =
        w[spec.layer_param(0, spec.names.attn_out, "weight")].slice(1, 0, 0);
    for (auto* s : {&m.spec, &spec}) {
      auto fp32 = build_module(*s, s == &spec ? w : m.weights);
      auto int8 = quantize_dynamic_int8(fp32);
      Agreement a = compare(fp32, int8, *s, 2);
      EXPECT_LE(a.max_diff, 0.2 * a.scale) << family;
      EXPECT_GE(a.agree, 0.9) << family;
    }
  }
}

TEST(QuantSize, SavedFileUnder40PercentOfFp32) {
  auto fp32 = bert().native;
  auto int8 = quantize_dynamic_int8(fp32);
  auto dir = test::models_dir();
  fp32.save((dir / "quant-fp32.pt").string());
  int8.save((dir / "quant-int8.pt").string());
  double ratio = static_cast<double>(std::filesystem::file_size(dir / "quant-int8.pt")) /
                 static_cast<double>(std::filesystem::file_size(dir / "quant-fp32.pt"));
  std::cout << "int8 / fp32 file size: " << ratio << "\n";
  EXPECT_LT(ratio, 0.40);
}

TEST(QuantInput, ModelIsUnchanged) {
  ImportedModel m = import_model(test::reference_model("bert", "trace", kArgs, 4));
  auto model = build_module(m.spec, m.weights);
  model.train();
  for (auto p : model.parameters()) p.set_requires_grad(true);
  const std::string forward_code = model.get_method("forward").graph()->toString();
  const std::string layer_code =
      model.attr("bert").toModule().attr("encoder").toModule().attr("layer").toModule().attr("0").toModule()
          .get_method("forward").graph()->toString();
  std::vector<torch::Tensor> before;
  for (const auto& p : model.named_parameters()) before.push_back(p.value.detach().clone());
  const auto names_before = module_weights(model).size();
  auto inputs = padded_batch(m.spec, 4, 16, 7);
  model.eval();
  auto out_before = logits(model, inputs);
  model.train();

  auto int8 = quantize_dynamic_int8(model);
  auto again = logits(int8, inputs);  // run the result, too: it must not touch the input

  EXPECT_TRUE(model.is_training());
  EXPECT_TRUE(model.find_method("forward_hidden"));
  EXPECT_EQ(model.get_method("forward").graph()->toString(), forward_code);
  EXPECT_EQ(model.attr("bert").toModule().attr("encoder").toModule().attr("layer").toModule().attr("0").toModule()
                .get_method("forward").graph()->toString(),
            layer_code);
  EXPECT_EQ(module_weights(model).size(), names_before);
  size_t i = 0;
  for (const auto& p : model.named_parameters()) {
    EXPECT_TRUE(torch::equal(p.value, before[i++])) << p.name;
    EXPECT_TRUE(p.value.requires_grad()) << p.name;
    EXPECT_EQ(p.value.scalar_type(), torch::kFloat) << p.name;
  }
  model.eval();
  EXPECT_TRUE(torch::equal(logits(model, inputs), out_before));
  // The model still builds again after quantizing a copy, and a second quantization works.
  auto int8_again = quantize_dynamic_int8(model);
  EXPECT_TRUE(torch::equal(logits(int8_again, inputs), again));
}

TEST(QuantSave, ReloadInCppGivesIdenticalOutputs) {
  auto fp32 = bert().native;
  auto int8 = quantize_dynamic_int8(fp32);
  auto path = test::models_dir() / "quant-reload.pt";
  int8.save(path.string());
  auto loaded = torch::jit::load(path.string());
  EXPECT_EQ(arg_names(loaded), arg_names(fp32));
  for (int b = 0; b < 3; ++b) {
    auto inputs = padded_batch(bert().imported.spec, 8, 10 + 7 * b, 40 + b);
    EXPECT_TRUE(torch::equal(logits(loaded, inputs), logits(int8, inputs))) << "batch " << b;
  }
}

TEST(QuantSave, LoadsAndRunsInPython) {
  if (!std::filesystem::exists("/usr/bin/python3")) GTEST_SKIP() << "no /usr/bin/python3";
  auto int8 = quantize_dynamic_int8(bert().native);
  auto path = test::models_dir() / "quant-python.pt";
  int8.save(path.string());
  std::string out;
  int rc = test::run_command("/usr/bin/python3 " + (test::source_dir() / "tools" / "run_torchscript.py").string() +
                                 " " + path.string() + " --ids 101,523,102 --ids 101,7,8,9,10,102",
                             &out);
  ASSERT_EQ(rc, 0) << out;
  auto json = nlohmann::json::parse(out.substr(out.find('{')));
  auto py = json["logits"];
  ASSERT_EQ(py.size(), 2u);
  auto ids = torch::tensor({101, 523, 102, 0, 0, 0, 101, 7, 8, 9, 10, 102}, torch::kLong).view({2, 6});
  auto mask = torch::tensor({1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1}, torch::kLong).view({2, 6});
  auto cpp = logits(int8, {ids, mask});
  for (int r = 0; r < 2; ++r) {
    for (int c = 0; c < cpp.size(1); ++c) EXPECT_NEAR(py[r][c].get<double>(), cpp[r][c].item<double>(), 1e-4);
  }
  EXPECT_EQ(json["forward_args"], nlohmann::json(bert().imported.spec.forward_args));
}

TEST(QuantInput, ModelWithoutForwardIsRefused) {
  torch::jit::Module m("__torch__.lwm.test.Empty");
  EXPECT_THROW(quantize_dynamic_int8(m), ModelError);
}

}  // namespace
}  // namespace lwm

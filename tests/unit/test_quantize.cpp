// int8 models written by the builder (BuildOptions::int8): accuracy against fp32, every projection packed,
// every method kept, row padding, size, and the saved file loading in C++ and in Python.
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
#include "lwm/model/torchscript_source.h"
#include "lwm/model/importer.h"
#include "test_support.h"

namespace lwm {
namespace {

// Mostly Linear weights: a 1000-token vocabulary keeps the (fp32) embeddings small.
const char* kArgs = "--vocab 1000 --hidden 256 --intermediate 1024 --max-positions 64";

struct Built {
  ImportedModel imported;
  torch::jit::Module native;
  torch::jit::Module int8;
};

torch::jit::Module build_int8(const ModelSpec& spec, const Weights& weights, int64_t min_weights = 0) {
  const Int8Weights int8 = quantize_weights(spec, weights, min_weights);
  BuildOptions options;
  options.int8 = &int8;
  return build_module(spec, weights, options);
}

const Built& bert() {
  static const Built built = [] {
    auto path = test::reference_model("bert", "sdpa", kArgs, /*layers=*/4);
    if (path.empty()) throw std::runtime_error("export failed");
    ImportedModel m = import_model(path);
    auto native = build_module(m.spec, m.weights);
    auto int8 = build_int8(m.spec, m.weights);
    return Built{std::move(m), native, int8};
  }();
  return built;
}

std::vector<torch::jit::IValue> padded_batch(const ModelSpec& spec, int batch, int max_len, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto lengths = torch::randint(2, max_len + 1, {batch}, gen, torch::kLong);
  lengths[0] = max_len;
  // Any id but the pad id (which is the last id for GPT-2).
  auto ids = torch::randint(0, spec.vocab_size - 1, {batch, max_len}, gen, torch::kLong);
  ids = ids + ids.ge(spec.pad_token_id).to(torch::kLong);
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
  EXPECT_TRUE(engine == "x86" || engine == "fbgemm" || engine == "onednn" || engine == "qnnpack") << engine;
  std::string current = c10::toString(at::globalContext().qEngine());
  std::transform(current.begin(), current.end(), current.begin(), ::tolower);
  EXPECT_EQ(current, engine);
  const auto& supported = at::globalContext().supportedQEngines();
  if (std::find(supported.begin(), supported.end(), at::QEngine::X86) != supported.end()) {
    EXPECT_EQ(engine, "x86");
  }
}

TEST(QuantAccuracy, Int8LogitsCloseToFp32) {
  auto fp32 = bert().native;
  auto int8 = bert().int8;
  Agreement a = compare(fp32, int8, bert().imported.spec, 4);
  RecordProperty("max_diff", std::to_string(a.max_diff));
  std::cout << "max |dlogit| " << a.max_diff << ", fp32 logit std " << a.scale << ", argmax agreement " << a.agree
            << "\n";
  // Measured here: max |dlogit| ~0.09 x the fp32 logit std (random-init models barely separate their
  // inputs, so the std is small), argmax agreement ~0.98 (flips only where fp32's own margin is tiny).
  EXPECT_GT(a.scale, 0.0);
  EXPECT_GT(a.max_diff, 0.0) << "the int8 model computed exactly what fp32 does";
  EXPECT_LE(a.max_diff, 0.2 * a.scale);
  EXPECT_GE(a.agree, 0.9);
}

TEST(QuantAccuracy, EveryProjectionIsPackedAndEveryMethodKept) {
  auto fp32 = bert().native;
  auto int8 = bert().int8;
  EXPECT_EQ(arg_names(int8), arg_names(fp32));
  EXPECT_EQ(int8.get_method("forward").function().getSchema().returns()[0].type()->str(),
            fp32.get_method("forward").function().getSchema().returns()[0].type()->str());
  for (const auto& method : fp32.get_methods()) EXPECT_TRUE(int8.find_method(method.name())) << method.name();
  // q, k, v, attention out, FFN in/out per layer; pooler, classifier: packed, with no fp32 weight left.
  const Weights left = module_weights(int8);
  int packed = 0;
  for (const auto& m : int8.named_modules()) {
    if (!m.value.hasattr("int8")) continue;
    ++packed;
    EXPECT_FALSE(left.count(m.name + ".weight")) << m.name;
    EXPECT_FALSE(left.count(m.name + ".bias")) << m.name;
  }
  EXPECT_EQ(packed, 4 * 6 + 2);
  // The word embedding is stored int8 with a scale per row; position and type embeddings stay fp32.
  EXPECT_FALSE(left.count("bert.embeddings.word_embeddings.weight"));
  EXPECT_TRUE(left.count("bert.embeddings.position_embeddings.weight"));
  auto table = int8.attr("bert").toModule().attr("embeddings").toModule().attr("word_embeddings").toModule();
  auto q = table.attr("weight_int8").toTensor();
  auto scale = table.attr("weight_scale").toTensor();
  EXPECT_EQ(q.scalar_type(), torch::kChar);
  const auto& fp32_table = bert().imported.weights.at("bert.embeddings.word_embeddings.weight");
  ASSERT_EQ(q.sizes(), fp32_table.sizes());
  // Rounding to the nearest of 256 levels: at most half a step per entry.
  EXPECT_LE(((q.to(torch::kFloat) * scale - fp32_table).abs() - 0.5001 * scale).max().item<double>(), 0.0);
}

// Small projections stay fp32 (int8's fixed cost per call loses there): with a 70,000-weight floor, only the
// 256 x 1024 FFN matrices of this model are packed; the 256 x 256 attention ones and the head are not.
TEST(QuantAccuracy, SmallProjectionsStayFp32) {
  auto int8 = build_int8(bert().imported.spec, bert().imported.weights, /*min_weights=*/70000);
  const Weights left = module_weights(int8);
  std::vector<std::string> packed;
  for (const auto& m : int8.named_modules()) {
    if (m.value.hasattr("int8")) packed.push_back(m.name);
  }
  ASSERT_EQ(packed.size(), 4u * 2u);
  for (const auto& name : packed) {
    const bool ffn = name.find(".intermediate.dense") != std::string::npos ||
                     (name.find(".output.dense") != std::string::npos && name.find("attention") == std::string::npos);
    EXPECT_TRUE(ffn) << name;
  }
  EXPECT_TRUE(left.count("bert.encoder.layer.0.attention.self.query.weight"));
  EXPECT_TRUE(left.count("classifier.weight"));
  auto fp32 = bert().native;
  Agreement a = compare(fp32, int8, bert().imported.spec, 2);
  EXPECT_GT(a.max_diff, 0.0);
  EXPECT_LE(a.max_diff, 0.2 * a.scale);
}

// Rows are padded to a few shapes for the int8 call and cut back: any row count and leading shape comes
// back whole, and close to the fp32 projection.
TEST(QuantAccuracy, RowPaddingKeepsShapesAndValues) {
  auto int8 = bert().int8;
  auto layer = int8.attr("bert").toModule().attr("encoder").toModule().attr("layer").toModule().attr("0").toModule();
  auto query = layer.attr("attention").toModule().attr("self").toModule().attr("query").toModule();
  const auto& w = bert().imported.weights.at("bert.encoder.layer.0.attention.self.query.weight");
  const auto& b = bert().imported.weights.at("bert.encoder.layer.0.attention.self.query.bias");
  torch::NoGradGuard no_grad;
  torch::manual_seed(3);
  for (int64_t rows : {1, 15, 64, 65, 600, 1030}) {
    auto x = torch::randn({1, rows, 256});
    auto y = layer.run_method("int8_linear", x, query.attr("int8")).toTensor();
    ASSERT_EQ(y.sizes(), (std::vector<int64_t>{1, rows, 256})) << rows;
    auto ref = torch::linear(x, w, b);
    EXPECT_LE((y - ref).abs().max().item<double>(), 0.05 * ref.abs().max().item<double>()) << rows;
  }
  auto x = torch::randn({3, 7, 256});
  EXPECT_EQ(layer.run_method("int8_linear", x, query.attr("int8")).toTensor().sizes(),
            (std::vector<int64_t>{3, 7, 256}));
}

// RoBERTa, DistilBERT, GPT-2 (Conv1D weights stored [in, out]) and OPT, and a layer whose heads were all
// pruned away (its q/k/v/out calls disappear from the source), quantize as well.
TEST(QuantAccuracy, OtherFamiliesAndPrunedLayers) {
  for (const std::string family : {"roberta", "distilbert", "gpt2", "opt"}) {
    ImportedModel m = import_model(test::reference_model(family, "sdpa"));
    std::vector<std::pair<ModelSpec, Weights>> variants{{m.spec, m.weights}};
    if (family == "roberta" || family == "distilbert") {
      ModelSpec spec = m.spec;
      Weights w = m.weights;
      spec.layers[0].heads = 0;
      for (const auto* name : {&spec.names.query, &spec.names.key, &spec.names.value}) {
        w[spec.layer_param(0, *name, "weight")] = w[spec.layer_param(0, *name, "weight")].slice(0, 0, 0);
        w[spec.layer_param(0, *name, "bias")] = w[spec.layer_param(0, *name, "bias")].slice(0, 0, 0);
      }
      w[spec.layer_param(0, spec.names.attn_out, "weight")] =
          w[spec.layer_param(0, spec.names.attn_out, "weight")].slice(1, 0, 0);
      variants.emplace_back(spec, w);
    }
    for (auto& [spec, weights] : variants) {
      auto fp32 = build_module(spec, weights);
      auto int8 = build_int8(spec, weights);
      Agreement a = compare(fp32, int8, spec, 2);
      EXPECT_GT(a.max_diff, 0.0) << family;
      EXPECT_LE(a.max_diff, 0.2 * a.scale) << family;
      EXPECT_GE(a.agree, 0.9) << family;
    }
  }
}

TEST(QuantSize, SavedFileUnder40PercentOfFp32) {
  auto dir = test::models_dir();
  bert().native.save((dir / "quant-fp32.pt").string());
  bert().int8.save((dir / "quant-int8.pt").string());
  double ratio = static_cast<double>(std::filesystem::file_size(dir / "quant-int8.pt")) /
                 static_cast<double>(std::filesystem::file_size(dir / "quant-fp32.pt"));
  std::cout << "int8 / fp32 file size: " << ratio << "\n";
  EXPECT_LT(ratio, 0.40);
}

TEST(QuantSave, ReloadInCppGivesIdenticalOutputs) {
  auto int8 = bert().int8;
  auto path = test::models_dir() / "quant-reload.pt";
  int8.save(path.string());
  auto loaded = torch::jit::load(path.string());
  EXPECT_EQ(arg_names(loaded), arg_names(bert().native));
  for (int b = 0; b < 3; ++b) {
    auto inputs = padded_batch(bert().imported.spec, 8, 10 + 7 * b, 40 + b);
    EXPECT_TRUE(torch::equal(logits(loaded, inputs), logits(int8, inputs))) << "batch " << b;
  }
}

TEST(QuantSave, LoadsAndRunsInPython) {
  auto int8 = bert().int8;
  auto path = test::models_dir() / "quant-python.pt";
  int8.save(path.string());
  std::string out;
  int rc = test::run_command(test::python() + " " + (test::source_dir() / "tools" / "run_torchscript.py").string() +
                                 " " + path.string() + " --ids 101,523,102 --ids 101,7,8,9,10,102",
                             &out);
  ASSERT_EQ(rc, 0) << out;
  auto json = test::last_json_line(out);
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

// int8 weights made for another model (e.g. quantized before the student was shrunk) are refused, not built
// into a module that fails when run.
TEST(QuantInput, Int8WeightsOfAnotherModelAreRefused) {
  const ModelSpec& spec = bert().imported.spec;
  const Weights& weights = bert().imported.weights;
  const Int8Weights int8 = quantize_weights(spec, weights, 0);
  auto expect_refused = [&](const Int8Weights& bad, const std::string& fragment) {
    BuildOptions options;
    options.int8 = &bad;
    try {
      build_module(spec, weights, options);
      ADD_FAILURE() << "built; expected a ModelError with: " << fragment;
    } catch (const ModelError& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  Int8Weights other_shape = int8;
  const std::string ffn = "bert.encoder.layer.0.intermediate.dense";
  ASSERT_TRUE(other_shape.shapes.count(ffn));
  other_shape.shapes[ffn] = {512, 256};
  expect_refused(other_shape, "'" + ffn + "' were made from weights of another shape");
  Int8Weights not_a_projection = int8;
  not_a_projection.packed["bert.embeddings.LayerNorm"] = int8.packed.at(ffn);
  expect_refused(not_a_projection, "not a projection of this model");
  Int8Weights tied_head = int8;
  tied_head.packed[kTiedLmHeadInt8] = int8.packed.at(ffn);
  expect_refused(tied_head, "a packed tied LM head for a model without one");
  Int8Weights embedding = int8;
  embedding.embedding = embedding.embedding.narrow(0, 0, 10);
  expect_refused(embedding, "the int8 word embedding does not fit");
  BuildOptions options;
  options.int8 = &int8;
  EXPECT_NO_THROW(build_module(spec, weights, options));
}

TEST(QuantInput, Int8WithAHiddenMaskIsRefused) {
  const Int8Weights int8 = quantize_weights(bert().imported.spec, bert().imported.weights, 0);
  BuildOptions options;
  options.int8 = &int8;
  options.hidden_mask = true;
  EXPECT_THROW(build_module(bert().imported.spec, bert().imported.weights, options), ModelError);
}

}  // namespace
}  // namespace lwm

// Snapshots of the TorchScript source lwm generates per family (model/torchscript_source.h): a change to what
// the builder writes shows as a diff of tests/data/snapshots/torchscript/*.py in review. After a deliberate
// change, rewrite them with LWM_UPDATE_SNAPSHOTS=1 (e.g. `LWM_UPDATE_SNAPSHOTS=1 build/lwm_tests
// --gtest_filter='TorchScriptSource.*'`) and commit the diff with the change.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>

#include "lwm/model/importer.h"
#include "lwm/model/tensor_inventory.h"
#include "lwm/model/torchscript_source.h"
#include "test_support.h"

namespace lwm {
namespace {

namespace fs = std::filesystem;

std::string all_sources(const ModelSpec& spec, const SourceOptions& options) {
  const TorchScriptSource source(spec, options);
  std::ostringstream out;
  for (const auto& helper : source.helpers()) out << "# --- helper (every module)\n" << helper << "\n";
  for (int l = 0; l < spec.num_layers(); ++l) out << "# --- " << spec.layer_path(l) << "\n" << source.layer(l) << "\n";
  for (const auto& method : source.root()) out << "# --- root\n" << method << "\n";
  return out.str();
}

void expect_snapshot(const std::string& name, const std::string& actual) {
  const fs::path file = test::source_dir() / "tests" / "data" / "snapshots" / "torchscript" / (name + ".py");
  if (const char* update = std::getenv("LWM_UPDATE_SNAPSHOTS"); update != nullptr && std::string(update) == "1") {
    fs::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << actual;
    return;
  }
  std::ifstream in(file, std::ios::binary);
  ASSERT_TRUE(in) << file << " is missing: run with LWM_UPDATE_SNAPSHOTS=1 to write it";
  const std::string expected((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (expected != actual) {
    const fs::path got = test::models_dir() / ("snapshot-" + name + ".py");
    std::ofstream(got, std::ios::binary) << actual;
    ADD_FAILURE() << "the generated source differs from " << file << "; this run's is in " << got
                  << " (diff them; if the change is meant, rerun with LWM_UPDATE_SNAPSHOTS=1 and commit the diff)";
  }
}

ModelSpec spec_of(const std::string& family, const std::string& args) {
  const fs::path path = test::reference_model(family, "sdpa", args);
  if (path.empty()) throw std::runtime_error("export of " + family + " failed");
  return import_model(path).spec;
}

struct Family {
  const char* family;
  const char* args;
};

class TorchScriptSourcePerFamily : public ::testing::TestWithParam<Family> {};

TEST_P(TorchScriptSourcePerFamily, MatchesItsSnapshot) {
  const Family f = GetParam();
  expect_snapshot(f.family, all_sources(spec_of(f.family, f.args), {}));
}

INSTANTIATE_TEST_SUITE_P(TorchScriptSource, TorchScriptSourcePerFamily,
                         ::testing::Values(Family{"bert", ""}, Family{"roberta", ""}, Family{"distilbert", ""},
                                           Family{"electra", ""}, Family{"gpt2", "--vocab 50257"}, Family{"opt", "--vocab 50257"},
                                           Family{"t5", "--vocab 8000"}),
                         [](const auto& info) { return std::string(info.param.family); });

// The two options that change the text: masked norms (hidden-dimension pruning), and int8 projections with an
// int8 word embedding.
TEST(TorchScriptSource, HiddenMaskAndInt8MatchTheirSnapshots) {
  const ModelSpec bert = spec_of("bert", "");
  SourceOptions masked;
  masked.hidden_mask = true;
  expect_snapshot("bert-hidden-mask", all_sources(bert, masked));
  // ELECTRA: the embedding norm is embedding_width wide (not masked); the stream is masked from
  // embeddings_project on.
  expect_snapshot("electra-hidden-mask", all_sources(spec_of("electra", ""), masked));

  SourceOptions int8;
  for (const auto& [m, transposed] : projection_modules(bert)) {
    if (m.find("attention") != std::string::npos) int8.int8_projections.insert(m);  // some packed, some not
  }
  int8.int8_embedding = true;
  const std::string source = all_sources(bert, int8);
  expect_snapshot("bert-int8", source);
  EXPECT_NE(source.find("self.int8_linear("), std::string::npos);
  EXPECT_NE(source.find("torch.linear("), std::string::npos);  // the FFN and the head stay fp32
  EXPECT_NE(source.find(".weight_int8, input_ids)"), std::string::npos);

  // Every projection int8: GPT-2 (Conv1D weights, fused Q|K|V) and T5 (the tied LM head's packed copy).
  for (const auto& [family, args] : {std::pair<std::string, std::string>{"gpt2", "--vocab 50257"}, {"t5", "--vocab 8000"}}) {
    const ModelSpec spec = spec_of(family, args);
    SourceOptions all;
    for (const auto& [m, transposed] : projection_modules(spec)) all.int8_projections.insert(m);
    if (family == "t5") all.int8_projections.insert(kTiedLmHeadInt8);
    all.int8_embedding = true;
    const std::string text = all_sources(spec, all);
    expect_snapshot(family + "-int8", text);
    EXPECT_EQ(text.find("torch.linear("), std::string::npos) << family;
  }
}

// The generator is pure: the same inputs give the same text, whatever was generated before.
TEST(TorchScriptSource, IsAFunctionOfItsInputsOnly) {
  const ModelSpec bert = spec_of("bert", "");
  SourceOptions int8;
  int8.int8_embedding = true;
  const std::string plain = all_sources(bert, {});
  (void)all_sources(bert, int8);
  EXPECT_EQ(all_sources(bert, {}), plain);
  EXPECT_NE(all_sources(bert, int8), plain);
}

}  // namespace
}  // namespace lwm

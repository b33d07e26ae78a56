// The layer order of the source folders (tools/check_layers.py; docs/design.md, "Layers"): every include points
// to a lower layer, and the check itself catches one that does not.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "test_support.h"

namespace lwm {
namespace {

namespace fs = std::filesystem;

std::string check_layers(const fs::path& root, int* status) {
  std::string output;
  *status = test::run_command(test::python() + " " + (test::source_dir() / "tools" / "check_layers.py").string() +
                                  " " + root.string(),
                              &output);
  return output;
}

void write(const fs::path& file, const std::string& text) {
  fs::create_directories(file.parent_path());
  std::ofstream(file) << text;
}

TEST(Layers, EveryIncludePointsDown) {
  int status = -1;
  const std::string output = check_layers(test::source_dir(), &status);
  EXPECT_EQ(status, 0) << output;
}

TEST(Layers, TheCheckCatchesAnIncludeThatPointsUpOrSideways) {
  const fs::path root = test::models_dir() / "layers-fixture";
  fs::remove_all(root);
  write(root / "src/model/builder.cpp", "#include \"lwm/model/spec.h\"\n#include \"lwm/common/error.h\"\n");
  int status = -1;
  EXPECT_EQ((check_layers(root, &status), status), 0);

  write(root / "src/model/builder.cpp", "#include \"lwm/model/spec.h\"\n#include \"lwm/compress/quantize.h\"\n");
  write(root / "include/lwm/train/trainer.h", "#pragma once\n#include \"lwm/measure/evaluation.h\"\n");
  write(root / "src/data/dataset.cc", "#include <lwm/model/spec.h>\n#include \"../model/spec.h\"\n");
  const std::string output = check_layers(root, &status);
  EXPECT_EQ(status, 1) << output;
  EXPECT_NE(output.find("src/model/builder.cpp:2: model (layer 2) includes lwm/compress/"), std::string::npos) << output;
  EXPECT_NE(output.find("include/lwm/train/trainer.h:2: train (layer 3) includes lwm/measure/"), std::string::npos)
      << output;
  EXPECT_NE(output.find("src/data/dataset.cc:1: data (layer 1) includes lwm/model/"), std::string::npos) << output;
  EXPECT_NE(output.find("src/data/dataset.cc:2: a relative include"), std::string::npos) << output;

  write(root / "src/gui/window.cpp", "#include \"lwm/common/error.h\"\n");
  EXPECT_NE(check_layers(root, &status).find("folder 'gui' has no layer"), std::string::npos);
  EXPECT_EQ(status, 1);
  fs::remove_all(root);
}

}  // namespace
}  // namespace lwm

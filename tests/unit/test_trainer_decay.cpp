// Weight decay goes where Hugging Face's Trainer puts it, for every family: checked against
// Trainer.get_decay_parameter_names on the real transformers classes (tools/hf_decay_names.py).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <set>

#include "lwm/train/trainer.h"
#include "test_support.h"

namespace lwm {
namespace {

TEST(WeightDecay, SameParametersAsHuggingFaceTrainerForEveryFamily) {
  std::string out;
  ASSERT_EQ(test::run_command(test::python() + " " + (test::source_dir() / "tools" / "hf_decay_names.py").string() +
                                  " 2>/dev/null",
                              &out),
            0)
      << out;
  const nlohmann::json families = test::last_json_line(out);
  ASSERT_EQ(families.size(), 7u);
  for (const auto& [family, f] : families.items()) {
    SCOPED_TRACE(family);
    const auto hf = f["decay"].get<std::set<std::string>>();
    std::set<std::string> lwm;
    for (const auto& [name, dim] : f["parameters"].items()) {
      if (weight_decay_applies(name, dim.get<int64_t>())) lwm.insert(name);
    }
    EXPECT_EQ(lwm, hf);
    EXPECT_FALSE(hf.empty());
  }
}

}  // namespace
}  // namespace lwm

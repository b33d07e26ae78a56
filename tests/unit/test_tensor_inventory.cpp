// tensor_inventory(): the spec's one list of tensors. On real `transformers` exports of every family, it names
// exactly the module's parameters, each with the shape its axes give, so that the weight check, the projection
// list, pruning's unit groups and layer removal (which walk it) see every tensor and no other.
#include <gtest/gtest.h>

#include <set>

#include "lwm/common/error.h"
#include "lwm/model/importer.h"
#include "lwm/model/tensor_inventory.h"
#include "lwm/model/weight_check.h"
#include "test_support.h"

namespace lwm {
namespace {

class Inventory : public ::testing::TestWithParam<test::Export> {};

TEST_P(Inventory, NamesEveryParameterWithTheShapeOfItsAxes) {
  const auto& e = GetParam();
  auto path = test::reference_model(e.family, "sdpa", e.args);
  ASSERT_FALSE(path.empty()) << "export failed";
  const ImportedModel m = import_model(path);
  std::set<std::string> listed;
  for (const auto& t : tensor_inventory(m.spec)) {
    EXPECT_TRUE(listed.insert(t.name()).second) << t.name() << " listed twice";
    auto it = m.weights.find(t.name());
    ASSERT_NE(it, m.weights.end()) << t.name() << " (" << to_string(t.role) << ") is not a parameter of the file";
    ASSERT_EQ(it->second.dim(), static_cast<int64_t>(t.axes.size())) << t.name();
    for (size_t d = 0; d < t.axes.size(); ++d) {
      const int64_t size = axis_size(m.spec, t.layer, t.axes[d]);
      if (size >= 0) EXPECT_EQ(it->second.size(static_cast<int64_t>(d)), size) << t.name() << " axis " << to_string(t.axes[d]);
    }
  }
  for (const auto& [name, tensor] : m.weights) EXPECT_TRUE(listed.count(name)) << name << " has no role";
  EXPECT_NO_THROW(check_weights(m.spec, m.weights));
}

INSTANTIATE_TEST_SUITE_P(Families, Inventory, ::testing::ValuesIn(test::family_exports()),
                         [](const auto& info) { return info.param.name; });

TEST(Inventory, EveryRoleHasOneNameAndOneKey) {
  std::set<Role> roles;
  std::set<std::string> keys;
  for (const auto& [role, member] : role_names()) {
    EXPECT_TRUE(roles.insert(role).second) << to_string(role);
    EXPECT_TRUE(keys.insert(to_string(role)).second) << to_string(role);
  }
  EXPECT_EQ(roles.size(), static_cast<size_t>(Role::HeadOut) + 1);
}

TEST(Inventory, AWrongShapeIsOneErrorNamingTheTensorAndItsRole) {
  const ImportedModel m = import_model(test::reference_model("bert", "sdpa"));
  Weights w = m.weights;
  const std::string name = m.spec.layer_param(1, m.spec.names.ffn_in, "weight");
  w[name] = torch::zeros({3, m.spec.hidden});
  try {
    check_weights(m.spec, w);
    FAIL() << "no error";
  } catch (const ModelError& e) {
    const std::string needs = "[" + std::to_string(m.spec.layers[1].ffn) + ", " + std::to_string(m.spec.hidden) + "]";
    EXPECT_NE(std::string(e.what()).find("'" + name + "' (ffn_in) has shape [3, " + std::to_string(m.spec.hidden) +
                                         "], the spec needs " + needs),
              std::string::npos)
        << e.what();
  }
  // The pooler's bias, which the old hand-written check skipped, is in the inventory too.
  w = m.weights;
  w.erase(m.spec.names.head_dense + ".bias");
  EXPECT_THROW(check_weights(m.spec, w), ModelError);
}

}  // namespace
}  // namespace lwm

#pragma once
// How the structured pruner ranks units (config key prune_importance). Apart from pruning.h so that reading a
// config does not pull the pruner in (the fuzz build links only what config parsing reaches).
#include <string>

namespace lwm {

enum class Importance {
  Magnitude,  // unit_importance(): the L2 norm of the unit's weights, the reference study's criterion (default)
  Taylor,     // unit_taylor(), summed over the steps since the last mask update
};
std::string to_string(Importance i);                      // "magnitude", "taylor"
Importance importance_from_string(const std::string& s);  // UsageError for any other name

}  // namespace lwm

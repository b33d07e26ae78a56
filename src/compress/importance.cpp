// Importance: the names of the pruner's unit rankings.
#include "lwm/compress/importance.h"

#include "lwm/common/error.h"

namespace lwm {

std::string to_string(Importance i) { return i == Importance::Taylor ? "taylor" : "magnitude"; }

Importance importance_from_string(const std::string& s) {
  if (s == "magnitude") return Importance::Magnitude;
  if (s == "taylor") return Importance::Taylor;
  throw UsageError("unknown pruning importance '" + s + "' (magnitude or taylor)");
}

}  // namespace lwm

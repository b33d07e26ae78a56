// When and how much to prune: the cubic sparsity schedule of Zhu & Gupta (2017).
#include <algorithm>
#include <cmath>

#include "lwm/compress/pruning.h"

namespace lwm {

double cubic_sparsity(double initial, double final_sparsity, int64_t step, int64_t start, int64_t end) {
  if (step < start) return initial;
  if (step >= end) return final_sparsity;
  const double progress = static_cast<double>(step - start) / static_cast<double>(end - start);
  return final_sparsity + (initial - final_sparsity) * std::pow(1.0 - progress, 3);
}

bool PruneSchedule::due(int64_t step) const {
  if (step < start_step) return false;
  return step >= end_step || (step - start_step) % std::max<int64_t>(frequency, 1) == 0;
}

nlohmann::json PruneSchedule::to_json() const {
  return {{"start_step", start_step},
          {"end_step", end_step},
          {"frequency", frequency},
          {"initial_sparsity", initial_sparsity},
          {"kind", "cubic (Zhu & Gupta 2017)"}};
}

nlohmann::json PruneTargets::to_json() const { return {{"heads", heads}, {"ffn", ffn}, {"hidden", hidden}}; }

}  // namespace lwm

#include "lwm/compress/layer_removal.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "lwm/common/error.h"

namespace lwm {

LayerStrategy layer_strategy_from_string(const std::string& name) {
  if (name == "top") return LayerStrategy::Top;
  if (name == "bottom") return LayerStrategy::Bottom;
  if (name == "alternate") return LayerStrategy::Alternate;
  if (name == "explicit") return LayerStrategy::Explicit;
  throw UsageError("unknown layer strategy '" + name + "' (known: top, bottom, alternate, explicit)");
}

std::string to_string(LayerStrategy s) {
  switch (s) {
    case LayerStrategy::Top: return "top";
    case LayerStrategy::Bottom: return "bottom";
    case LayerStrategy::Alternate: return "alternate";
    case LayerStrategy::Explicit: return "explicit";
  }
  return "?";
}

int layers_for_fraction(int num_layers, double fraction) {
  if (!(fraction > 0 && fraction <= 1)) throw UsageError("layer fraction must be in (0, 1]");
  return std::max(1, static_cast<int>(std::lround(fraction * num_layers)));
}

std::vector<int> select_layers(int num_layers, int keep, LayerStrategy strategy, const std::vector<int>& explicit_layers) {
  std::vector<int> kept;
  if (strategy == LayerStrategy::Explicit) {
    if (explicit_layers.empty()) throw UsageError("explicit layer strategy needs a list of layers to keep");
    std::set<int> seen;
    for (int l : explicit_layers) {
      if (l < 0 || l >= num_layers) {
        throw UsageError("layer " + std::to_string(l) + " does not exist: the teacher has layers 0.." +
                         std::to_string(num_layers - 1));
      }
      if (!seen.insert(l).second) throw UsageError("layer " + std::to_string(l) + " is listed twice");
    }
    return {seen.begin(), seen.end()};
  }
  if (keep < 1 || keep > num_layers) {
    throw UsageError("cannot keep " + std::to_string(keep) + " layers: the teacher has " + std::to_string(num_layers));
  }
  switch (strategy) {
    case LayerStrategy::Top:
      for (int l = 0; l < keep; ++l) kept.push_back(l);
      break;
    case LayerStrategy::Bottom:
      for (int l = num_layers - keep; l < num_layers; ++l) kept.push_back(l);
      break;
    case LayerStrategy::Alternate:
      // Evenly spaced, ending with the last layer: 12 -> 6 keeps 1,3,5,7,9,11; 12 -> 4 keeps 2,5,8,11.
      for (int i = 1; i <= keep; ++i) kept.push_back(static_cast<int>(std::lround(static_cast<double>(i) * num_layers / keep)) - 1);
      break;
    case LayerStrategy::Explicit:
      break;
  }
  return kept;
}

std::pair<ModelSpec, Weights> remove_layers(const ModelSpec& spec, const Weights& weights, const std::vector<int>& kept) {
  ModelSpec student = spec;
  student.layers.clear();
  for (int l : kept) student.layers.push_back(spec.layers.at(static_cast<size_t>(l)));
  const std::string& prefix = spec.names.layer_prefix;
  Weights out;
  for (const auto& [name, tensor] : weights) {
    if (name.compare(0, prefix.size(), prefix) != 0) {
      out[name] = tensor;
      continue;
    }
    const std::string rest = name.substr(prefix.size());
    const size_t dot = rest.find('.');
    const int layer = std::stoi(rest.substr(0, dot));
    auto it = std::find(kept.begin(), kept.end(), layer);
    if (it == kept.end()) continue;
    out[prefix + std::to_string(it - kept.begin()) + rest.substr(dot)] = tensor;
  }
  return {student, out};
}

}  // namespace lwm

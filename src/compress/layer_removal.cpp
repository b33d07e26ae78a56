#include "lwm/compress/layer_removal.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "lwm/common/error.h"
#include "lwm/model/tensor_inventory.h"

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

std::vector<int> select_model_layers(const ModelSpec& spec, int keep, double fraction, LayerStrategy strategy,
                                     const std::vector<int>& explicit_layers) {
  const int encoder = spec.num_encoder_layers(), decoder = spec.num_decoder_layers();
  auto stack = [&](int count, int offset, std::vector<int>& out) {
    const int n = keep > 0 ? keep : layers_for_fraction(count, fraction);
    if (strategy != LayerStrategy::Explicit && n > count) {
      throw UsageError("config asks for " + std::to_string(n) + " layers; the teacher has " + std::to_string(count) +
                       (spec.encoder_decoder ? (offset > 0 ? " decoder layers" : " encoder layers") : ""));
    }
    for (int l : select_layers(count, n, strategy, explicit_layers)) out.push_back(offset + l);
  };
  std::vector<int> kept;
  stack(encoder, 0, kept);
  if (decoder > 0) stack(decoder, encoder, kept);
  return kept;
}

std::pair<ModelSpec, Weights> remove_layers(const ModelSpec& spec, const Weights& weights, const std::vector<int>& kept) {
  ModelSpec student = spec;
  student.layers.clear();
  for (int l : kept) student.layers.push_back(spec.layers.at(static_cast<size_t>(l)));
  // Tensors of no layer (tensor_inventory.h: layer -1) stay where they are, the stack-shared relative bias table
  // in its stack's first layer included; a kept layer's tensors move to its place in the student, in order
  // within its stack (encoder, then decoder); the removed layers' tensors go.
  std::set<std::string> model_level;
  for (const auto& t : tensor_inventory(spec)) {
    if (t.layer < 0) model_level.insert(t.name());
  }
  std::vector<std::pair<std::string, std::string>> moves;  // teacher layer path + ".", student layer path + "."
  for (size_t i = 0; i < kept.size(); ++i) {
    moves.emplace_back(spec.layer_path(kept[i]) + ".", student.layer_path(static_cast<int>(i)) + ".");
  }
  std::vector<std::string> layer_paths;
  for (int l = 0; l < spec.num_layers(); ++l) layer_paths.push_back(spec.layer_path(l) + ".");
  Weights out;
  for (const auto& [name, tensor] : weights) {
    if (model_level.count(name)) {
      out[name] = tensor;
      continue;
    }
    const std::string& weight = name;  // a structured binding cannot be captured before C++20
    const bool in_a_layer = std::any_of(layer_paths.begin(), layer_paths.end(),
                                        [&weight](const std::string& path) { return weight.rfind(path, 0) == 0; });
    if (!in_a_layer) {
      out[name] = tensor;
      continue;
    }
    for (const auto& [from, to] : moves) {
      if (name.rfind(from, 0) == 0) out[to + name.substr(from.size())] = tensor;
    }
  }
  return {student, out};
}

}  // namespace lwm

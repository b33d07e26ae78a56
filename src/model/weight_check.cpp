#include "lwm/model/weight_check.h"

#include <algorithm>
#include <sstream>

#include "lwm/common/error.h"
#include "lwm/model/tensor_inventory.h"

namespace lwm {

void check_vocab_map(const ModelSpec& spec, const Weights& w) {
  // A vocabulary-pruned model maps every input id to one of its rows (spec.h, input_vocab_size).
  const auto map = w.find(spec.vocab_map_name());
  if (spec.input_vocab_size > 0) {
    if (map == w.end()) throw ModelError("cannot build the model: missing vocabulary map '" + spec.vocab_map_name() + "'");
    const torch::Tensor& m = map->second;
    if (m.scalar_type() != torch::kLong || m.dim() != 1 || m.size(0) != spec.input_vocab_size ||
        (m.numel() > 0 && (m.min().item<int64_t>() < 0 || m.max().item<int64_t>() >= spec.vocab_size))) {
      throw ModelError("cannot build the model: the vocabulary map '" + spec.vocab_map_name() + "' must be " +
                       std::to_string(spec.input_vocab_size) + " int64 row ids below " + std::to_string(spec.vocab_size));
    }
  } else if (map != w.end()) {
    throw ModelError("cannot build the model: a vocabulary map '" + spec.vocab_map_name() +
                     "' for a model whose spec has none (input_vocab_size 0)");
  }
}

void check_weights(const ModelSpec& spec, const Weights& w) {
  // The classifier's inner width is not in the spec: whatever head_dense has, head_out must read.
  int64_t head_width = -1;
  for (const auto& t : tensor_inventory(spec)) {
    auto it = w.find(t.name());
    if (it == w.end()) throw ModelError("cannot build the model: missing weight '" + t.name() + "'");
    const torch::Tensor& tensor = it->second;
    bool fits = tensor.dim() == static_cast<int64_t>(t.axes.size());
    std::vector<int64_t> shape;
    for (size_t d = 0; d < t.axes.size(); ++d) {
      int64_t size = axis_size(spec, t.layer, t.axes[d]);
      if (t.axes[d] == Axis::HeadWidth && fits) {
        if (head_width < 0) head_width = tensor.size(static_cast<int64_t>(d));
        size = head_width;
      }
      shape.push_back(size);
      if (fits && size >= 0 && tensor.size(static_cast<int64_t>(d)) != size) fits = false;
    }
    if (!fits) {
      std::ostringstream msg;
      msg << "cannot build the model: weight '" << t.name() << "' (" << to_string(t.role) << ") has shape "
          << tensor.sizes() << ", the spec needs [";
      for (size_t d = 0; d < shape.size(); ++d) {
        msg << (d ? ", " : "") << (shape[d] >= 0 ? std::to_string(shape[d]) : to_string(t.axes[d]));
      }
      msg << "]";
      throw ModelError(msg.str());
    }
  }
  check_vocab_map(spec, w);
  // A relative bias table (T5) must hold every head its layers read (bias_heads, or heads 0..heads-1).
  for (int l = 0; l < spec.num_layers(); ++l) {
    const auto& ln = spec.names_of(l);
    if (ln.relative_bias.empty()) continue;
    const std::string table = ln.layer_prefix + "0." + ln.relative_bias + ".weight";
    const auto& layer = spec.layers[l];
    const int64_t table_heads = w.at(table).size(1);
    const int64_t listed = layer.bias_heads.empty() ? layer.heads : static_cast<int64_t>(layer.bias_heads.size());
    const int64_t top =
        layer.bias_heads.empty() ? layer.heads - 1 : *std::max_element(layer.bias_heads.begin(), layer.bias_heads.end());
    if (listed != layer.heads || top >= table_heads) {
      throw ModelError("cannot build the model: relative bias table '" + table + "' does not fit layer " +
                       spec.layer_path(l) + "'s heads");
    }
  }
}

}  // namespace lwm

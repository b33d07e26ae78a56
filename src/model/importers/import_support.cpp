#include "import_support.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "lwm/common/error.h"
#include "lwm/model/graph_facts.h"

namespace lwm::import_support {

bool has_prefix(const Weights& w, const std::string& prefix) {
  auto it = w.lower_bound(prefix);
  return it != w.end() && it->first.compare(0, prefix.size(), prefix) == 0;
}

const torch::Tensor& need(const Weights& w, const std::string& name) {
  auto it = w.find(name);
  if (it == w.end()) throw ModelError("missing parameter '" + name + "'");
  return it->second;
}

int count_layers(const Weights& w, const std::string& prefix) {
  std::set<int> seen;
  for (auto it = w.lower_bound(prefix); it != w.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
    const std::string rest = it->first.substr(prefix.size());
    const size_t dot = rest.find('.');
    try {
      seen.insert(std::stoi(rest.substr(0, dot)));
    } catch (const std::exception&) {
      throw ModelError("unexpected parameter '" + it->first + "'");
    }
  }
  const int n = static_cast<int>(seen.size());
  if (n == 0 || *seen.begin() != 0 || *seen.rbegin() != n - 1) {
    throw ModelError("layers under '" + prefix + "' are not numbered 0..N-1");
  }
  return n;
}

std::optional<int> compared_id(const torch::jit::Module& module, const std::vector<std::string>& attr_names) {
  const auto ne = c10::Symbol::fromQualString("aten::ne");
  const auto eq = c10::Symbol::fromQualString("aten::eq");
  for (const auto& m : module.modules()) {
    for (const auto& method : m.get_methods()) {
      for (auto* node : method.graph()->nodes()) {
        if ((node->kind() != ne && node->kind() != eq) || node->inputs().size() < 2) continue;
        auto v = torch::jit::toIValue(node->input(1));
        if (v && v->isInt()) return static_cast<int>(v->toInt());
      }
    }
  }
  for (const auto& m : module.modules()) {
    for (const auto& name : attr_names) {
      if (m.hasattr(name) && m.attr(name).isInt()) return static_cast<int>(m.attr(name).toInt());
    }
  }
  return std::nullopt;
}

double norm_eps(const torch::jit::Module& module, const ModelSpec& spec, double fallback) {
  auto eps = layer_norm_eps(module);
  auto layer0 = find_submodule(module, spec.names.layer_prefix + "0");
  if (eps.empty() && layer0 && layer0->hasattr("eps") && layer0->attr("eps").isDouble()) {
    eps.push_back(layer0->attr("eps").toDouble());  // lwm's own models keep eps as an attribute
  }
  if (eps.empty()) {
    spdlog::warn("no LayerNorm epsilon found in the graph; using the {} default {}", to_string(spec.family), fallback);
    return fallback;
  }
  return eps.front();
}

int attention_heads_of(const torch::jit::Module& module, const ModelSpec& spec, int layer,
                       const std::string& attention_path, int width) {
  const std::string layer_path = spec.names.layer_prefix + std::to_string(layer);
  auto layer_module = find_submodule(module, layer_path);
  if (!layer_module) throw ModelError("no module '" + layer_path + "'");
  auto attention = attention_path.empty() ? layer_module : find_submodule(*layer_module, attention_path);
  if (!attention) throw ModelError("no module '" + layer_path + "." + attention_path + "'");
  // lwm's own models keep num_heads on the layer; Hugging Face's on the attention module.
  auto heads = attention_heads(*attention, {"num_attention_heads", "n_heads", "num_heads", "n_head"}, width);
  if (!heads) heads = attention_heads(*layer_module, {"num_heads"}, width);
  if (!heads) {
    throw ModelError("cannot tell the number of attention heads of layer " + std::to_string(layer) +
                     " (no head-count attribute, no (heads, head_dim) shape constant)");
  }
  return *heads;
}

void read_forward_signature(const torch::jit::Module& module, ModelSpec& spec) {
  spec.forward_args = forward_arg_names(module);
  for (const auto& arg : spec.forward_args) {
    const bool types = arg == "token_type_ids" && spec.type_vocab_size > 0;
    const bool decoder_ids = arg == "decoder_input_ids" && spec.encoder_decoder;
    if (arg != "input_ids" && arg != "attention_mask" && !types && !decoder_ids) {
      throw ModelError("forward() takes '" + arg + "'; supported inputs are input_ids, attention_mask" +
                       (spec.type_vocab_size > 0 ? ", token_type_ids" : "") +
                       (spec.encoder_decoder ? ", decoder_input_ids" : ""));
    }
  }
  if (std::find(spec.forward_args.begin(), spec.forward_args.end(), "input_ids") == spec.forward_args.end()) {
    throw ModelError("forward() has no 'input_ids' argument");
  }
  spec.returns_tuple = forward_returns_tuple(module);
  spec.output_key = forward_output_key(module);
}

bool tied_copy(const Weights& w, const std::string& copy, const std::string& original) {
  auto a = w.find(copy), b = w.find(original);
  return a != w.end() && b != w.end() && a->second.sizes() == b->second.sizes() && torch::equal(a->second, b->second);
}

void read_label_tokens(const torch::jit::Module& module, ModelSpec& spec) {
  if (!module.hasattr("label_targets")) return;
  const auto targets = module.attr("label_targets").toTensor().to(torch::kLong).contiguous();
  for (int64_t k = 0; k < targets.size(0); ++k) {
    std::vector<int64_t> ids;
    for (int64_t t = 0; t < targets.size(1); ++t) {
      const int64_t id = targets[k][t].item<int64_t>();
      if (id >= 0) ids.push_back(id);
    }
    spec.label_tokens.push_back(ids);
  }
  spec.num_labels = static_cast<int>(spec.label_tokens.size());
}

}  // namespace lwm::import_support

#include "import_support.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>
#include <set>

#include "lwm/common/error.h"
#include "lwm/model/faithfulness.h"
#include "lwm/model/graph_facts.h"
#include "lwm/model/runner.h"

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

Pooling read_pooling(const torch::jit::Module& module, const ModelSpec& spec) {
  const int64_t T = std::min<int64_t>(8, spec.max_positions);
  if (T < 4 || spec.vocab_size < 2) return Pooling::RightmostNonPad;
  torch::NoGradGuard no_grad;
  auto gen = at::detail::createCPUGenerator(1);
  auto ids = torch::randint(0, spec.vocab_size - 1, {2, T}, gen, torch::kLong);
  ids += ids.ge(spec.pad_token_id).to(torch::kLong);  // never the pad id
  const std::vector<int64_t> first_pad = {2, T - 3};
  auto cut = ids.clone();
  auto cut_mask = torch::ones({2, T}, torch::kLong);
  for (int64_t b = 0; b < 2; ++b) {
    ids[b][first_pad[b]] = spec.pad_token_id;
    cut[b].narrow(0, first_pad[b], T - first_pad[b]).fill_(spec.pad_token_id);
    cut_mask[b].narrow(0, first_pad[b], T - first_pad[b]).fill_(0);
  }
  ModelRunner runner(module);
  const auto types = torch::zeros_like(ids);
  torch::Tensor inside, before;
  try {
    inside = runner.logits(ids, torch::ones_like(ids), types);
    before = runner.logits(cut, cut_mask, types);
  } catch (const c10::Error& e) {
    throw ModelError(std::string("forward() fails on a probe batch of 2 x ") + std::to_string(T) +
                     " tokens: " + e.what_without_backtrace());
  }
  const double diff = inside.sizes() == before.sizes() ? (inside - before).abs().max().item<double>()
                                                       : std::numeric_limits<double>::infinity();
  spdlog::debug("pooling probe: max |logit difference| {} between texts holding the pad id and the texts cut there", diff);
  return diff <= kFaithfulnessTolerance ? Pooling::BeforeFirstPad : Pooling::RightmostNonPad;
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

ParamNames bert_model_names(const std::string& root) {
  ParamNames n;
  n.word_embeddings = root + ".embeddings.word_embeddings";
  n.position_embeddings = root + ".embeddings.position_embeddings";
  n.token_type_embeddings = root + ".embeddings.token_type_embeddings";
  n.embedding_norm = root + ".embeddings.LayerNorm";
  n.layer_prefix = root + ".encoder.layer.";
  n.query = "attention.self.query";
  n.key = "attention.self.key";
  n.value = "attention.self.value";
  n.attn_out = "attention.output.dense";
  n.attn_norm = "attention.output.LayerNorm";
  n.ffn_in = "intermediate.dense";
  n.ffn_out = "output.dense";
  n.ffn_norm = "output.LayerNorm";
  return n;
}

void read_separate_qkv_layers(const torch::jit::Module& module, const Weights& w, ModelSpec& spec,
                         const std::string& attention_path) {
  const auto& n = spec.names;
  const int num_layers = count_layers(w, n.layer_prefix);
  for (int l = 0; l < num_layers; ++l) {
    for (const auto* m : {&n.query, &n.key, &n.value, &n.attn_out, &n.attn_norm, &n.ffn_in, &n.ffn_out, &n.ffn_norm}) {
      need(w, spec.layer_param(l, *m, "weight"));
      need(w, spec.layer_param(l, *m, "bias"));
    }
    const int qk_width = static_cast<int>(need(w, spec.layer_param(l, n.query, "weight")).size(0));
    const int heads = attention_heads_of(module, spec, l, attention_path, qk_width);
    LayerSpec layer;
    layer.heads = heads;
    layer.head_dim = heads > 0 ? qk_width / heads : 0;
    layer.ffn = static_cast<int>(need(w, spec.layer_param(l, n.ffn_in, "weight")).size(0));
    spec.layers.push_back(layer);
  }
}

void read_layer_activation(const torch::jit::Module& module, ModelSpec& spec) {
  auto layer0 = find_submodule(module, spec.names.layer_prefix + "0");
  if (!layer0) throw ModelError("no module '" + spec.names.layer_prefix + "0'");
  const auto act = activation_facts(*layer0);
  if (!act.gelu_approximate.empty()) {
    spec.activation = act.gelu_approximate.front() == "tanh" ? Activation::GeluTanh : Activation::GeluErf;
  } else if (act.relu) {
    spec.activation = Activation::Relu;
  } else {
    spdlog::warn("no activation found in the graph of layer 0; assuming the {} default, {}", to_string(spec.family),
                 to_string(spec.activation));
  }
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

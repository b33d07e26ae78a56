// BERT, RoBERTa and DistilBERT sequence classifiers, as Hugging Face names them.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "lwm/common/error.h"
#include "lwm/model/graph_facts.h"
#include "lwm/model/importer.h"

namespace lwm {
namespace {

struct Variant {
  Family family;
  ParamNames names;
  std::string attention_module;  // relative to a layer: where the head count lives
  double default_eps;
};

Variant bert_variant(const std::string& root) {
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
  if (root == "roberta") {
    n.head_dense = "classifier.dense";
    n.head_out = "classifier.out_proj";
    return {Family::Roberta, n, "attention.self", 1e-5};
  }
  n.head_dense = root + ".pooler.dense";
  n.head_out = "classifier";
  return {Family::Bert, n, "attention.self", 1e-12};
}

Variant distilbert_variant() {
  ParamNames n;
  n.word_embeddings = "distilbert.embeddings.word_embeddings";
  n.position_embeddings = "distilbert.embeddings.position_embeddings";
  n.embedding_norm = "distilbert.embeddings.LayerNorm";
  n.layer_prefix = "distilbert.transformer.layer.";
  n.query = "attention.q_lin";
  n.key = "attention.k_lin";
  n.value = "attention.v_lin";
  n.attn_out = "attention.out_lin";
  n.attn_norm = "sa_layer_norm";
  n.ffn_in = "ffn.lin1";
  n.ffn_out = "ffn.lin2";
  n.ffn_norm = "output_layer_norm";
  n.head_dense = "pre_classifier";
  n.head_out = "classifier";
  return {Family::DistilBert, n, "attention", 1e-12};
}

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
    throw ModelError("encoder layers under '" + prefix + "' are not numbered 0..N-1");
  }
  return n;
}

// RoBERTa counts positions from padding_idx + 1; the traced/scripted graph compares input_ids with padding_idx.
int padding_idx_from_graph(const torch::jit::Module& embeddings, int fallback) {
  const auto ne = c10::Symbol::fromQualString("aten::ne");
  for (const auto& m : embeddings.modules()) {
    for (const auto& method : m.get_methods()) {
      for (auto* node : method.graph()->nodes()) {
        if (node->kind() != ne || node->inputs().size() < 2) continue;
        auto v = torch::jit::toIValue(node->input(1));
        if (v && v->isInt()) return static_cast<int>(v->toInt());
      }
    }
  }
  for (const auto& m : embeddings.modules()) {
    if (m.hasattr("padding_idx") && m.attr("padding_idx").isInt()) return static_cast<int>(m.attr("padding_idx").toInt());
  }
  return fallback;
}

class BertFamilyImporter : public FamilyImporter {
 public:
  std::string name() const override { return "bert-family"; }
  std::string signature() const override {
    return "BERT 'bert.encoder.layer.N', RoBERTa 'roberta.encoder.layer.N', DistilBERT "
           "'distilbert.transformer.layer.N'";
  }

  bool recognises(const Weights& w) const override {
    return has_prefix(w, "bert.encoder.layer.") || has_prefix(w, "roberta.encoder.layer.") ||
           has_prefix(w, "distilbert.transformer.layer.");
  }

  ModelSpec import(const torch::jit::Module& module, const Weights& w) const override {
    Variant v = has_prefix(w, "distilbert.transformer.layer.") ? distilbert_variant()
                : has_prefix(w, "roberta.encoder.layer.")      ? bert_variant("roberta")
                                                               : bert_variant("bert");
    ModelSpec spec;
    spec.family = v.family;
    spec.names = v.names;
    const auto& n = spec.names;

    const auto& word = need(w, n.word_embeddings + ".weight");
    spec.vocab_size = static_cast<int>(word.size(0));
    spec.hidden = static_cast<int>(word.size(1));
    spec.max_positions = static_cast<int>(need(w, n.position_embeddings + ".weight").size(0));
    if (!n.token_type_embeddings.empty()) {
      spec.type_vocab_size = static_cast<int>(need(w, n.token_type_embeddings + ".weight").size(0));
    }
    need(w, n.embedding_norm + ".weight");
    need(w, n.head_dense + ".weight");
    spec.num_labels = static_cast<int>(need(w, n.head_out + ".weight").size(0));
    spec.head = v.family == Family::Bert      ? HeadType::PoolerClassifier
                : v.family == Family::Roberta ? HeadType::RobertaClassifier
                                              : HeadType::PreClassifier;

    const int num_layers = count_layers(w, n.layer_prefix);
    for (int l = 0; l < num_layers; ++l) {
      for (const auto* m : {&n.query, &n.key, &n.value, &n.attn_out, &n.attn_norm, &n.ffn_in, &n.ffn_out, &n.ffn_norm}) {
        need(w, spec.layer_param(l, *m, "weight"));
        need(w, spec.layer_param(l, *m, "bias"));
      }
      const std::string layer_path = n.layer_prefix + std::to_string(l);
      auto layer_module = find_submodule(module, layer_path);
      if (!layer_module) throw ModelError("no module '" + layer_path + "'");
      const int qk_width = static_cast<int>(need(w, spec.layer_param(l, n.query, "weight")).size(0));
      auto heads = attention_heads(*layer_module, {"num_attention_heads", "n_heads", "num_heads"}, qk_width);
      if (!heads) {
        throw ModelError("cannot tell the number of attention heads of layer " + std::to_string(l) +
                         " (no head-count attribute, no (heads, head_dim) shape constant)");
      }
      LayerSpec layer;
      layer.heads = *heads;
      layer.head_dim = *heads > 0 ? qk_width / *heads : 0;
      layer.ffn = static_cast<int>(need(w, spec.layer_param(l, n.ffn_in, "weight")).size(0));
      spec.layers.push_back(layer);
    }

    auto eps = layer_norm_eps(module);
    spec.norm_eps = v.default_eps;
    auto layer0_module = find_submodule(module, n.layer_prefix + "0");
    if (eps.empty() && layer0_module && layer0_module->hasattr("eps") && layer0_module->attr("eps").isDouble()) {
      eps.push_back(layer0_module->attr("eps").toDouble());  // lwm's own models keep eps as an attribute
    }
    if (eps.empty()) {
      spdlog::warn("no LayerNorm epsilon found in the graph; using the {} default {}", to_string(v.family),
                   v.default_eps);
    } else {
      spec.norm_eps = eps.front();
    }

    auto layer0 = find_submodule(module, n.layer_prefix + "0");
    auto act = activation_facts(*layer0);
    if (!act.gelu_approximate.empty()) {
      spec.activation = act.gelu_approximate.front() == "tanh" ? Activation::GeluTanh : Activation::GeluErf;
    } else if (act.relu) {
      spec.activation = Activation::Relu;
    } else {
      spdlog::warn("no activation found in the graph of layer 0; assuming erf GELU");
    }

    if (v.family == Family::Roberta) {
      spec.positions = PositionScheme::PaddingOffset;
      const std::string embeddings_path = n.word_embeddings.substr(0, n.word_embeddings.rfind('.'));
      auto embeddings = find_submodule(module, embeddings_path);
      spec.pad_token_id = embeddings ? padding_idx_from_graph(*embeddings, 1) : 1;
    }

    spec.forward_args = forward_arg_names(module);
    for (const auto& arg : spec.forward_args) {
      if (arg != "input_ids" && arg != "attention_mask" && arg != "token_type_ids") {
        throw ModelError("forward() takes '" + arg +
                         "'; supported inputs are input_ids, attention_mask, token_type_ids");
      }
    }
    if (std::find(spec.forward_args.begin(), spec.forward_args.end(), "input_ids") == spec.forward_args.end()) {
      throw ModelError("forward() has no 'input_ids' argument");
    }
    spec.returns_tuple = forward_returns_tuple(module);
    return spec;
  }
};

}  // namespace

std::unique_ptr<FamilyImporter> make_bert_family_importer() { return std::make_unique<BertFamilyImporter>(); }

}  // namespace lwm

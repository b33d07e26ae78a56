// GPT-2 (Hugging Face GPT2ForSequenceClassification and GPT2LMHeadModel): pre-LN decoder layers with one
// fused Q|K|V projection (Conv1D, weights stored [in, out]), causal attention, gelu_new. The classifier has
// a bias-free `score` on the last non-padding token; the language model an `lm_head` tied to `wte` (shared,
// or a copy of it) or untied, with which lwm classifies by the task's label words (HeadType::LabelWords: each
// label word's log-probability as the next token).
#include <spdlog/spdlog.h>

#include "import_support.h"
#include "lwm/common/error.h"
#include "lwm/model/graph_facts.h"
#include "lwm/model/importer.h"

namespace lwm {
namespace {

using namespace import_support;

ParamNames gpt2_names() {
  ParamNames n;
  n.word_embeddings = "transformer.wte";
  n.position_embeddings = "transformer.wpe";
  n.layer_prefix = "transformer.h.";
  n.qkv = "attn.c_attn";
  n.attn_out = "attn.c_proj";
  n.attn_norm = "ln_1";
  n.ffn_in = "mlp.c_fc";
  n.ffn_out = "mlp.c_proj";
  n.ffn_norm = "ln_2";
  n.final_norm = "transformer.ln_f";
  n.head_out = "score";
  return n;
}

class Gpt2Importer : public FamilyImporter {
 public:
  std::string name() const override { return "gpt2"; }
  std::string signature() const override { return "GPT-2 'transformer.h.N.attn.c_attn' with 'score' or 'lm_head'"; }

  bool recognises(const Weights& w) const override {
    return has_prefix(w, "transformer.h.") && has_prefix(w, "transformer.wte.");
  }

  ModelSpec import(const torch::jit::Module& module, const Weights& w) const override {
    ModelSpec spec;
    spec.family = Family::Gpt2;
    spec.names = gpt2_names();
    spec.norm = NormPlacement::Pre;
    spec.causal = true;
    spec.transposed_weights = true;
    spec.head = HeadType::LastToken;
    spec.head_out_bias = false;
    spec.type_vocab_size = 0;
    const auto& n = spec.names;

    const auto& word = need(w, n.word_embeddings + ".weight");
    spec.vocab_size = static_cast<int>(word.size(0));
    spec.hidden = spec.embedding_width = static_cast<int>(word.size(1));
    spec.max_positions = static_cast<int>(need(w, n.position_embeddings + ".weight").size(0));
    need(w, n.final_norm + ".weight");
    if (w.count(n.head_out + ".weight")) {
      spec.num_labels = static_cast<int>(w.at(n.head_out + ".weight").size(0));
      spec.head_out_bias = w.count(n.head_out + ".bias") > 0;
    } else if (w.count("lm_head.weight") || module.hasattr("lm_head") || module.hasattr("label_targets")) {
      // The language model: its LM head is the word embedding (tied: shared, so not a parameter of its
      // own, or cloned), else its own lm_head. Label words come from the task (or the file lwm wrote).
      spec.head = HeadType::LabelWords;
      spec.names.head_out.clear();
      if (w.count("lm_head.weight") && !tied_copy(w, "lm_head.weight", n.word_embeddings + ".weight")) {
        spec.names.lm_head = "lm_head";
      }
      spec.num_labels = 0;
      read_label_tokens(module, spec);
    } else {
      throw ModelError("no head: neither 'score' (GPT2ForSequenceClassification) nor 'lm_head' (GPT2LMHeadModel)");
    }

    const int num_layers = count_layers(w, n.layer_prefix);
    for (int l = 0; l < num_layers; ++l) {
      for (const auto* m : {&n.qkv, &n.attn_out, &n.attn_norm, &n.ffn_in, &n.ffn_out, &n.ffn_norm}) {
        need(w, spec.layer_param(l, *m, "weight"));
        need(w, spec.layer_param(l, *m, "bias"));
      }
      const auto& qkv = need(w, spec.layer_param(l, n.qkv, "weight"));  // [hidden, 3 * A]
      if (qkv.dim() != 2 || qkv.size(0) != spec.hidden || qkv.size(1) % 3 != 0) {
        throw ModelError("'" + spec.layer_param(l, n.qkv, "weight") + "' is not a fused [hidden, 3 x width] Q|K|V");
      }
      const int width = static_cast<int>(qkv.size(1) / 3);
      const int heads = attention_heads_of(module, spec, l, "attn", width);
      LayerSpec layer;
      layer.heads = heads;
      layer.head_dim = heads > 0 ? width / heads : 0;
      layer.ffn = static_cast<int>(need(w, spec.layer_param(l, n.ffn_in, "weight")).size(1));
      spec.layers.push_back(layer);
    }
    spec.norm_eps = norm_eps(module, spec, 1e-5);

    auto layer0 = find_submodule(module, n.layer_prefix + "0");
    auto act = activation_facts(*layer0);
    if (!act.gelu_approximate.empty()) {
      spec.activation = act.gelu_approximate.front() == "tanh" ? Activation::GeluTanh : Activation::GeluErf;
    } else if (act.relu) {
      spec.activation = Activation::Relu;
    } else {
      // Hugging Face writes gelu_new out as 0.5 x (1 + tanh(sqrt(2/pi)(x + 0.044715 x^3))).
      if (!act.tanh) spdlog::warn("no activation found in the graph of layer 0; assuming gelu_new (tanh)");
      spec.activation = Activation::GeluTanh;
    }

    // The classifier finds each row's last token by comparing input_ids with pad_token_id; GPT-2
    // pads with its end-of-text token, the vocabulary's last id.
    // (The language model pads with it too; it finds each row's last token by the attention mask.)
    auto pad = compared_id(module, {"pad_token_id"});
    if (!pad && spec.head == HeadType::LastToken) spdlog::warn("no pad token id found in the graph; assuming GPT-2's end-of-text id {}", spec.vocab_size - 1);
    spec.pad_token_id = pad.value_or(spec.vocab_size - 1);
    read_forward_signature(module, spec);
    return spec;
  }
};

}  // namespace

std::unique_ptr<FamilyImporter> make_gpt2_importer() { return std::make_unique<Gpt2Importer>(); }

}  // namespace lwm

// OPT sequence classifiers (Hugging Face OPTForSequenceClassification): decoder layers with separate
// q/k/v projections, learned positions counted by the attention mask from offset 2, ReLU, pre-LN
// (do_layer_norm_before, with a final norm) or post-LN, optional project_in/project_out when the
// embedding is narrower than the layers, and a bias-free `score` on the last non-padding token.
#include <spdlog/spdlog.h>

#include "import_support.h"
#include "lwm/common/error.h"
#include "lwm/model/graph_facts.h"
#include "lwm/model/importer.h"

namespace lwm {
namespace {

using namespace import_support;

// OPTLearnedPositionalEmbedding's table starts 2 rows in (fairseq's padding offset).
constexpr int kOptPositionOffset = 2;

ParamNames opt_names(const Weights& w) {
  ParamNames n;
  n.word_embeddings = "model.decoder.embed_tokens";
  n.position_embeddings = "model.decoder.embed_positions";
  n.layer_prefix = "model.decoder.layers.";
  n.query = "self_attn.q_proj";
  n.key = "self_attn.k_proj";
  n.value = "self_attn.v_proj";
  n.attn_out = "self_attn.out_proj";
  n.attn_norm = "self_attn_layer_norm";
  n.ffn_in = "fc1";
  n.ffn_out = "fc2";
  n.ffn_norm = "final_layer_norm";
  if (w.count("model.decoder.final_layer_norm.weight")) n.final_norm = "model.decoder.final_layer_norm";
  if (w.count("model.decoder.project_in.weight")) n.project_in = "model.decoder.project_in";
  if (w.count("model.decoder.project_out.weight")) n.project_out = "model.decoder.project_out";
  n.head_out = "score";
  return n;
}

// Pre-LN (do_layer_norm_before=True) normalises a layer's input before attention: in the graph of
// layer 0, self_attn_layer_norm runs before any q/k/v projection. Post-LN runs it after out_proj.
NormPlacement norm_placement(const torch::jit::Module& layer0, bool has_final_norm) {
  const auto layer_norm = c10::Symbol::fromQualString("aten::layer_norm");
  const auto call_method = c10::Symbol::fromQualString("prim::CallMethod");
  const auto linear = c10::Symbol::fromQualString("aten::linear");
  // lwm's own models say so in an attribute.
  if (layer0.hasattr("pre_norm") && layer0.attr("pre_norm").isBool()) {
    return layer0.attr("pre_norm").toBool() ? NormPlacement::Pre : NormPlacement::Post;
  }
  // Scripted Hugging Face layers keep the config flag (and branch on it in the graph).
  if (layer0.hasattr("do_layer_norm_before") && layer0.attr("do_layer_norm_before").isBool()) {
    return layer0.attr("do_layer_norm_before").toBool() ? NormPlacement::Pre : NormPlacement::Post;
  }
  auto forward = layer0.find_method("forward");
  if (forward) {
    for (auto* node : forward->graph()->nodes()) {
      // Traced modules call their children (self_attn_layer_norm, self_attn, ...) by CallMethod; the
      // first child called on the layer's input tells which comes first.
      if (node->kind() == call_method && node->inputs().size() > 0) {
        auto type = node->input(0)->type()->cast<c10::ClassType>();
        if (!type || !type->name()) continue;
        const std::string cls = type->name()->name();
        if (cls.find("LayerNorm") != std::string::npos) return NormPlacement::Pre;
        if (cls.find("Attention") != std::string::npos) return NormPlacement::Post;
      }
      if (node->kind() == layer_norm) return NormPlacement::Pre;
      if (node->kind() == linear) return NormPlacement::Post;
    }
  }
  // Hugging Face keeps the decoder's final_layer_norm only when do_layer_norm_before.
  return has_final_norm ? NormPlacement::Pre : NormPlacement::Post;
}

class OptImporter : public FamilyImporter {
 public:
  std::string name() const override { return "opt"; }
  std::string signature() const override { return "OPT 'model.decoder.layers.N.self_attn' with 'score'"; }

  bool recognises(const Weights& w) const override { return has_prefix(w, "model.decoder.layers."); }

  ModelSpec import(const torch::jit::Module& module, const Weights& w) const override {
    if (has_prefix(w, "model.encoder.")) {
      throw ModelError("an encoder-decoder 'model.encoder' + 'model.decoder' is not OPT (BART-like models are not supported)");
    }
    ModelSpec spec;
    spec.family = Family::Opt;
    spec.names = opt_names(w);
    spec.causal = true;
    spec.positions = PositionScheme::MaskOffset;
    spec.position_offset = kOptPositionOffset;
    spec.head = HeadType::LastToken;
    spec.activation = Activation::Relu;
    const auto& n = spec.names;

    const auto& word = need(w, n.word_embeddings + ".weight");
    spec.vocab_size = static_cast<int>(word.size(0));
    spec.embedding_width = static_cast<int>(word.size(1));
    const auto& positions = need(w, n.position_embeddings + ".weight");
    spec.hidden = static_cast<int>(positions.size(1));
    spec.max_positions = static_cast<int>(positions.size(0)) - kOptPositionOffset;
    if (spec.embedding_width != spec.hidden && (n.project_in.empty() || n.project_out.empty())) {
      throw ModelError("the embedding is " + std::to_string(spec.embedding_width) + " wide and the layers " +
                       std::to_string(spec.hidden) + ", but project_in/project_out are missing");
    }
    const auto& score = need(w, n.head_out + ".weight");
    spec.num_labels = static_cast<int>(score.size(0));
    spec.head_out_bias = w.count(n.head_out + ".bias") > 0;

    read_separate_qkv_layers(module, w, spec, "self_attn");
    auto layer0 = find_submodule(module, n.layer_prefix + "0");
    if (!layer0) throw ModelError("no module '" + n.layer_prefix + "0'");
    spec.norm = norm_placement(*layer0, !n.final_norm.empty());
    spec.norm_eps = norm_eps(module, spec, 1e-5);
    read_layer_activation(module, spec);  // OPT's ReLU (set above) unless the graph says GELU

    auto pad = compared_id(module, {"pad_token_id"});
    if (!pad) spdlog::warn("no pad token id found in the graph; assuming OPT's 1");
    spec.pad_token_id = pad.value_or(1);
    read_forward_signature(module, spec);
    return spec;
  }
};

}  // namespace

std::unique_ptr<FamilyImporter> make_opt_importer() { return std::make_unique<OptImporter>(); }

}  // namespace lwm

// T5 (Hugging Face T5ForConditionalGeneration): an encoder and a decoder stack of pre-norm blocks with
// RMS norms, bias-free projections, no attention scaling and a bucketed relative position bias computed
// from a table in each stack's first block; the decoder adds cross-attention; the LM head is the shared
// embedding (rescaled by d_model^-0.5) or an untied lm_head (T5 v1.1). lwm classifies with it by rank
// classification of the task's label words (HeadType::LabelWords); their token ids are filled in from
// the tokenizer when the task is known (pipeline/task_data), or read back from a model lwm wrote.
#include <spdlog/spdlog.h>

#include <cmath>

#include "import_support.h"
#include "lwm/common/error.h"
#include "lwm/model/graph_facts.h"
#include "lwm/model/importer.h"

namespace lwm {
namespace {

using namespace import_support;

ParamNames stack_names(const std::string& stack, bool decoder, bool gated) {
  const std::string ff = decoder ? "layer.2." : "layer.1.";
  ParamNames n;
  n.word_embeddings = "shared";
  n.layer_prefix = stack + ".block.";
  n.query = "layer.0.SelfAttention.q";
  n.key = "layer.0.SelfAttention.k";
  n.value = "layer.0.SelfAttention.v";
  n.attn_out = "layer.0.SelfAttention.o";
  n.attn_norm = "layer.0.layer_norm";
  n.relative_bias = "layer.0.SelfAttention.relative_attention_bias";
  if (decoder) {
    n.cross_query = "layer.1.EncDecAttention.q";
    n.cross_key = "layer.1.EncDecAttention.k";
    n.cross_value = "layer.1.EncDecAttention.v";
    n.cross_out = "layer.1.EncDecAttention.o";
    n.cross_norm = "layer.1.layer_norm";
  }
  n.ffn_in = ff + (gated ? "DenseReluDense.wi_0" : "DenseReluDense.wi");
  if (gated) n.ffn_gate = ff + "DenseReluDense.wi_1";
  n.ffn_out = ff + "DenseReluDense.wo";
  n.ffn_norm = ff + "layer_norm";
  n.final_norm = stack + ".final_layer_norm";
  return n;
}

int64_t rows(const Weights& w, const std::string& name) { return need(w, name).size(0); }

// relative_attention_max_distance: an attribute of a scripted model's attention modules; HF's 128 otherwise
// (every released T5 uses it; the faithfulness check catches a model that does not).
int relative_max_distance(const torch::jit::Module& module) {
  for (const auto& sub : module.named_modules()) {
    if (sub.value.hasattr("relative_attention_max_distance")) {
      const auto v = sub.value.attr("relative_attention_max_distance");
      if (v.isInt()) return static_cast<int>(v.toInt());
    }
  }
  return 128;
}

// The layer's head count: the bias table's, unless lwm pruned heads of this layer and recorded which of
// the table's heads are left (its `bias_heads` buffer).
int layer_heads(const torch::jit::Module& module, ModelSpec& spec, int layer, int table_heads) {
  auto m = find_submodule(module, spec.layer_path(layer));
  if (!m || !m->hasattr("bias_heads")) return table_heads;
  const auto kept = m->attr("bias_heads").toTensor().to(torch::kLong).contiguous();
  std::vector<int> heads(kept.data_ptr<int64_t>(), kept.data_ptr<int64_t>() + kept.numel());
  bool identity = static_cast<int>(heads.size()) == table_heads;
  for (size_t h = 0; h < heads.size(); ++h) {
    if (heads[h] < 0 || heads[h] >= table_heads) throw ModelError("layer " + spec.layer_path(layer) + " names bias head " + std::to_string(heads[h]) + " of " + std::to_string(table_heads));
    identity = identity && heads[h] == static_cast<int>(h);
  }
  if (!identity) spec.layers.at(layer).bias_heads = heads;
  return static_cast<int>(heads.size());
}

class T5Importer : public FamilyImporter {
 public:
  std::string name() const override { return "t5"; }
  std::string signature() const override {
    return "T5 'shared' with 'encoder.block.N.layer.0.SelfAttention.q' and 'decoder.block.N'";
  }

  bool recognises(const Weights& w) const override {
    return w.count("shared.weight") > 0 && has_prefix(w, "encoder.block.");
  }

  ModelSpec import(const torch::jit::Module& module, const Weights& w) const override {
    if (!has_prefix(w, "decoder.block.")) {
      throw ModelError("a T5 encoder without a decoder (T5EncoderModel) has no head to classify with; lwm "
                       "compresses T5ForConditionalGeneration");
    }
    const bool gated = has_prefix(w, "encoder.block.0.layer.1.DenseReluDense.wi_0.");
    ModelSpec spec;
    spec.family = Family::T5;
    spec.encoder_decoder = true;
    spec.names = stack_names("encoder", false, gated);
    spec.decoder_names = stack_names("decoder", true, gated);
    spec.norm = NormPlacement::Pre;
    spec.norm_kind = NormKind::RmsNorm;
    spec.linear_bias = false;
    spec.attention_scaling = false;
    spec.head = HeadType::LabelWords;
    spec.head_out_bias = false;
    spec.type_vocab_size = 0;
    spec.positions = PositionScheme::Absolute;  // unused: positions are relative
    // Hugging Face: "gated-gelu" is gelu_new (T5 v1.1, flan-t5); the original T5 is wi + ReLU.
    spec.activation = gated ? Activation::GeluTanh : Activation::Relu;
    spec.norm_eps = 1e-6;
    spec.max_positions = 512;  // no position table (relative positions); Hugging Face T5 n_positions

    const auto& shared = need(w, "shared.weight");
    spec.vocab_size = static_cast<int>(shared.size(0));
    spec.hidden = spec.embedding_width = static_cast<int>(shared.size(1));
    if (w.count("lm_head.weight") && !tied_copy(w, "lm_head.weight", "shared.weight")) {
      spec.names.lm_head = "lm_head";  // untied (T5 v1.1): no rescale
    } else if (module.hasattr("output_scale") && module.attr("output_scale").isDouble()) {
      spec.output_scale = module.attr("output_scale").toDouble();  // lwm's: the teacher's, whatever hidden is now
    } else {
      // Tied: the original T5 rescales the decoder output by d_model^-0.5 first; T5 v1.1 as transformers 5
      // exports it (tied too) does not. The export's forward() says which.
      const double rescale = 1.0 / std::sqrt(static_cast<double>(spec.hidden));
      spec.output_scale = 1.0;
      for (double f : top_level_constant_factors(module)) {
        if (std::abs(f - rescale) <= 1e-6 * rescale) spec.output_scale = rescale;
      }
    }

    // The relative bias tables give the head counts: [buckets, heads] in each stack's first block.
    const auto& enc_table = need(w, "encoder.block.0." + spec.names.relative_bias + ".weight");
    const auto& dec_table = need(w, "decoder.block.0." + spec.decoder_names.relative_bias + ".weight");
    spec.relative_buckets = static_cast<int>(enc_table.size(0));
    if (dec_table.size(0) != enc_table.size(0)) throw ModelError("the encoder and decoder relative bias tables differ in buckets");
    spec.relative_max_distance = relative_max_distance(module);

    const int enc_layers = count_layers(w, spec.names.layer_prefix);
    const int dec_layers = count_layers(w, spec.decoder_names.layer_prefix);
    for (int stack = 0; stack < 2; ++stack) {
      const bool decoder = stack == 1;
      const int table_heads = static_cast<int>((decoder ? dec_table : enc_table).size(1));
      for (int i = 0; i < (decoder ? dec_layers : enc_layers); ++i) {
        LayerSpec layer;
        layer.decoder = decoder;
        spec.layers.push_back(layer);
        const int l = spec.num_layers() - 1;
        const int heads = layer_heads(module, spec, l, table_heads);
        spec.layers.back().heads = heads;
        const ParamNames& n = spec.names_of(l);
        const int64_t width = rows(w, spec.layer_param(l, n.query, "weight"));
        if (heads <= 0 || width % heads != 0) {
          throw ModelError("'" + spec.layer_param(l, n.query, "weight") + "' is " + std::to_string(width) +
                           " wide, not a multiple of the " + std::to_string(heads) + " heads of the bias table");
        }
        spec.layers.back().head_dim = static_cast<int>(width / heads);
        spec.layers.back().ffn = static_cast<int>(rows(w, spec.layer_param(l, n.ffn_in, "weight")));
        std::vector<const std::string*> modules = {&n.key, &n.value, &n.attn_out, &n.attn_norm, &n.ffn_out, &n.ffn_norm};
        if (decoder) {
          spec.layers.back().cross_heads = static_cast<int>(rows(w, spec.layer_param(l, n.cross_query, "weight")) /
                                                            spec.layers.back().head_dim);
          for (const auto* m : {&n.cross_key, &n.cross_value, &n.cross_out, &n.cross_norm}) modules.push_back(m);
        }
        if (!n.ffn_gate.empty()) modules.push_back(&n.ffn_gate);
        for (const auto* m : modules) need(w, spec.layer_param(l, *m, "weight"));
      }
    }
    need(w, spec.names.final_norm + ".weight");
    need(w, spec.decoder_names.final_norm + ".weight");

    // HF T5 pads with 0 and starts decoding with the pad id (decoder_start_token_id = 0).
    spec.pad_token_id = 0;
    spec.decoder_start_token_id = 0;
    read_forward_signature(module, spec);
    read_label_tokens(module, spec);
    return spec;
  }
};

}  // namespace

std::unique_ptr<FamilyImporter> make_t5_importer() { return std::make_unique<T5Importer>(); }

}  // namespace lwm

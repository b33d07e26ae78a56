// BERT, RoBERTa (and XLM-RoBERTa, which has RoBERTa's names) and DistilBERT sequence classifiers, as Hugging
// Face names them.
#include "lwm/common/error.h"
#include "lwm/model/graph_facts.h"
#include "lwm/model/importer.h"
#include "import_support.h"

namespace lwm {
namespace {

using namespace import_support;

struct Variant {
  Family family;
  ParamNames names;
  std::string attention_module;  // relative to a layer: where the head count lives
  double default_eps;
};

Variant bert_variant(const std::string& root) {
  ParamNames n = bert_model_names(root);
  if (root == "roberta") {
    n.head_dense = "classifier.dense";
    n.head_out = "classifier.out_proj";
    return {Family::Roberta, n, "attention.self", 1e-5};
  }
  n.head_dense = root + ".pooler.dense";
  n.head_out = "classifier";
  return {Family::Bert, n, "attention.self", 1e-12};
}

// XLM-R's classes keep RoBERTa's module tree and parameter names: the file's class name tells them apart
// (XLMRobertaForSequenceClassification, in a traced or scripted export), or, in a model lwm wrote, the family
// it recorded (spec.h, kFamilyAttribute).
bool is_xlm_roberta(const torch::jit::Module& module) {
  if (module.hasattr(kFamilyAttribute) && module.attr(kFamilyAttribute).isString()) {
    return module.attr(kFamilyAttribute).toStringRef() == to_string(Family::XlmRoberta);
  }
  const auto name = module.type()->name();
  return name && name->qualifiedName().find("XLMRoberta") != std::string::npos;
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

class BertFamilyImporter : public FamilyImporter {
 public:
  std::string name() const override { return "bert-family"; }
  std::string signature() const override {
    return "BERT 'bert.encoder.layer.N', RoBERTa and XLM-R 'roberta.encoder.layer.N', DistilBERT "
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
    spec.embedding_width = spec.hidden;
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
    spec.head_activation = v.family == Family::DistilBert ? Activation::Relu : Activation::Tanh;

    read_separate_qkv_layers(module, w, spec, v.attention_module);
    spec.norm_eps = norm_eps(module, spec, v.default_eps);
    read_layer_activation(module, spec);

    if (v.family == Family::Roberta) {
      if (is_xlm_roberta(module)) spec.family = Family::XlmRoberta;
      spec.positions = PositionScheme::PaddingOffset;
      const std::string embeddings_path = n.word_embeddings.substr(0, n.word_embeddings.rfind('.'));
      auto embeddings = find_submodule(module, embeddings_path);
      spec.pad_token_id = embeddings ? compared_id(*embeddings, {"padding_idx"}).value_or(1) : 1;
    }

    read_forward_signature(module, spec);
    return spec;
  }
};

}  // namespace

std::unique_ptr<FamilyImporter> make_bert_family_importer() { return std::make_unique<BertFamilyImporter>(); }

}  // namespace lwm

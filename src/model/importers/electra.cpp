// ELECTRA sequence classifiers (Hugging Face's ElectraForSequenceClassification): BERT's encoder layout with an
// embedding narrower than the layers (embedding_size, joined to hidden_size by `embeddings_project` after the
// embedding LayerNorm; absent when the two are equal, as in electra-base/large) and a classification head of
// dense + GELU + out_proj on token 0 (ElectraClassificationHead; BERT's pooler uses tanh).
#include "lwm/common/error.h"
#include "lwm/model/importer.h"
#include "import_support.h"

namespace lwm {
namespace {

using namespace import_support;

// Hugging Face's parameter names (modeling_electra.py): BertModel's tree under "electra", the projection between
// the embeddings and the encoder, and ElectraClassificationHead.
ParamNames electra_names() {
  ParamNames n = bert_model_names("electra");
  n.embedding_project = "electra.embeddings_project";
  n.head_dense = "classifier.dense";
  n.head_out = "classifier.out_proj";
  return n;
}

class ElectraImporter : public FamilyImporter {
 public:
  std::string name() const override { return "electra"; }
  std::string signature() const override { return "ELECTRA 'electra.encoder.layer.N'"; }

  bool recognises(const Weights& w) const override { return has_prefix(w, "electra.encoder.layer."); }

  ModelSpec import(const torch::jit::Module& module, const Weights& w) const override {
    ModelSpec spec;
    spec.family = Family::Electra;
    spec.names = electra_names();
    auto& n = spec.names;
    const auto& word = need(w, n.word_embeddings + ".weight");
    spec.vocab_size = static_cast<int>(word.size(0));
    spec.embedding_width = static_cast<int>(word.size(1));
    spec.max_positions = static_cast<int>(need(w, n.position_embeddings + ".weight").size(0));
    spec.type_vocab_size = static_cast<int>(need(w, n.token_type_embeddings + ".weight").size(0));
    need(w, n.embedding_norm + ".weight");
    if (w.count(n.embedding_project + ".weight")) {
      spec.hidden = static_cast<int>(need(w, n.embedding_project + ".weight").size(0));
    } else {
      n.embedding_project.clear();  // embedding_size == hidden_size
      spec.hidden = spec.embedding_width;
    }
    need(w, n.head_dense + ".weight");
    spec.num_labels = static_cast<int>(need(w, n.head_out + ".weight").size(0));
    spec.head = HeadType::RobertaClassifier;
    spec.head_activation = Activation::GeluErf;  // ElectraClassificationHead: get_activation("gelu")

    read_separate_qkv_layers(module, w, spec, "attention.self");
    if (spec.hidden != static_cast<int>(need(w, spec.layer_param(0, n.query, "weight")).size(1))) {
      throw ModelError("the embedding is " + std::to_string(spec.embedding_width) + " wide and the layers " +
                       std::to_string(need(w, spec.layer_param(0, n.query, "weight")).size(1)) +
                       ", but electra.embeddings_project is missing");
    }
    spec.norm_eps = norm_eps(module, spec, 1e-12);
    read_layer_activation(module, spec);
    read_forward_signature(module, spec);
    return spec;
  }
};

}  // namespace

std::unique_ptr<FamilyImporter> make_electra_importer() { return std::make_unique<ElectraImporter>(); }

}  // namespace lwm

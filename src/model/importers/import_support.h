#pragma once
// Helpers the family importers share: finding parameters by name, counting layers, and reading
// the facts that live in a TorchScript file's graphs (eps, pad id, forward signature).
#include <optional>
#include <string>

#include "lwm/model/importer.h"
#include "lwm/model/spec.h"

namespace lwm::import_support {

// Whether any parameter name starts with `prefix`.
bool has_prefix(const Weights& w, const std::string& prefix);

// The named parameter; ModelError "missing parameter '...'" if absent.
const torch::Tensor& need(const Weights& w, const std::string& name);

// Number of layers under `prefix` ("bert.encoder.layer."), which must be numbered 0..N-1.
int count_layers(const Weights& w, const std::string& prefix);

// The int constant that input ids are compared with by aten::ne / aten::eq in `module`'s graphs
// (RoBERTa's padding_idx, GPT-2's and OPT's pad_token_id for the last-token classifier), else an int
// attribute with one of `attr_names` on any submodule.
std::optional<int> compared_id(const torch::jit::Module& module, const std::vector<std::string>& attr_names);

// LayerNorm epsilon from the graph (or an `eps` attribute of layer 0, as lwm's own models keep it),
// else `fallback` with a warning.
double norm_eps(const torch::jit::Module& module, const ModelSpec& spec, double fallback);

// The head count of layer `layer`'s attention module at `attention_path` (relative to the layer),
// whose projections are `width` wide; ModelError if it cannot be told.
int attention_heads_of(const torch::jit::Module& module, const ModelSpec& spec, int layer,
                       const std::string& attention_path, int width);

// The names of Hugging Face's BertModel tree under `root` ("bert", "roberta", "electra"): the embeddings
// (<root>.embeddings.*) and the encoder layers (<root>.encoder.layer.N, attention.self.query ...), which
// RoBERTa and ELECTRA keep; the head is the caller's.
ParamNames bert_model_names(const std::string& root);

// The layers of a stack with separate q/k/v projections and biases (BERT, RoBERTa, DistilBERT, ELECTRA, OPT)
// named by spec.names, into spec.layers: each module's weight and bias must exist; heads from the attention
// module at `attention_path` (relative to a layer). ModelError naming what is missing.
void read_separate_qkv_layers(const torch::jit::Module& module, const Weights& w, ModelSpec& spec,
                         const std::string& attention_path);

// spec.activation from the graph of layer 0: gelu (erf or tanh) or relu; when the graph shows none, spec.activation
// stays as the importer set it (the family's default), with a warning.
void read_layer_activation(const torch::jit::Module& module, ModelSpec& spec);

// Whether parameter `copy` holds the same values as `original`: a tied weight that the export cloned
// (Hugging Face's torchscript=True clones the tied LM head instead of sharing the embedding's tensor).
bool tied_copy(const Weights& w, const std::string& copy, const std::string& original);

// A model lwm wrote keeps the token ids of the label words it was trained to score (buffer label_targets,
// [labels, tokens], -1 padded): into spec.label_tokens and num_labels. Nothing if it has none.
void read_label_tokens(const torch::jit::Module& module, ModelSpec& spec);

// The rule by which a LastToken head (GPT-2, OPT) picks the token it classifies (spec.h, Pooling), read from
// what the file computes rather than from its graph (a traced and a scripted file, or lwm's own student, spell
// the same rule differently). The probe is a batch of 2 rows of 8 random ids (fewer when spec.max_positions is
// smaller; none below 4: the default) with the pad id inside each text (at 2 and at 5), every token attended,
// and the same texts cut just before their pad id and right-padded. In a causal model the token before the first
// pad id depends on the cut text only, so the file's logits agree (within 1e-4) on the two batches exactly when
// it pools BeforeFirstPad; otherwise RightmostNonPad (the faithfulness check, whose batches hold the pad id
// inside texts, then tells whether the rebuild with that rule is the file). Needs spec's vocab_size,
// pad_token_id, max_positions and forward_args; ModelError when the file cannot run the probe.
Pooling read_pooling(const torch::jit::Module& module, const ModelSpec& spec);

// Fills spec.forward_args and spec.returns_tuple; ModelError on an input lwm cannot provide.
void read_forward_signature(const torch::jit::Module& module, ModelSpec& spec);

}  // namespace lwm::import_support

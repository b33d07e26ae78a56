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

// Whether parameter `copy` holds the same values as `original`: a tied weight that the export cloned
// (Hugging Face's torchscript=True clones the tied LM head instead of sharing the embedding's tensor).
bool tied_copy(const Weights& w, const std::string& copy, const std::string& original);

// A model lwm wrote keeps the token ids of the label words it was trained to score (buffer label_targets,
// [labels, tokens], -1 padded): into spec.label_tokens and num_labels. Nothing if it has none.
void read_label_tokens(const torch::jit::Module& module, ModelSpec& spec);

// Fills spec.forward_args and spec.returns_tuple; ModelError on an input lwm cannot provide.
void read_forward_signature(const torch::jit::Module& module, ModelSpec& spec);

}  // namespace lwm::import_support

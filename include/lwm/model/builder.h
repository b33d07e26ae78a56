#pragma once
// ModelSpec + weights -> a native TorchScript module, built from C++ with
// Module::define(). It keeps the teacher's parameter names (so its state dict
// loads where the teacher's did), forward signature and output structure, and
// reads every size from the spec, so layer removal and pruning need no graph surgery.
// Besides forward(), the module has forward_hidden(...) -> (logits, hidden states) for distillation, and a
// model that scores label words (T5, a GPT-2 LM; HeadType::LabelWords) once it has its label words also
// classify(input_ids, attention_mask) -> [B, labels] label scores. A LastToken head (GPT-2, OPT) classifies the
// token that spec.pooling names (the rule of the teacher's transformers version), so every student keeps it.
#include <torch/script.h>

#include <map>
#include <string>

#include "lwm/model/importer.h"
#include "lwm/model/spec.h"

namespace lwm {

// A model's int8 parts (compress/quantize.h, quantize_weights()): what BuildOptions::int8 builds.
struct Int8Weights {
  // Packed weights (LinearPackedParamsBase objects, for quantized::linear_dynamic) by projection module path,
  // and by kTiedLmHeadInt8 (model/torchscript_source.h) for a tied LM head. A projection not here stays fp32.
  std::map<std::string, c10::IValue> packed;
  // The shape of the fp32 weight each packed entry was made from, as the weights store it (the word
  // embedding's for a tied LM head): build_module refuses weights of another shape (quantized before shrinking).
  std::map<std::string, std::vector<int64_t>> shapes;
  torch::Tensor embedding;        // [vocab, E] int8: the word embedding, one symmetric scale per row
  torch::Tensor embedding_scale;  // [vocab, 1] float: row r is embedding[r] * embedding_scale[r]
};

struct BuildOptions {
  // Registers a float buffer `hidden_mask` [hidden] (ones) on the root and on every layer, and
  // normalises with a masked LayerNorm: mean and variance over the kept (mask 1) dimensions only,
  // output zero on the others. Hidden-dimension pruning needs it so that the masked model computes
  // exactly what the physically shrunk model (plain LayerNorm over fewer dims) will. See docs/pruning.md.
  bool hidden_mask = false;
  // int8 for CPU inference: the packed projections (and the int8 word embedding) that replace the fp32
  // weights, as compress/quantize.h's quantize_weights() makes them. Every method is kept (a T5 model's
  // classify() too). Not with hidden_mask. The result re-imports only through its kept spec.
  const Int8Weights* int8 = nullptr;
};

// The weights are copied: training the result never touches `weights`. The sources come from
// model/torchscript_source.h. ModelError if a weight the spec needs is missing or has the wrong shape
// (model/weight_check.h), or if int8 parts do not fit the spec.
torch::jit::Module build_module(const ModelSpec& spec, const Weights& weights, const BuildOptions& options = {});

}  // namespace lwm

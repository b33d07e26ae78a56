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

struct BuildOptions {
  // Registers a float buffer `hidden_mask` [hidden] (ones) on the root and on every layer, and
  // normalises with a masked LayerNorm: mean and variance over the kept (mask 1) dimensions only,
  // output zero on the others. Hidden-dimension pruning needs it so that the masked model computes
  // exactly what the physically shrunk model (plain LayerNorm over fewer dims) will. See docs/pruning.md.
  bool hidden_mask = false;
  // int8 for CPU inference: projections become quantized::linear_dynamic with their weight quantized
  // per output channel (symmetric, scale = max|w| / 127.5) and prepacked for the current quantized engine
  // (compress/quantize.h); activations are quantized per call. Every method is kept (a T5 model's
  // classify() too). Not with hidden_mask. The result re-imports only through its kept spec.
  bool int8 = false;
  // With int8: a projection with fewer weights (in x out) than this stays fp32. quantized::linear_dynamic
  // costs a fixed ~50-90 us per call here, more than a small fp32 matrix product (docs/measurement.md).
  int64_t int8_min_weights = 0;
};

// The modules (full dotted paths) the spec's sources use as projections (Linear layers, or GPT-2's Conv1D),
// each with whether its weight is stored transposed ([in, out]): what int8 quantizes.
std::map<std::string, bool> projection_modules(const ModelSpec& spec);

// The weights are copied: training the result never touches `weights`.
// ModelError if a weight the spec needs is missing or has the wrong shape.
torch::jit::Module build_module(const ModelSpec& spec, const Weights& weights, const BuildOptions& options = {});

}  // namespace lwm

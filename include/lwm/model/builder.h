#pragma once
// ModelSpec + weights -> a native TorchScript module, built from C++ with
// Module::define(). It keeps the teacher's parameter names (so its state dict
// loads where the teacher's did), forward signature and output structure, and
// reads every size from the spec, so layer removal and pruning need no graph surgery.
// Besides forward(), the module has forward_hidden(...) -> (logits, hidden states) for distillation.
#include <torch/script.h>

#include "lwm/model/importer.h"
#include "lwm/model/spec.h"

namespace lwm {

struct BuildOptions {
  // Registers a float buffer `hidden_mask` [hidden] (ones) on the root and on every layer, and
  // normalises with a masked LayerNorm: mean and variance over the kept (mask 1) dimensions only,
  // output zero on the others. Hidden-dimension pruning needs it so that the masked model computes
  // exactly what the physically shrunk model (plain LayerNorm over fewer dims) will. See docs/pruning.md.
  bool hidden_mask = false;
  // int8 for CPU inference: every projection becomes quantized::linear_dynamic with its weight quantized
  // per output channel (symmetric, scale = max|w| / 127.5) and prepacked for the current quantized engine;
  // activations are quantized per call. Every method is kept (a T5 model's classify() too), unlike the
  // JIT passes of compress/quantize.h, which rewrite and freeze forward() only. Not with hidden_mask.
  bool int8 = false;
};

// The weights are copied: training the result never touches `weights`.
// ModelError if a weight the spec needs is missing or has the wrong shape.
torch::jit::Module build_module(const ModelSpec& spec, const Weights& weights, const BuildOptions& options = {});

}  // namespace lwm

#pragma once
// Dynamic int8 quantization of every Linear layer of a native (define()-built) model,
// for CPU inference. The last step of the pipeline: the result is frozen.
//
// The result keeps forward() with the same signature and output structure (forward_hidden() and every
// other method are dropped: it cannot be trained or rebuilt natively). Its Linear weights are packed
// int8 (quantized::linear_dynamic); embeddings, LayerNorm and the attention matmuls stay fp32. It saves
// with .save() and loads with torch::jit::load / Python's torch.jit.load (the packed weights are
// re-packed on load for the process's current quantized engine, so call select_quantized_engine()
// before loading one in C++; Python needs nothing where the default engine is usable, which is onednn
// with Debian's torch).
#include <torch/script.h>

#include <string>

namespace lwm {

// Why quantize_dynamic_int8() refuses a text-to-text model (T5): the JIT quantization passes rewrite
// forward() only and freeze the module, so classify(), which the task needs, would keep fp32 Linear layers
// or be lost. Such a model is built int8 by the builder instead (BuildOptions::int8).
constexpr const char* kNoInt8ForTextToText =
    "cannot quantize a text-to-text model (T5) with the JIT passes: they rewrite forward() only, and classify() "
    "scores the label words; build it with BuildOptions::int8";


// The quantized engine used ("onednn" where available: fastest here; qnnpack was slower than fp32),
// else "fbgemm", else "qnnpack"; sets it process-wide (at::globalContext().setQEngine) and returns its
// lowercase name, as Python's torch.backends.quantized.engine spells it. ModelError if the LibTorch
// build has none of them.
std::string select_quantized_engine();

struct QuantizeOptions {
  // One scale per output row of each weight (more accurate at the same speed) or one per matrix.
  bool per_channel = true;
};

// Returns a new module: weights int8 (per-channel or per-tensor, symmetric), activations quantized
// dynamically per batch (per tensor, full 8-bit range on onednn), same forward signature and outputs.
// `model` is not changed (it may be in train() mode; the result is in eval() mode). Selects the
// quantized engine (select_quantized_engine()) before packing the weights. ModelError if the model has
// no forward() or if any Linear (aten::linear) was left unquantized.
torch::jit::Module quantize_dynamic_int8(const torch::jit::Module& model, const QuantizeOptions& options = {});

}  // namespace lwm

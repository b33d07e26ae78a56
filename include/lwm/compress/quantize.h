#pragma once
// Dynamic int8 quantization for CPU inference: the quantized engine and the packed int8 form of a Linear.
//
// The int8 model itself is written by the builder (BuildOptions::int8, model/builder.h): every projection
// calls quantized::linear_dynamic on its packed weights, activations are quantized per call, and every
// method of the fp32 model is kept (a T5 model's classify() too). Embeddings, norms and the attention
// matmuls stay fp32. Packed weights are re-packed on load for the process's current quantized engine, so
// call select_quantized_engine() before loading such a model in C++; Python needs nothing (its default engine
// on x86 is "x86", the one chosen here).
#include <torch/torch.h>

#include <string>

namespace lwm {

// The quantized engine used: "x86" where available (PyTorch's default on x86 since 2.0: FBGEMM's kernels for
// dynamic Linear; measured faster than onednn at batch 1 in docs/measurement.md), else "fbgemm", "onednn",
// "qnnpack"; sets it process-wide (at::globalContext().setQEngine) and returns its
// lowercase name, as Python's torch.backends.quantized.engine spells it. ModelError if the LibTorch
// build has none of them.
std::string select_quantized_engine();

// A Linear weight [out, in] (and its bias, or an undefined tensor) quantized to int8 with one symmetric
// scale per output row (scale = max|w| / 127.5, zero point 0, as Python's
// PerChannelMinMaxObserver(qint8, per_channel_symmetric) gives) and prepacked for the current engine
// (quantized::linear_prepack): the argument quantized::linear_dynamic takes. Call select_quantized_engine()
// first.
c10::IValue pack_int8_linear(const torch::Tensor& weight, const torch::Tensor& bias);

}  // namespace lwm

#pragma once
// Dynamic int8 quantization for CPU inference: the quantized engine, the packed int8 form of a Linear, and a
// model's int8 parts (quantize_weights()).
//
// One convention for every int8 tensor lwm writes: symmetric, one scale per output row (per-channel),
// scale = max|row| / 127.5, values round(w / scale) clamped to [-128, 127], zero point 0. It is what Python's
// PerChannelMinMaxObserver(dtype=qint8, qscheme=per_channel_symmetric) computes (scale = max(|min|, max) /
// ((quant_max - quant_min) / 2)), so lwm's int8 Linear weights equal PyTorch's own.
//
// The int8 model itself is built by model/builder.h (BuildOptions::int8 takes quantize_weights()' result):
// every packed projection calls quantized::linear_dynamic, activations are quantized per call, and every
// method of the fp32 model is kept (a T5 model's classify() too). Embeddings, norms and the attention
// matmuls stay fp32. Packed weights are re-packed on load for the process's current quantized engine, so
// call select_quantized_engine() before loading such a model in C++; Python needs nothing (its default engine
// on x86 is "x86", the one chosen here).
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <utility>

#include "lwm/model/builder.h"
#include "lwm/model/importer.h"
#include "lwm/model/spec.h"

namespace lwm {

// The quantized engine used: "x86" where available (PyTorch's default on x86 since 2.0: FBGEMM's kernels for
// dynamic Linear; measured faster than onednn at batch 1 in docs/measurement.md), else "fbgemm", "onednn",
// "qnnpack"; sets it process-wide (at::globalContext().setQEngine) and returns its
// lowercase name, as Python's torch.backends.quantized.engine spells it. ModelError if the LibTorch
// build has none of them.
std::string select_quantized_engine();

// The per-row scales [rows] (double) of a 2-D tensor under the convention above (at least float32's epsilon,
// so an all-zero row stays zero).
torch::Tensor int8_row_scales(const torch::Tensor& matrix);

// A 2-D float tensor [rows, cols] as int8 values [rows, cols] (kChar) and its scales [rows, 1] (float), under
// the convention above: what an int8 word embedding stores (a looked-up row is values * scale).
std::pair<torch::Tensor, torch::Tensor> quantize_int8_rows(const torch::Tensor& matrix);

// A Linear weight [out, in] (and its bias, or an undefined tensor) quantized to int8 under the convention above
// and prepacked for the current engine (quantized::linear_prepack): the argument quantized::linear_dynamic
// takes. Call select_quantized_engine() first.
c10::IValue pack_int8_linear(const torch::Tensor& weight, const torch::Tensor& bias);

// A model's int8 parts for model/builder.h (BuildOptions::int8), on the current quantized engine (selects it):
// every projection (tensor_inventory.h, projection_modules(); GPT-2's Conv1D weights transposed first) with at least
// `min_weights` weights (in x out) packed; the word embedding as int8 rows; a tied LM head (T5, GPT-2 LM: no
// fp32 table is left to multiply by) as a packed copy of the embedding. A projection with no weights left
// (every head or neuron pruned) is never called and stays fp32. quantized::linear_dynamic costs a fixed
// ~50-90 us per call here, more than a small fp32 matrix product: hence `min_weights` (docs/measurement.md).
// ModelError when a weight the spec names is missing, or no quantized engine exists.
Int8Weights quantize_weights(const ModelSpec& spec, const Weights& weights, int64_t min_weights);

}  // namespace lwm

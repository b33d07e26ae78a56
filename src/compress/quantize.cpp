#include "lwm/compress/quantize.h"

#include <ATen/Context.h>
#include <ATen/core/dispatch/Dispatcher.h>

#include <algorithm>
#include <tuple>

#include "lwm/common/error.h"
#include "lwm/model/tensor_inventory.h"
#include "lwm/model/torchscript_source.h"

namespace lwm {

std::string select_quantized_engine() {
  const auto& supported = at::globalContext().supportedQEngines();
  for (at::QEngine engine : {at::QEngine::X86, at::QEngine::FBGEMM, at::QEngine::ONEDNN, at::QEngine::QNNPACK}) {
    if (std::find(supported.begin(), supported.end(), engine) != supported.end()) {
      at::globalContext().setQEngine(engine);
      std::string name = c10::toString(engine);
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      return name;
    }
  }
  throw ModelError("cannot quantize: this LibTorch build has no quantized engine (x86, fbgemm, onednn or qnnpack)");
}

torch::Tensor int8_row_scales(const torch::Tensor& matrix) {
  torch::NoGradGuard no_grad;
  return torch::clamp(matrix.detach().to(torch::kFloat).abs().amax({1}) / 127.5, 1.1920928955078125e-07)
      .to(torch::kDouble);
}

std::pair<torch::Tensor, torch::Tensor> quantize_int8_rows(const torch::Tensor& matrix) {
  torch::NoGradGuard no_grad;
  const auto m = matrix.detach().to(torch::kFloat);
  const auto scale = int8_row_scales(m).to(torch::kFloat).unsqueeze(1);
  return {torch::round(m / scale).clamp(-128, 127).to(torch::kChar), scale};
}

c10::IValue pack_int8_linear(const torch::Tensor& weight, const torch::Tensor& bias) {
  torch::NoGradGuard no_grad;
  const auto w = weight.detach().to(torch::kFloat).contiguous();
  const auto scales = int8_row_scales(w);
  const auto q = at::quantize_per_channel(w, scales, torch::zeros(scales.sizes(), torch::kLong), 0, torch::kQInt8);
  static const auto prepack = c10::Dispatcher::singleton().findSchemaOrThrow("quantized::linear_prepack", "");
  torch::jit::Stack stack{q, bias.defined() ? c10::IValue(bias.detach().to(torch::kFloat).contiguous()) : c10::IValue()};
  prepack.callBoxed(&stack);
  return stack.at(0);
}

Int8Weights quantize_weights(const ModelSpec& spec, const Weights& weights, int64_t min_weights) {
  auto weight = [&](const std::string& name) -> const torch::Tensor& {
    auto it = weights.find(name);
    if (it == weights.end()) throw ModelError("cannot quantize: missing weight '" + name + "'");
    return it->second;
  };
  select_quantized_engine();
  Int8Weights out;
  for (const auto& [m, transposed] : projection_modules(spec)) {
    const torch::Tensor& w = weight(m + ".weight");
    if (w.numel() == 0 || w.numel() < min_weights) continue;
    auto b = weights.find(m + ".bias");
    out.packed[m] = pack_int8_linear(transposed ? w.t() : w, b == weights.end() ? torch::Tensor() : b->second);
    out.shapes[m] = w.sizes().vec();
  }
  const torch::Tensor& embedding = weight(spec.names.word_embeddings + ".weight");
  std::tie(out.embedding, out.embedding_scale) = quantize_int8_rows(embedding);
  if (spec.head == HeadType::LabelWords && spec.names.lm_head.empty()) {
    out.packed[kTiedLmHeadInt8] = pack_int8_linear(embedding, torch::Tensor());
    out.shapes[kTiedLmHeadInt8] = embedding.sizes().vec();
  }
  return out;
}

}  // namespace lwm

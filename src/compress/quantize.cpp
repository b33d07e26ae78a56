#include "lwm/compress/quantize.h"

#include <ATen/Context.h>
#include <ATen/core/dispatch/Dispatcher.h>

#include <algorithm>

#include "lwm/common/error.h"

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

c10::IValue pack_int8_linear(const torch::Tensor& weight, const torch::Tensor& bias) {
  torch::NoGradGuard no_grad;
  const auto w = weight.detach().to(torch::kFloat).contiguous();
  const auto scales = torch::clamp(w.abs().amax({1}) / 127.5, 1.1920928955078125e-07).to(torch::kDouble);
  const auto q = at::quantize_per_channel(w, scales, torch::zeros(scales.sizes(), torch::kLong), 0, torch::kQInt8);
  static const auto prepack = c10::Dispatcher::singleton().findSchemaOrThrow("quantized::linear_prepack", "");
  torch::jit::Stack stack{q, bias.defined() ? c10::IValue(bias.detach().to(torch::kFloat).contiguous()) : c10::IValue()};
  prepack.callBoxed(&stack);
  return stack.at(0);
}

}  // namespace lwm

#include "lwm/compress/quantize.h"

#include <ATen/Context.h>
#include <torch/csrc/jit/passes/constant_propagation.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/passes/inliner.h>
#include <torch/csrc/jit/passes/quantization/finalize.h>
#include <torch/csrc/jit/passes/quantization/insert_observers.h>
#include <torch/csrc/jit/passes/quantization/insert_quant_dequant.h>
#include <torch/torch.h>

#include <algorithm>
#include <functional>

#include "lwm/common/error.h"

// How this works (the C++ equivalent of torch.ao.quantization.quantize_dynamic_jit):
//   InsertObservers(DYNAMIC) attaches a weight observer to the weight of every aten::linear and a
//   placeholder observer to its input; InsertQuantDeQuant(DYNAMIC) runs the weight observers on the
//   weights, reads calculate_qparams() / dtype / qscheme (/ ch_axis) from them and inserts
//   quantize/dequantize (choose_qparams per batch for activations); Finalize fuses each pattern into
//   quantized::linear_dynamic with prepacked weights and freezes the module.
// The observers are TorchScript modules built here with define(), mirroring what the passes read from
// Python's PlaceholderObserver / MinMaxObserver / PerChannelMinMaxObserver (dtype and qscheme are ints
// in TorchScript, as c10::ScalarType / c10::QScheme). The passes recognise the activation placeholder by
// its class name containing "PlaceholderObserver", so that name matters.

namespace lwm {
namespace {

using torch::jit::Module;
using CompilationUnitPtr = std::shared_ptr<torch::jit::CompilationUnit>;

Module new_module(const CompilationUnitPtr& cu, const std::string& type) {
  Module m(c10::QualifiedName("__torch__.lwm.quantization." + type), cu, /*shouldMangle=*/true);
  m.register_attribute("training", c10::BoolType::get(), false);
  return m;
}

// Dynamic activations: nothing to observe; the passes insert choose_qparams per batch with this dtype.
Module placeholder_observer(const CompilationUnitPtr& cu) {
  Module m = new_module(cu, "PlaceholderObserver");
  m.register_attribute("dtype", c10::IntType::get(), static_cast<int64_t>(at::kQUInt8));
  m.register_attribute("compute_dtype", c10::IntType::get(), static_cast<int64_t>(at::kQUInt8));
  m.define(R"(
def forward(self, x):
    return x

def calculate_qparams(self):
    return torch.ones([1]), torch.zeros([1]).long()
)");
  return m;
}

// Symmetric int8 weights: scale = max|w| / 127.5 (per output row with per_channel), zero point 0,
// as Python's MinMaxObserver / PerChannelMinMaxObserver(dtype=qint8, qscheme=*_symmetric).
Module weight_observer(const CompilationUnitPtr& cu, bool per_channel) {
  Module m = new_module(cu, per_channel ? "PerChannelMinMaxObserver" : "MinMaxObserver");
  m.register_attribute("dtype", c10::IntType::get(), static_cast<int64_t>(at::kQInt8));
  m.register_attribute(
      "qscheme", c10::IntType::get(),
      static_cast<int64_t>(per_channel ? at::kPerChannelSymmetric : at::kPerTensorSymmetric));
  m.register_attribute("ch_axis", c10::IntType::get(), static_cast<int64_t>(0));
  m.register_attribute("quant_min", c10::IntType::get(), static_cast<int64_t>(-128));
  m.register_attribute("quant_max", c10::IntType::get(), static_cast<int64_t>(127));
  m.register_buffer("min_val", torch::empty({0}));
  m.register_buffer("max_val", torch::empty({0}));
  // Rows are output channels (axis 0) of a Linear weight [out, in].
  const std::string values = per_channel ? "x.detach().float().flatten(1)" : "x.detach().float().flatten()";
  m.define(R"(
def forward(self, x):
    w = )" + values + R"(
    lo = torch.amin(w, [-1])
    hi = torch.amax(w, [-1])
    if self.min_val.numel() == 0:
        self.min_val = lo
        self.max_val = hi
    else:
        self.min_val = torch.min(self.min_val, lo)
        self.max_val = torch.max(self.max_val, hi)
    return x

def calculate_qparams(self):
    amax = torch.max(torch.neg(torch.clamp(self.min_val, None, 0.0)), torch.clamp(self.max_val, 0.0))
    scale = torch.clamp(amax / 127.5, 1.1920928955078125e-07)
    return scale, torch.zeros_like(scale).long()
)");
  return m;
}

void for_each_node(torch::jit::Block* block, const std::function<void(torch::jit::Node*)>& fn) {
  for (torch::jit::Node* n : block->nodes()) {
    fn(n);
    for (torch::jit::Block* b : n->blocks()) for_each_node(b, fn);
  }
}

int count_nodes(const std::shared_ptr<torch::jit::Graph>& graph, c10::Symbol kind) {
  int count = 0;
  for_each_node(graph->block(), [&](torch::jit::Node* n) { count += n->kind() == kind; });
  return count;
}

std::string lowercase(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

std::string select_quantized_engine() {
  const auto& supported = at::globalContext().supportedQEngines();
  for (at::QEngine engine : {at::QEngine::ONEDNN, at::QEngine::FBGEMM, at::QEngine::QNNPACK}) {
    if (std::find(supported.begin(), supported.end(), engine) != supported.end()) {
      at::globalContext().setQEngine(engine);
      return lowercase(c10::toString(engine));
    }
  }
  throw ModelError("cannot quantize: this LibTorch build has no quantized engine (onednn, fbgemm or qnnpack)");
}

torch::jit::Module quantize_dynamic_int8(const torch::jit::Module& model, const QuantizeOptions& options) {
  if (!model.find_method("forward")) throw ModelError("cannot quantize: the model has no forward()");
  if (model.find_method("classify")) throw ModelError(kNoInt8ForTextToText);
  const std::string engine = select_quantized_engine();
  torch::NoGradGuard no_grad;

  // Linear calls of the float model, counted on an inlined copy of forward().
  auto float_graph = model.get_method("forward").graph()->copy();
  torch::jit::Inline(*float_graph);
  const int linears = count_nodes(float_graph, c10::Symbol::aten("linear"));

  try {
    // clone() copies types, methods and tensors, so the passes (which edit types and graphs) leave
    // `model` alone; the passes then work in place on the copy.
    Module m = model.clone();
    m.eval();
    auto cu = std::make_shared<torch::jit::CompilationUnit>();
    torch::jit::QConfigDict qconfig;
    qconfig[""] = std::make_tuple(placeholder_observer(cu), weight_observer(cu, options.per_channel));
    m = torch::jit::InsertObservers(m, "forward", qconfig, /*inplace=*/true, torch::jit::QuantType::DYNAMIC);
    m = torch::jit::InsertQuantDeQuant(m, "forward", /*inplace=*/true, /*debug=*/false,
                                       torch::jit::QuantType::DYNAMIC);
    Module q = torch::jit::Finalize(m, torch::jit::QuantType::DYNAMIC);

    auto graph = q.get_method("forward").graph();
    const auto linear_dynamic = c10::Symbol::fromQualString("quantized::linear_dynamic");
    if (engine == "onednn") {
      // The passes ask for reduce_range=True (7-bit activations, an fbgemm precaution against
      // overflow without VNNI). PyTorch's onednn qconfigs use the full 8-bit range; it halves the error.
      torch::jit::WithInsertPoint guard(graph->block()->nodes().front());
      torch::jit::Value* full_range = graph->insertConstant(false);
      for_each_node(graph->block(), [&](torch::jit::Node* n) {
        if (n->kind() == linear_dynamic && n->inputs().size() == 3) n->replaceInput(2, full_range);
      });
    }
    torch::jit::ConstantPropagation(graph);
    torch::jit::EliminateDeadCode(graph);

    const int quantized = count_nodes(graph, linear_dynamic);
    const int left = count_nodes(graph, c10::Symbol::aten("linear"));
    if (quantized != linears || left != 0) {
      throw ModelError("cannot quantize: " + std::to_string(linears) + " Linear layers, " +
                       std::to_string(quantized) + " quantized, " + std::to_string(left) + " left in fp32");
    }

    return q;
  } catch (const Error&) {
    throw;
  } catch (const c10::Error& e) {
    throw ModelError(std::string("cannot quantize the model (internal): ") + e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw ModelError(std::string("cannot quantize the model (internal): ") + e.what());
  }
}

}  // namespace lwm

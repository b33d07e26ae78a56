#include "lwm/model/builder.h"

#include <ATen/ATen.h>
#include <torch/csrc/jit/frontend/resolver.h>
#include <torch/custom_class.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "lwm/common/error.h"
#include "lwm/model/label_words.h"
#include "lwm/model/tensor_inventory.h"
#include "lwm/model/torchscript_source.h"
#include "lwm/model/weight_check.h"

namespace lwm {
namespace {

using torch::jit::Module;

Module new_module(const std::shared_ptr<torch::jit::CompilationUnit>& cu, const std::string& type) {
  Module m(c10::QualifiedName("__torch__.lwm." + type), cu, /*shouldMangle=*/true);
  m.register_attribute("training", c10::BoolType::get(), false);
  return m;
}

// Returns the module at a dotted path below `root`, creating containers on the way.
Module ensure_path(Module root, const std::string& path, const std::shared_ptr<torch::jit::CompilationUnit>& cu) {
  Module current = root;
  std::stringstream parts(path);
  std::string part;
  while (std::getline(parts, part, '.')) {
    if (current.hasattr(part)) {
      current = current.attr(part).toModule();
    } else {
      Module child = new_module(cu, "Module");
      current.register_module(part, child);
      current = child;
    }
  }
  return current;
}

// Resolves `quantized.` in the sources to the quantized:: operators (define()'s default resolver knows only
// `torch.`, i.e. aten::).
struct QuantizedOpsResolver : public torch::jit::Resolver {
  std::shared_ptr<torch::jit::SugaredValue> resolveValue(const std::string& name, torch::jit::GraphFunction& f,
                                                         const torch::jit::SourceRange& loc) override {
    if (name == "quantized") return std::make_shared<torch::jit::BuiltinModule>("quantized");
    return torch::jit::nativeResolver()->resolveValue(name, f, loc);
  }
  c10::TypePtr resolveType(const std::string& name, const torch::jit::SourceRange& loc) override {
    return torch::jit::nativeResolver()->resolveType(name, loc);
  }
};

}  // namespace

torch::jit::Module build_module(const ModelSpec& spec, const Weights& weights, const BuildOptions& options) {
  check_weights(spec, weights);
  auto cu = std::make_shared<torch::jit::CompilationUnit>();
  Module root = new_module(cu, spec.returns_tuple ? "SequenceClassifier" : "SequenceClassifierLogits");

  // Layers first, so they get the Layer type and their attributes before parameters fill them.
  std::vector<Module> layer_modules;
  for (int l = 0; l < spec.num_layers(); ++l) {
    const LayerSpec& ls = spec.layers[l];
    const std::string& prefix = spec.names_of(l).layer_prefix;
    Module layers = ensure_path(root, prefix.substr(0, prefix.size() - 1), cu);
    Module layer = new_module(cu, ls.decoder ? "DecoderLayer" : "EncoderLayer");
    layer.register_attribute("num_heads", c10::IntType::get(), ls.heads);
    layer.register_attribute("head_dim", c10::IntType::get(), ls.head_dim);
    layer.register_attribute("scale", c10::FloatType::get(), std::sqrt(static_cast<double>(std::max(ls.head_dim, 1))));
    layer.register_attribute("eps", c10::FloatType::get(), spec.norm_eps);
    layer.register_attribute("dropout_p", c10::FloatType::get(), spec.dropout);
    layer.register_attribute("pre_norm", c10::BoolType::get(), spec.norm == NormPlacement::Pre);
    if (ls.decoder) layer.register_attribute("cross_heads", c10::IntType::get(), ls.cross_heads);
    if (!ls.bias_heads.empty()) {
      layer.register_buffer("bias_heads", torch::tensor(std::vector<int64_t>(ls.bias_heads.begin(), ls.bias_heads.end()), torch::kLong));
    }
    if (options.hidden_mask) layer.register_buffer("hidden_mask", torch::ones({spec.hidden}));
    layers.register_module(std::to_string(spec.stack_index(l)), layer);
    layer_modules.push_back(layer);
  }
  // int8: packed projections get their packed weights (an `int8` attribute) instead of fp32 parameters, the
  // word embedding its int8 table and row scales.
  SourceOptions sources;
  sources.hidden_mask = options.hidden_mask;
  const bool int8 = options.int8 != nullptr;
  if (int8) {
    if (options.hidden_mask) throw ModelError("cannot build the model: int8 and a hidden mask do not go together");
    const auto projections = projection_modules(spec);
    const torch::Tensor& embedding = weights.at(spec.names.word_embeddings + ".weight");
    for (const auto& [m, packed] : options.int8->packed) {
      const bool tied_head = m == kTiedLmHeadInt8;
      if (tied_head && (spec.head != HeadType::LabelWords || !spec.names.lm_head.empty())) {
        throw ModelError("cannot build the model: a packed tied LM head for a model without one");
      }
      if (!tied_head && !projections.count(m)) {
        throw ModelError("cannot build the model: packed weights for '" + m + "', not a projection of this model");
      }
      const auto shape = options.int8->shapes.find(m);
      const torch::Tensor& source = tied_head ? embedding : weights.at(m + ".weight");
      if (shape == options.int8->shapes.end() || source.sizes().vec() != shape->second) {
        throw ModelError("cannot build the model: the packed int8 weights of '" + m +
                         "' were made from weights of another shape than this model's");
      }
      if (tied_head) {
        root.register_attribute(kTiedLmHeadInt8, packed.type(), packed);
      } else {
        ensure_path(root, m, cu).register_attribute("int8", packed.type(), packed);
      }
      sources.int8_projections.insert(m);
    }
    const auto& q = options.int8->embedding;
    const auto& scale = options.int8->embedding_scale;
    if (!q.defined() || q.scalar_type() != torch::kChar || q.sizes() != embedding.sizes() || !scale.defined() ||
        scale.sizes() != c10::IntArrayRef({embedding.size(0), 1})) {
      throw ModelError("cannot build the model: the int8 word embedding does not fit the spec");
    }
    Module owner = ensure_path(root, spec.names.word_embeddings, cu);
    owner.register_buffer("weight_int8", q.clone());
    owner.register_buffer("weight_scale", scale.to(torch::kFloat).clone());
    sources.int8_embedding = true;
  }
  for (const auto& [name, tensor] : weights) {
    const size_t dot = name.rfind('.');
    if (sources.int8_projections.count(name.substr(0, dot))) continue;
    if (sources.int8_embedding && name == spec.names.word_embeddings + ".weight") continue;
    Module owner = ensure_path(root, name.substr(0, dot), cu);
    // The vocabulary map is ids, not a weight: a buffer that training never touches.
    owner.register_parameter(name.substr(dot + 1), tensor.detach().clone(), /*is_buffer=*/name == spec.vocab_map_name());
  }
  root.register_attribute(kFamilyAttribute, c10::StringType::get(), to_string(spec.family));
  root.register_attribute("eps", c10::FloatType::get(), spec.norm_eps);
  root.register_attribute("dropout_p", c10::FloatType::get(), spec.dropout);
  if (options.hidden_mask) root.register_buffer("hidden_mask", torch::ones({spec.hidden}));
  if (spec.encoder_decoder) {
    root.register_attribute("output_scale", c10::FloatType::get(), spec.output_scale);
    root.register_attribute("relative_attention_max_distance", c10::IntType::get(), spec.relative_max_distance);
  }
  const LabelWordBuffers label_words = label_word_buffers(spec);
  if (label_words.inputs.defined()) root.register_buffer("label_inputs", label_words.inputs);
  if (label_words.targets.defined()) root.register_buffer("label_targets", label_words.targets);

  const TorchScriptSource source(spec, sources);
  const auto helpers = source.helpers();
  try {
    const auto resolver = std::make_shared<QuantizedOpsResolver>();
    for (int l = 0; l < spec.num_layers(); ++l) {
      for (const auto& helper : helpers) layer_modules[l].define(helper, resolver);
      layer_modules[l].define(source.layer(l), resolver);
    }
    for (const auto& helper : helpers) root.define(helper, resolver);
    for (const auto& method : source.root()) root.define(method, resolver);
  } catch (const c10::Error& e) {
    throw ModelError(std::string("cannot build the model (internal): ") + e.what_without_backtrace());
  }
  root.eval();
  return root;
}

}  // namespace lwm

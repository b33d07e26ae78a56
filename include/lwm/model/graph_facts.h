#pragma once
// Facts that a TorchScript file keeps in its graphs or attributes rather than in
// its weights: norm epsilon, activation, head count, forward signature.
#include <torch/script.h>

#include <optional>
#include <string>
#include <vector>

namespace lwm {

// eps of every aten::layer_norm call with a constant eps, in any method of `module` or its submodules.
std::vector<double> layer_norm_eps(const torch::jit::Module& module);

// The `approximate` argument of aten::gelu calls ("none"/"tanh"), and whether aten::relu and
// aten::tanh appear, in `module` and its submodules.
struct ActivationFacts {
  std::vector<std::string> gelu_approximate;
  bool relu = false;
  bool tanh = false;  // aten::tanh: GPT-2's gelu_new written out as 0.5x(1 + tanh(...))
};
ActivationFacts activation_facts(const torch::jit::Module& module);

// Number of attention heads of an attention module: an int attribute with one of `attr_names`
// (scripted models keep them), else a pair of constants (heads, head_dim) with heads*head_dim ==
// hidden in a view/reshape shape list (traced models bake them in), else a shape list
// (batch, seq, -1, head_dim) as transformers 5 writes it (heads = hidden / head_dim).
std::optional<int> attention_heads(const torch::jit::Module& attention, const std::vector<std::string>& attr_names,
                                   int hidden);

// The constant factors that `module`'s own forward() multiplies a value by (aten::mul with a constant scalar
// or 0-dim tensor operand), in its top-level graph only (calls into submodules are not followed). T5: the
// d_model^-0.5 rescale before a tied LM head (Hugging Face T5ForConditionalGeneration, `scale_decoder_outputs`
// in transformers 5, `tie_word_embeddings` before), which transformers 5 ties for T5 v1.1 too, without it.
std::vector<double> top_level_constant_factors(const torch::jit::Module& module);

// forward()'s (or another method's) argument names (without self), and whether forward() returns a tuple.
std::vector<std::string> forward_arg_names(const torch::jit::Module& module, const std::string& method = "forward");
bool forward_returns_tuple(const torch::jit::Module& module);
// The first key of the dict forward() returns (a traced Hugging Face ModelOutput: "logits"), or "" when it returns
// no dict with constant string keys.
std::string forward_output_key(const torch::jit::Module& module);

// The submodule at a dotted path ("bert.encoder.layer.0.attention"), if any.
std::optional<torch::jit::Module> find_submodule(const torch::jit::Module& root, const std::string& path);

}  // namespace lwm

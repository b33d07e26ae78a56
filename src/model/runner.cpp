#include "lwm/model/runner.h"

#include "lwm/common/error.h"
#include "lwm/data/batcher.h"
#include "lwm/model/graph_facts.h"

namespace lwm {

namespace {

// lwm's text-to-text models carry their label words (label_targets) and score them in classify(); any other
// module (a Hugging Face export may have its own helper named classify) is called by forward().
std::string classifying_method(const torch::jit::Module& module) {
  return module.hasattr("label_targets") && module.find_method("classify") ? "classify" : "forward";
}

}  // namespace

ModelRunner::ModelRunner(torch::jit::Module module)
    : module_(std::move(module)), method_(classifying_method(module_)), args_(forward_arg_names(module_, method_)) {}

std::vector<c10::IValue> forward_inputs(const std::vector<std::string>& args, const torch::Tensor& input_ids,
                                        const torch::Tensor& attention_mask, const torch::Tensor& token_type_ids) {
  std::vector<c10::IValue> inputs;
  for (const auto& arg : args) {
    if (arg == "input_ids") {
      inputs.emplace_back(input_ids);
    } else if (arg == "attention_mask") {
      inputs.emplace_back(attention_mask);
    } else if (arg == "token_type_ids") {
      inputs.emplace_back(token_type_ids);
    } else {
      throw ModelError("forward() takes an input named '" + arg + "' that lwm cannot provide" +
                       (arg == "decoder_input_ids" ? " (an encoder-decoder classifies with the task's label words)" : ""));
    }
  }
  return inputs;
}

torch::Tensor ModelRunner::logits(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                                  const torch::Tensor& token_type_ids) {
  auto inputs = forward_inputs(args_, input_ids, attention_mask, token_type_ids);
  c10::IValue out = module_.get_method(method_)(inputs);
  if (out.isTuple()) out = out.toTupleRef().elements().at(0);
  if (out.isGenericDict() && !out.toGenericDict().empty()) {
    const auto dict = out.toGenericDict();
    out = dict.contains("logits") ? dict.at("logits") : dict.begin()->value();
  }
  if (!out.isTensor()) {
    throw ModelError("forward() did not return logits (a tensor, a tuple starting with one, or a dict of them)");
  }
  return out.toTensor();
}

torch::Tensor ModelRunner::logits(const Batch& batch) {
  return logits(batch.input_ids, batch.attention_mask, batch.token_type_ids);
}

}  // namespace lwm

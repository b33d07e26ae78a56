#pragma once
// Calls any sequence classifier (a teacher file or one of ours) by its forward
// signature's argument names and returns the logits, whatever the output structure.
// A text-to-text model lwm built (T5) classifies with its classify(input_ids, attention_mask) method
// (rank classification of the label words) instead of forward(), whose output is the LM's.
#include <torch/script.h>

#include <string>
#include <vector>

namespace lwm {

struct Batch;

// The inputs of a forward method whose arguments are named `args` (input_ids, attention_mask,
// token_type_ids, in any order); ModelError for any other name.
std::vector<c10::IValue> forward_inputs(const std::vector<std::string>& args, const torch::Tensor& input_ids,
                                        const torch::Tensor& attention_mask, const torch::Tensor& token_type_ids);

class ModelRunner {
 public:
  explicit ModelRunner(torch::jit::Module module);
  torch::Tensor logits(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                       const torch::Tensor& token_type_ids);
  torch::Tensor logits(const Batch& batch);
  torch::jit::Module& module() { return module_; }
  const std::vector<std::string>& args() const { return args_; }

 private:
  torch::jit::Module module_;
  std::string method_;
  std::vector<std::string> args_;
};

}  // namespace lwm

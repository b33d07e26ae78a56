#pragma once
// Stage 2: knowledge distillation from the teacher. The loss is
//   T^2 * KL(softmax(teacher/T) || softmax(student/T))  +  alpha * hard-label loss
//   [+ beta * mean over mapped layers of MSE(student hidden, teacher hidden) on real tokens]
// (Hinton et al. 2015; hidden states as in TinyBERT). Regression tasks use MSE to the
// teacher's score instead of the KL term.
#include <torch/script.h>

#include <optional>
#include <vector>

#include "lwm/data/batcher.h"
#include "lwm/data/task.h"

namespace lwm {

struct DistillOptions {
  double temperature = 2.0;
  double alpha = 0.5;          // weight of the hard-label loss
  double hidden_weight = 0.0;  // beta; > 0 adds hidden-state MSE
  // Student layer i is matched with teacher layer hidden_map[i] (0-based). The embedding
  // outputs are matched too. Defaults to the layers the student was initialised from.
  std::vector<int> hidden_map;
  bool cache_teacher_logits = false;  // compute the teacher's logits once for the whole train set
};

torch::Tensor soft_loss(const torch::Tensor& student_logits, const torch::Tensor& teacher_logits, double temperature,
                        bool regression);

// MSE over non-padding tokens (attention_mask == 1) and, when `kept_dims` ([hidden], 1 = kept) is given, over
// the hidden dimensions the student has not pruned; averaged over the mapped pairs.
torch::Tensor hidden_state_loss(const std::vector<torch::Tensor>& student_hidden,
                                const std::vector<torch::Tensor>& teacher_hidden, const std::vector<int>& hidden_map,
                                const torch::Tensor& attention_mask, const torch::Tensor& kept_dims = {});

// Computes the distillation loss of the student on a batch. Both models are native
// (define()-built) modules with forward_hidden(); the teacher is only run in eval mode without gradients.
class Distiller {
 public:
  Distiller(torch::jit::Module teacher, torch::jit::Module student, const TaskSpec& task, DistillOptions opts);
  // Fills the teacher-logit cache for `train` (indices are the dataset's), if the options ask for it.
  void prepare(const EncodedDataset& train, int batch_size, int64_t pad_id);
  torch::Tensor loss(const Batch& batch);

 private:
  std::vector<c10::IValue> inputs(const torch::jit::Module& m, const Batch& batch) const;
  torch::jit::Module teacher_, student_;
  TaskSpec task_;
  DistillOptions opts_;
  std::vector<std::string> teacher_args_, student_args_;
  torch::Tensor cache_;  // [N, num_labels] when cached
};

}  // namespace lwm

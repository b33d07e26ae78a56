#pragma once
// The loss a classifier or regressor is trained with on its task: what fine-tuning minimises and the
// hard-label part of distillation. Here (model/) so that training (train/) and distillation (compress/) share
// it without depending on each other.
#include <torch/torch.h>

namespace lwm {

// Cross-entropy of `logits` [batch, labels] against the class ids `labels` [batch] (int64), as Hugging Face's
// *ForSequenceClassification computes it for single_label_classification; with `regression`, the mean squared
// error of `logits` [batch, 1] against the float scores `labels` [batch] (problem_type "regression").
torch::Tensor task_loss(const torch::Tensor& logits, const torch::Tensor& labels, bool regression);

}  // namespace lwm

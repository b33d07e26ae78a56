#include "lwm/model/task_loss.h"

namespace lwm {

torch::Tensor task_loss(const torch::Tensor& logits, const torch::Tensor& labels, bool regression) {
  if (regression) return torch::mse_loss(logits.squeeze(-1), labels.to(logits.dtype()));
  return torch::cross_entropy_loss(logits, labels);
}

}  // namespace lwm

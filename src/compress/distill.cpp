#include "lwm/compress/distill.h"

#include "lwm/common/error.h"
#include "lwm/model/graph_facts.h"
#include "lwm/model/runner.h"
#include "lwm/model/task_loss.h"

namespace lwm {

torch::Tensor soft_loss(const torch::Tensor& student_logits, const torch::Tensor& teacher_logits, double temperature,
                        bool regression) {
  if (regression) return torch::mse_loss(student_logits, teacher_logits);
  const auto log_p_student = torch::log_softmax(student_logits / temperature, -1);
  const auto log_p_teacher = torch::log_softmax(teacher_logits / temperature, -1);
  // KL(teacher || student), summed over classes, averaged over the batch, scaled by T^2 so the
  // gradient magnitude does not shrink with the temperature (Hinton et al. 2015).
  const auto kl = (log_p_teacher.exp() * (log_p_teacher - log_p_student)).sum(-1).mean();
  return kl * (temperature * temperature);
}

torch::Tensor hidden_state_loss(const std::vector<torch::Tensor>& student_hidden,
                                const std::vector<torch::Tensor>& teacher_hidden, const std::vector<int>& hidden_map,
                                const torch::Tensor& attention_mask, const torch::Tensor& kept_dims) {
  if (student_hidden.size() != hidden_map.size() + 1) {
    throw UsageError("hidden_map has " + std::to_string(hidden_map.size()) + " entries, the student has " +
                     std::to_string(student_hidden.size() - 1) + " layers");
  }
  // Real tokens only, and only the hidden dimensions the student still has: a pruned (masked) dimension is
  // zero in the student by construction, so comparing it with the teacher adds a term nothing can reduce.
  const auto dtype = student_hidden[0].dtype();
  const auto dims = kept_dims.defined() ? kept_dims.to(dtype) : torch::ones({student_hidden[0].size(-1)}, dtype);
  const auto mask = attention_mask.to(dtype).unsqueeze(-1) * dims;
  const auto denom = attention_mask.to(dtype).sum() * dims.sum();
  auto mse = [&](const torch::Tensor& s, const torch::Tensor& t) { return ((s - t).pow(2) * mask).sum() / denom; };
  auto total = mse(student_hidden[0], teacher_hidden[0]);  // embedding outputs
  for (size_t i = 0; i < hidden_map.size(); ++i) {
    const auto t = static_cast<size_t>(hidden_map[i]) + 1;
    if (t >= teacher_hidden.size()) throw UsageError("hidden_map names teacher layer " + std::to_string(hidden_map[i]) + ", which does not exist");
    total = total + mse(student_hidden[i + 1], teacher_hidden[t]);
  }
  return total / static_cast<double>(hidden_map.size() + 1);
}

Distiller::Distiller(torch::jit::Module teacher, torch::jit::Module student, const TaskSpec& task, DistillOptions opts)
    : teacher_(std::move(teacher)),
      student_(std::move(student)),
      task_(task),
      opts_(std::move(opts)),
      teacher_args_(forward_arg_names(teacher_, "forward_hidden")),
      student_args_(forward_arg_names(student_, "forward_hidden")) {
  if (!(opts_.temperature > 0)) throw UsageError("temperature must be positive");
  teacher_.eval();
}

std::vector<c10::IValue> Distiller::inputs(const torch::jit::Module& m, const Batch& batch) const {
  return forward_inputs(&m == &teacher_ ? teacher_args_ : student_args_, batch.input_ids, batch.attention_mask,
                        batch.token_type_ids);
}

void Distiller::prepare(const EncodedDataset& train, int batch_size, int64_t pad_id) {
  if (!opts_.cache_teacher_logits) return;
  torch::NoGradGuard no_grad;
  cache_ = torch::zeros({static_cast<int64_t>(train.examples.size()), task_.num_labels()});
  for (const auto& batch : make_batches(train, batch_size, /*sort_by_length=*/true, false, 0, pad_id)) {
    auto out = teacher_.get_method("forward_hidden")(inputs(teacher_, batch)).toTupleRef().elements()[0].toTensor();
    cache_.index_put_({torch::tensor(std::vector<int64_t>(batch.indices.begin(), batch.indices.end()))}, out);
  }
}

torch::Tensor Distiller::loss(const Batch& batch) {
  const bool hidden = opts_.hidden_weight > 0;
  auto student_out = student_.get_method("forward_hidden")(inputs(student_, batch)).toTuple();
  const auto student_logits = student_out->elements()[0].toTensor();

  torch::Tensor teacher_logits;
  std::vector<torch::Tensor> teacher_hidden;
  if (cache_.defined() && !hidden) {
    teacher_logits = cache_.index({torch::tensor(std::vector<int64_t>(batch.indices.begin(), batch.indices.end()))});
  } else {
    torch::NoGradGuard no_grad;
    auto out = teacher_.get_method("forward_hidden")(inputs(teacher_, batch)).toTuple();
    teacher_logits = out->elements()[0].toTensor();
    if (hidden) teacher_hidden = out->elements()[1].toTensorVector();
  }
  auto loss = soft_loss(student_logits, teacher_logits, opts_.temperature, task_.regression);
  if (opts_.alpha > 0) loss = loss + opts_.alpha * task_loss(student_logits, batch.labels, task_.regression);
  if (hidden) {
    // A student built for hidden-dimension pruning carries its mask of kept dimensions.
    const torch::Tensor kept = student_.hasattr("hidden_mask") ? student_.attr("hidden_mask").toTensor() : torch::Tensor();
    loss = loss + opts_.hidden_weight * hidden_state_loss(student_out->elements()[1].toTensorVector(), teacher_hidden,
                                                          opts_.hidden_map, batch.attention_mask, kept);
  }
  return loss;
}

}  // namespace lwm

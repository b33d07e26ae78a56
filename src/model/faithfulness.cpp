#include "lwm/model/faithfulness.h"

#include <cstdio>

#include "lwm/common/error.h"
#include "lwm/model/graph_facts.h"
#include "lwm/model/runner.h"

namespace lwm {

double max_logit_difference(const torch::jit::Module& reference, const torch::jit::Module& candidate,
                            const ModelSpec& spec, uint64_t seed) {
  torch::NoGradGuard no_grad;
  auto gen = at::detail::createCPUGenerator(seed);
  // Positions past max_positions - pad - 1 do not exist for RoBERTa-style offsets.
  const int64_t positions =
      spec.positions == PositionScheme::PaddingOffset ? spec.max_positions - spec.pad_token_id - 2 : spec.max_positions;
  const int64_t max_len = std::min<int64_t>(24, positions);
  const std::vector<int64_t> lengths = {max_len, std::max<int64_t>(1, max_len - 7), std::min<int64_t>(3, max_len), 1};
  const int64_t B = static_cast<int64_t>(lengths.size());
  // Any id but the pad id, so that padding is only where the mask says (GPT-2's pad is its last id).
  auto ids = torch::randint(0, spec.vocab_size - 1, {B, max_len}, gen, torch::kLong);
  ids += ids.ge(spec.pad_token_id).to(torch::kLong);
  auto mask = torch::zeros({B, max_len}, torch::kLong);
  auto types = torch::zeros({B, max_len}, torch::kLong);
  for (int64_t b = 0; b < B; ++b) {
    mask[b].narrow(0, 0, lengths[b]).fill_(1);
    ids[b].narrow(0, lengths[b], max_len - lengths[b]).fill_(spec.pad_token_id);
    if (spec.type_vocab_size > 1 && lengths[b] > 2) types[b].narrow(0, lengths[b] / 2, lengths[b] - lengths[b] / 2).fill_(1);
  }
  torch::Tensor a, b;
  if (spec.head == HeadType::LabelWords) {
    // Language models: the LM logits of forward() (the reference may have no classify()); an encoder-decoder
    // also gets decoder inputs of several lengths starting with the decoder start token.
    const int64_t dec_len = 20;  // past 16: the decoder's log-spaced relative buckets too
    torch::Tensor dec;
    if (spec.encoder_decoder) {
      dec = torch::randint(0, spec.vocab_size, {B, dec_len}, gen, torch::kLong);
      dec.select(1, 0).fill_(spec.decoder_start_token_id);
    }
    auto call = [&](torch::jit::Module m) {  // a handle: forward() is not const
      std::vector<c10::IValue> inputs;
      for (const auto& arg : forward_arg_names(m)) {
        inputs.emplace_back(arg == "input_ids" ? ids : arg == "attention_mask" ? mask : dec);
      }
      auto out = m.forward(inputs);
      return out.isTuple() ? out.toTupleRef().elements().at(0).toTensor() : out.toTensor();
    };
    a = call(reference);
    b = call(candidate);
  } else {
    ModelRunner ref(reference), cand(candidate);
    a = ref.logits(ids, mask, types);
    b = cand.logits(ids, mask, types);
  }
  if (a.sizes() != b.sizes()) return std::numeric_limits<double>::infinity();
  return (a - b).abs().max().item<double>();
}

double verify_faithful(const torch::jit::Module& reference, const torch::jit::Module& candidate, const ModelSpec& spec,
                       double tolerance) {
  const double diff = max_logit_difference(reference, candidate, spec);
  if (!(diff <= tolerance)) {
    char msg[200];
    std::snprintf(msg, sizeof msg, "cannot be rebuilt faithfully: max |logit difference| %.3g > %.0e on padded batches",
                  diff, tolerance);
    throw ModelError(msg);
  }
  return diff;
}

}  // namespace lwm

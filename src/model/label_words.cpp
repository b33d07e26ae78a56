#include "lwm/model/label_words.h"

#include <algorithm>

#include "lwm/common/error.h"

namespace lwm {

LabelWordBuffers label_word_buffers(const ModelSpec& spec) {
  LabelWordBuffers out;
  if (spec.head != HeadType::LabelWords || spec.label_tokens.empty()) return out;
  const auto K = static_cast<int64_t>(spec.label_tokens.size());
  for (int64_t k = 0; k < K; ++k) {
    if (spec.label_tokens[k].empty()) {
      throw ModelError("cannot build the model: label " + std::to_string(k) + " has no tokens");
    }
  }
  if (!spec.encoder_decoder) {
    // A decoder-only LM scores one next token per label.
    out.targets = torch::empty({K, 1}, torch::kLong);
    for (int64_t k = 0; k < K; ++k) {
      const auto& t = spec.label_tokens[k];
      if (t.size() != 1) {
        throw ModelError("cannot build the model: a decoder-only language model scores one token per label, label " +
                         std::to_string(k) + " has " + std::to_string(t.size()));
      }
      out.targets[k][0] = t[0];
    }
    return out;
  }
  size_t longest = 0;
  for (const auto& t : spec.label_tokens) longest = std::max(longest, t.size());
  const auto L = static_cast<int64_t>(longest);
  out.inputs = torch::full({K, L}, static_cast<int64_t>(spec.pad_token_id), torch::kLong);
  out.targets = torch::full({K, L}, int64_t{-1}, torch::kLong);
  for (int64_t k = 0; k < K; ++k) {
    const auto& t = spec.label_tokens[k];
    out.inputs[k][0] = spec.decoder_start_token_id;
    for (size_t i = 0; i < t.size(); ++i) {
      out.targets[k][static_cast<int64_t>(i)] = t[i];
      if (i + 1 < t.size()) out.inputs[k][static_cast<int64_t>(i) + 1] = t[i];
    }
  }
  return out;
}

}  // namespace lwm

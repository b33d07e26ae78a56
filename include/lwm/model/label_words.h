#pragma once
// The buffers with which a model that scores label words (HeadType::LabelWords: T5, a GPT-2 LM) classifies:
// built from spec.label_tokens, the token ids of each label's word as pipeline/task_data.h resolves them with
// the task's tokenizer. The builder registers them on the root module; classify() reads them
// (model/torchscript_source.h).
#include <torch/torch.h>

#include "lwm/model/spec.h"

namespace lwm {

struct LabelWordBuffers {
  // Encoder-decoder (T5), [labels, L] int64 with L the longest label's token count: the decoder inputs
  // (decoder_start_token_id, then the label's tokens but the last, padded with pad_token_id) and the targets
  // (the label's tokens, padded with -1), as T5ForConditionalGeneration scores a target sequence.
  // Decoder-only LM (GPT-2): targets only, [labels, 1]: the one next token each label word is.
  // Undefined tensors where the model has none (no label words yet, or another head).
  torch::Tensor inputs, targets;
};

// ModelError when a label has no tokens, or (decoder-only) more than one.
LabelWordBuffers label_word_buffers(const ModelSpec& spec);

}  // namespace lwm

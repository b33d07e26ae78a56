#pragma once
// Checks that a rebuilt model computes what the original does, on padded batches.
#include <torch/script.h>

#include "lwm/model/spec.h"

namespace lwm {

constexpr double kFaithfulnessTolerance = 1e-4;

// Max |logit difference| between two models over random sample batches (fixed seed), shaped by the spec
// (vocabulary, max_positions, type_vocab_size, pad_token_id, head). The batches take every input class that
// changes a code path somewhere: right-padded texts of lengths 1 to min(24, longest) in one batch of 4 (a pair's
// second half with token type 1 when type_vocab_size > 1), 3 texts holding pad_token_id (inside, first, twice:
// the token a LastToken head pools, RoBERTa's positions), 3 left-padded texts (LastToken heads only: Hugging
// Face's GPT-2/OPT classifiers take either side; lwm's batcher pads right), batch 1 of one token, and texts of
// the longest length (max_positions; RoBERTa: less its padding offset), 2 of them (language models: 1, as their
// forward() returns [B, T, vocab]). Classifiers are compared on their logits [B, labels] (ModelRunner), language
// models on forward()'s LM logits (T5 with 20 decoder tokens). Infinity when the shapes differ.
double max_logit_difference(const torch::jit::Module& reference, const torch::jit::Module& candidate,
                            const ModelSpec& spec, uint64_t seed = 0);

// Throws ModelError when the difference exceeds `tolerance`, naming it and the batch class it came from (for a
// LastToken head differing on texts holding the pad id, also that the file pools by another rule than lwm's:
// spec.h, Pooling).
double verify_faithful(const torch::jit::Module& reference, const torch::jit::Module& candidate,
                       const ModelSpec& spec, double tolerance = kFaithfulnessTolerance);

}  // namespace lwm

#pragma once
// Whether a set of weights fits a spec: every weight the rebuilt model reads is there with the shape the spec
// gives it (Hugging Face's layouts: Linear [out, in], GPT-2's Conv1D [in, out], embeddings [rows, hidden]).
#include "lwm/model/importer.h"
#include "lwm/model/spec.h"

namespace lwm {

// ModelError naming the first weight that is missing or has another shape than the spec needs.
void check_weights(const ModelSpec& spec, const Weights& weights);

// The part of check_weights() for a vocabulary-pruned model (spec.input_vocab_size > 0): its map is int64
// [input_vocab_size], every entry a row below vocab_size; an unpruned spec has no map. ModelError otherwise.
void check_vocab_map(const ModelSpec& spec, const Weights& weights);

}  // namespace lwm

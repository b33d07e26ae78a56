#pragma once
// Stage 1 (optional, config key prune_vocab): vocabulary pruning. A small student's word embedding is most of its
// size (all-MiniLM-L6-v2: 30,522 x 384 = 11.7M of 22.7M parameters), yet a task's texts use a few thousand ids.
// The student keeps only the rows of the ids the task's training data produces, the tokenizer's special tokens
// and its unknown token, and still takes the teacher's ids: an int64 map [input_vocab_size] inside the model
// sends each id to its row, and an id whose row was dropped to the unknown token's row (the model then reads that
// token as [UNK]: not what a tokenizer without the token would emit, which would split the word into other pieces
// or give one [UNK] for the whole word). The spec's input_vocab_size (model/spec.h) records it.
// The idea follows Abdaoui et al. 2020 ("Load What You Need: Smaller Versions of Multilingual BERT"), who cut
// mBERT's vocabulary to the tokens of a corpus; here the corpus is the task's own training set.
#include <cstdint>
#include <vector>

#include "lwm/model/importer.h"
#include "lwm/model/spec.h"

namespace lwm {

struct VocabPruned {
  ModelSpec spec;   // vocab_size: the rows kept; input_vocab_size: the ids it takes (the teacher's)
  Weights weights;  // the word embedding cut to those rows, and the map (spec.vocab_map_name())
  int64_t kept_rows = 0;     // rows of the new word embedding
  int64_t dropped_rows = 0;  // rows taken from the given word embedding (of spec.vocab_size: the teacher's, or fewer
                             // when the model was pruned before)
};

// Whether a model and tokenizer allow vocabulary pruning at all, checked before any long work: UsageError for a head
// that scores the vocabulary (HeadType::LabelWords: T5, a GPT-2 LM; its logits would lose the dropped tokens), or
// no unknown token (unk_id < 0).
void check_vocab_prunable(const ModelSpec& spec, int64_t unk_id);

// `used_ids`: the ids whose rows stay (every id of the encoded training set and the special tokens; repeats
// allowed); `unk_id`: the id a dropped id reads instead, kept whatever `used_ids` holds. A model pruned before
// (input_vocab_size > 0) is pruned again through its map: ids stay the teacher's.
// UsageError: as check_vocab_prunable(). ModelError: an id outside [0, spec.input_vocab()), or a damaged map.
VocabPruned prune_vocabulary(const ModelSpec& spec, const Weights& weights, const std::vector<int64_t>& used_ids,
                             int64_t unk_id);

// The fraction of `ids` (input ids, e.g. an eval set's) that a pruned model reads as the unknown token although
// they are not it: the tokens the pruning took from the model. 0 for an unpruned spec. ModelError: unk_id outside
// the map, or a map that is not int64 [spec.input_vocab()].
double fraction_read_as_unknown(const ModelSpec& spec, const Weights& weights, const std::vector<int64_t>& ids,
                                int64_t unk_id);

}  // namespace lwm

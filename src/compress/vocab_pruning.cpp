#include "lwm/compress/vocab_pruning.h"

#include <string>

#include "lwm/common/error.h"
#include "lwm/model/weight_check.h"

namespace lwm {
namespace {

// The map of a model pruned before, checked as building the model checks it (model/weight_check.h).
torch::Tensor checked_map(const ModelSpec& spec, const Weights& weights) {
  check_vocab_map(spec, weights);
  return weights.at(spec.vocab_map_name()).contiguous();
}

// Each input id's current row: through the map of a model pruned before, else the id itself.
torch::Tensor current_rows(const ModelSpec& spec, const Weights& weights) {
  if (spec.input_vocab_size > 0) return checked_map(spec, weights);
  return torch::arange(spec.vocab_size, torch::kLong);
}

}  // namespace

void check_vocab_prunable(const ModelSpec& spec, int64_t unk_id) {
  if (spec.head == HeadType::LabelWords) {
    throw UsageError("prune_vocab: a " + to_string(spec.family) +
                     " model that scores words over the vocabulary (text to text or a language model) needs every "
                     "row of it; vocabulary pruning applies to classifier heads");
  }
  if (unk_id < 0) {
    throw UsageError("prune_vocab: the tokenizer has no unknown token, so an id whose row is dropped would have "
                     "nothing to read; use a tokenizer with one or leave prune_vocab off");
  }
}

VocabPruned prune_vocabulary(const ModelSpec& spec, const Weights& weights, const std::vector<int64_t>& used_ids,
                             int64_t unk_id) {
  check_vocab_prunable(spec, unk_id);
  const int64_t ids = spec.input_vocab();
  auto check = [&](int64_t id) {
    if (id < 0 || id >= ids) {
      throw ModelError("prune_vocab: token id " + std::to_string(id) + " is outside the model's " +
                       std::to_string(ids) + " input ids");
    }
  };
  check(unk_id);
  const torch::Tensor rows = current_rows(spec, weights);
  const auto row_of = rows.accessor<int64_t, 1>();

  // The rows that stay, in their order: the new row r is old row kept[r].
  std::vector<bool> keep(static_cast<size_t>(spec.vocab_size), false);
  keep[static_cast<size_t>(row_of[unk_id])] = true;
  for (int64_t id : used_ids) {
    check(id);
    keep[static_cast<size_t>(row_of[id])] = true;
  }
  std::vector<int64_t> kept, new_row(keep.size(), -1);
  for (size_t r = 0; r < keep.size(); ++r) {
    if (!keep[r]) continue;
    new_row[r] = static_cast<int64_t>(kept.size());
    kept.push_back(static_cast<int64_t>(r));
  }
  const int64_t unk_row = new_row[static_cast<size_t>(row_of[unk_id])];
  torch::Tensor map = torch::empty({ids}, torch::kLong);
  auto m = map.accessor<int64_t, 1>();
  for (int64_t id = 0; id < ids; ++id) {
    const int64_t r = new_row[static_cast<size_t>(row_of[id])];
    m[id] = r >= 0 ? r : unk_row;
  }

  VocabPruned out{spec, weights, static_cast<int64_t>(kept.size()),
                  static_cast<int64_t>(spec.vocab_size) - static_cast<int64_t>(kept.size())};
  const std::string table = spec.names.word_embeddings + ".weight";
  out.weights[table] = weights.at(table).index_select(0, torch::tensor(kept, torch::kLong));
  out.weights[spec.vocab_map_name()] = map;
  out.spec.vocab_size = static_cast<int>(kept.size());
  out.spec.input_vocab_size = static_cast<int>(ids);
  return out;
}

double fraction_read_as_unknown(const ModelSpec& spec, const Weights& weights, const std::vector<int64_t>& ids,
                                int64_t unk_id) {
  if (spec.input_vocab_size == 0 || ids.empty() || unk_id < 0) return 0.0;
  const torch::Tensor map = checked_map(spec, weights);
  if (unk_id >= map.size(0)) {
    throw ModelError("prune_vocab: unknown token id " + std::to_string(unk_id) + " is outside the model's " +
                     std::to_string(map.size(0)) + " input ids");
  }
  const auto m = map.accessor<int64_t, 1>();
  const int64_t unk_row = m[unk_id];
  int64_t lost = 0;
  for (int64_t id : ids) lost += id != unk_id && id >= 0 && id < map.size(0) && m[id] == unk_row;
  return static_cast<double>(lost) / static_cast<double>(ids.size());
}

}  // namespace lwm

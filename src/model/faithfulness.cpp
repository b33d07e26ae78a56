#include "lwm/model/faithfulness.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "lwm/common/error.h"
#include "lwm/model/graph_facts.h"
#include "lwm/model/runner.h"

namespace lwm {

namespace {

struct SampleBatch {
  std::string what;
  torch::Tensor ids, mask, types;
};

// Random ids that are never the pad id (so that it is only where a batch puts it on purpose; GPT-2's pad is its
// last id), mask and token types all zero.
SampleBatch blank(const std::string& what, int64_t B, int64_t T, const ModelSpec& spec, at::Generator& gen) {
  SampleBatch s{what, torch::randint(0, spec.input_vocab() - 1, {B, T}, gen, torch::kLong), torch::zeros({B, T}, torch::kLong),
                torch::zeros({B, T}, torch::kLong)};
  s.ids += s.ids.ge(spec.pad_token_id).to(torch::kLong);
  return s;
}

// Row b holds a text of lengths[b] tokens, right-padded (or left-padded) with the pad id; a pair's second half
// (from the middle) gets token type 1 where the model has two token types.
void place_texts(SampleBatch& s, const std::vector<int64_t>& lengths, const ModelSpec& spec, bool left = false) {
  const int64_t T = s.ids.size(1);
  for (size_t b = 0; b < lengths.size(); ++b) {
    const int64_t n = lengths[b], start = left ? T - n : 0;
    s.mask[b].narrow(0, start, n).fill_(1);
    if (left) {
      s.ids[b].narrow(0, 0, T - n).fill_(spec.pad_token_id);
    } else {
      s.ids[b].narrow(0, n, T - n).fill_(spec.pad_token_id);
    }
    if (spec.type_vocab_size > 1 && n > 2) s.types[b].narrow(0, start + n / 2, n - n / 2).fill_(1);
  }
}

std::vector<SampleBatch> sample_batches(const ModelSpec& spec, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  // The longest text: max_positions, less RoBERTa's offset (its positions start after pad_token_id + 1).
  const int64_t positions =
      spec.positions == PositionScheme::PaddingOffset ? spec.max_positions - spec.pad_token_id - 2 : spec.max_positions;
  const int64_t longest = std::max<int64_t>(1, positions);
  const int64_t T = std::min<int64_t>(24, longest);
  std::vector<SampleBatch> batches;

  // Texts of several lengths in one batch (1 and T included), right-padded as lwm's batcher pads.
  const std::vector<int64_t> lengths = {T, std::max<int64_t>(1, T - 7), std::min<int64_t>(3, T), 1};
  batches.push_back(blank("right-padded texts of lengths 1 to " + std::to_string(T), 4, T, spec, gen));
  place_texts(batches.back(), lengths, spec);

  // The pad id inside texts (a GPT-2 text holding <|endoftext|>): where a last-token head pools (spec.h, Pooling),
  // RoBERTa's positions. One text starts with it, one holds it twice.
  if (T >= 4) {
    const std::vector<int64_t> inner = {T, std::max<int64_t>(4, T - 7), T};
    batches.push_back(blank("texts holding the pad id", 3, T, spec, gen));
    auto& s = batches.back();
    place_texts(s, inner, spec);
    s.ids[0][inner[0] / 3] = spec.pad_token_id;
    s.ids[1][0] = spec.pad_token_id;
    s.ids[2][1] = spec.pad_token_id;
    s.ids[2][inner[2] - 2] = spec.pad_token_id;
  }

  // Left padding: Hugging Face's last-token classifiers (GPT-2, OPT) take it (both pooling rules find the last
  // token). lwm's own batches are right-padded; the BERT family and T5 are not used left-padded, and a language
  // model's forward() returns every position, padding included, which left padding would put first.
  if (spec.head == HeadType::LastToken) {
    batches.push_back(blank("left-padded texts", 3, T, spec, gen));
    place_texts(batches.back(), {T, std::max<int64_t>(1, T - 5), 1}, spec, /*left=*/true);
  }

  // Batch 1: one token, and the longest text the model takes (language models: batch 1, as its forward()
  // returns [B, T, vocab]; others: beside a shorter one).
  batches.push_back(blank("one text of 1 token", 1, 1, spec, gen));
  place_texts(batches.back(), {1}, spec);
  if (longest > T) {
    const bool lm = spec.head == HeadType::LabelWords;
    batches.push_back(blank("texts of the longest length, " + std::to_string(longest), lm ? 1 : 2, longest, spec, gen));
    place_texts(batches.back(), lm ? std::vector<int64_t>{longest} : std::vector<int64_t>{longest, longest / 2}, spec);
  }
  return batches;
}

// The largest |difference| over the sample batches, and the batch it came from.
std::pair<double, std::string> worst_difference(const torch::jit::Module& reference, const torch::jit::Module& candidate,
                                                const ModelSpec& spec, uint64_t seed) {
  torch::NoGradGuard no_grad;
  auto gen = at::detail::createCPUGenerator(seed + 1);
  std::pair<double, std::string> worst = {0.0, ""};
  for (const auto& s : sample_batches(spec, seed)) {
    torch::Tensor a, b;
    if (spec.head == HeadType::LabelWords) {
      // Language models: the LM logits of forward() (the reference may have no classify()); an encoder-decoder
      // also gets decoder inputs starting with the decoder start token.
      const int64_t dec_len = 20;  // past 16: the decoder's log-spaced relative buckets too
      torch::Tensor dec;
      if (spec.encoder_decoder) {
        dec = torch::randint(0, spec.vocab_size, {s.ids.size(0), dec_len}, gen, torch::kLong);
        dec.select(1, 0).fill_(spec.decoder_start_token_id);
      }
      auto call = [&](torch::jit::Module m) {  // a handle: forward() is not const
        std::vector<c10::IValue> inputs;
        for (const auto& arg : forward_arg_names(m)) {
          inputs.emplace_back(arg == "input_ids" ? s.ids : arg == "attention_mask" ? s.mask : dec);
        }
        auto out = m.forward(inputs);
        return out.isTuple() ? out.toTupleRef().elements().at(0).toTensor() : out.toTensor();
      };
      a = call(reference);
      b = call(candidate);
    } else {
      ModelRunner ref(reference), cand(candidate);
      a = ref.logits(s.ids, s.mask, s.types);
      b = cand.logits(s.ids, s.mask, s.types);
    }
    const double diff =
        a.sizes() == b.sizes() ? (a - b).abs().max().item<double>() : std::numeric_limits<double>::infinity();
    if (!(diff <= worst.first) || worst.second.empty()) worst = {diff, s.what};
    if (std::isnan(diff)) break;
  }
  return worst;
}

}  // namespace

double max_logit_difference(const torch::jit::Module& reference, const torch::jit::Module& candidate,
                            const ModelSpec& spec, uint64_t seed) {
  return worst_difference(reference, candidate, spec, seed).first;
}

double verify_faithful(const torch::jit::Module& reference, const torch::jit::Module& candidate, const ModelSpec& spec,
                       double tolerance) {
  const auto [diff, where] = worst_difference(reference, candidate, spec, 0);
  if (!(diff <= tolerance)) {
    throw ModelError(fmt::format(
        "cannot be rebuilt faithfully: max |logit difference| {:.3g} > {:.0e} (on {}){}", diff, tolerance, where,
        spec.head == HeadType::LastToken && where == "texts holding the pad id"
            ? ": the file pools another token than lwm's rules (transformers' last non-padding token: "
              "rightmost-non-pad, before-first-pad)"
            : ""));
  }
  return diff;
}

}  // namespace lwm

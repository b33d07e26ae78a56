// What a prunable unit is (which weight entries it owns) and how important it is (their L2 norm).
#include <torch/utils.h>

#include "lwm/common/error.h"
#include "lwm/compress/pruning.h"

namespace lwm {

std::string to_string(UnitKind k) {
  switch (k) {
    case UnitKind::Head:
      return "heads";
    case UnitKind::Ffn:
      return "ffn";
    case UnitKind::Hidden:
      return "hidden";
  }
  return "?";
}

std::vector<UnitGroup> unit_groups(const ModelSpec& spec) {
  const int L = spec.num_layers();
  // Projection weights are [out, in] (Linear) or [in, out] (GPT-2's Conv1D): a unit that is an output
  // of a projection owns entries along out_axis, one that is an input along in_axis. Biases, where the
  // family has them (not T5), go with the outputs.
  const int64_t out = spec.out_axis(), in = spec.in_axis();
  const bool biases = spec.linear_bias;
  std::vector<UnitGroup> groups;
  // Outputs [offset + u*width, ...) of projection `m` of layer l, with its bias.
  auto outputs = [&](UnitGroup& g, int l, const std::string& m, int64_t offset, int64_t width) {
    g.slices.push_back({spec.layer_param(l, m, "weight"), out, offset, width});
    if (biases) g.slices.push_back({spec.layer_param(l, m, "bias"), 0, offset, width});
  };
  auto head_group = [&](int l, bool cross) {
    const auto& n = spec.names_of(l);
    const int64_t d = spec.layers[l].head_dim;
    const int64_t heads = cross ? spec.layers[l].cross_heads : spec.layers[l].heads;
    UnitGroup g{UnitKind::Head, l, heads, {}, cross};
    if (!cross && spec.fused_qkv()) {
      // One Q|K|V matrix: head h owns d outputs in each of the three blocks, at h*d, A + h*d and
      // 2A + h*d, so a head's q, k and v always go together and the blocks keep their order.
      for (int64_t block = 0; block < 3; ++block) outputs(g, l, n.qkv, block * heads * d, d);
    } else {
      for (const auto* m : cross ? std::vector<const std::string*>{&n.cross_query, &n.cross_key, &n.cross_value}
                                 : std::vector<const std::string*>{&n.query, &n.key, &n.value}) {
        outputs(g, l, *m, 0, d);
      }
    }
    g.slices.push_back({spec.layer_param(l, cross ? n.cross_out : n.attn_out, "weight"), in, 0, d});
    return g;
  };

  for (int l = 0; l < L; ++l) groups.push_back(head_group(l, false));
  for (int l = 0; l < L; ++l) {
    if (spec.layers[l].decoder) groups.push_back(head_group(l, true));
  }
  for (int l = 0; l < L; ++l) {
    const auto& n = spec.names_of(l);
    UnitGroup g{UnitKind::Ffn, l, spec.layers[l].ffn, {}, false};
    outputs(g, l, n.ffn_in, 0, 1);
    if (!n.ffn_gate.empty()) outputs(g, l, n.ffn_gate, 0, 1);
    g.slices.push_back({spec.layer_param(l, n.ffn_out, "weight"), in, 0, 1});
    groups.push_back(std::move(g));
  }

  UnitGroup h{UnitKind::Hidden, -1, spec.hidden, {}, false};
  auto slice = [&h](const std::string& t, int64_t dim) { h.slices.push_back({t, dim, 0, 1}); };
  auto norm = [&](const std::string& m) {
    slice(m + ".weight", 0);
    if (spec.norm_kind == NormKind::LayerNorm) slice(m + ".bias", 0);
  };
  const auto& n = spec.names;
  if (!n.embedding_project.empty()) {
    // ELECTRA: the stream starts at embeddings_project's outputs; the embeddings and their norm before it keep
    // their width.
    slice(n.embedding_project + ".weight", 0);
    slice(n.embedding_project + ".bias", 0);
  } else {
    if (n.project_in.empty()) {
      slice(n.word_embeddings + ".weight", 1);
    } else {
      // OPT with a narrower embedding: the stream starts at project_in's outputs and ends at project_out's
      // inputs; the embedding itself (and the head reading project_out) keep their width.
      slice(n.project_in + ".weight", 0);
      slice(n.project_out + ".weight", 1);
    }
    if (!n.position_embeddings.empty()) slice(n.position_embeddings + ".weight", 1);
    if (spec.type_vocab_size > 0) slice(n.token_type_embeddings + ".weight", 1);
    if (!n.embedding_norm.empty()) norm(n.embedding_norm);
  }
  for (int l = 0; l < L; ++l) {
    const auto& ln = spec.names_of(l);
    // Readers of the residual stream (an encoder-decoder's cross-attention keys and values read the
    // encoder's, which shares the embedding and so the dimensions): their inputs.
    std::vector<const std::string*> readers = {&ln.ffn_in};
    if (spec.fused_qkv()) {
      readers.push_back(&ln.qkv);
    } else {
      for (const auto* m : {&ln.query, &ln.key, &ln.value}) readers.push_back(m);
    }
    if (!ln.ffn_gate.empty()) readers.push_back(&ln.ffn_gate);
    std::vector<const std::string*> writers = {&ln.attn_out, &ln.ffn_out};
    std::vector<const std::string*> norms = {&ln.attn_norm, &ln.ffn_norm};
    if (spec.layers[l].decoder) {
      for (const auto* m : {&ln.cross_query, &ln.cross_key, &ln.cross_value}) readers.push_back(m);
      writers.push_back(&ln.cross_out);
      norms.push_back(&ln.cross_norm);
    }
    for (const auto* m : readers) slice(spec.layer_param(l, *m, "weight"), in);
    // Writers: their outputs and biases; and the norms.
    for (const auto* m : writers) {
      slice(spec.layer_param(l, *m, "weight"), out);
      if (biases) slice(spec.layer_param(l, *m, "bias"), 0);
    }
    for (const auto* m : norms) norm(spec.layer_path(l) + "." + *m);
  }
  if (!n.final_norm.empty()) norm(n.final_norm);
  if (spec.encoder_decoder) norm(spec.decoder_names.final_norm);
  // The head reads the stream (token 0, the last token, or every decoder position): its input columns.
  if (spec.head == HeadType::LabelWords) {
    if (!n.lm_head.empty()) slice(n.lm_head + ".weight", 1);  // tied: the word embedding, above
  } else if (!n.head_dense.empty()) {
    slice(n.head_dense + ".weight", 1);
  } else if (n.project_out.empty()) {
    slice(n.head_out + ".weight", 1);
  }
  groups.push_back(std::move(h));
  return groups;
}

namespace {

const torch::Tensor& find_weight(const Weights& weights, const std::string& name) {
  auto it = weights.find(name);
  if (it == weights.end()) throw ModelError("pruning: the model has no parameter '" + name + "'");
  return it->second;
}

// The part of `t` a slice covers, with the units along dim 0: [count, everything else a unit owns].
torch::Tensor per_unit(const torch::Tensor& t, const UnitSlice& s, int64_t count) {
  if (s.dim >= t.dim() || s.offset + count * s.width > t.size(s.dim)) {
    throw ModelError("pruning: parameter '" + s.tensor + "' is smaller than the spec says");
  }
  return t.narrow(s.dim, s.offset, count * s.width).movedim(s.dim, 0).reshape({count, -1});
}

}  // namespace

torch::Tensor unit_importance(const UnitGroup& group, const Weights& weights) {
  torch::NoGradGuard no_grad;
  auto squares = torch::zeros({group.count}, torch::kDouble);
  if (group.count == 0) return squares;
  for (const auto& s : group.slices) {
    auto rows = per_unit(find_weight(weights, s.tensor).detach(), s, group.count);
    squares += rows.square().sum(1).to(torch::kCPU, torch::kDouble);
  }
  return squares.sqrt();
}

PruneMasks PruneMasks::keep_all(const ModelSpec& spec) {
  PruneMasks m;
  for (const auto& layer : spec.layers) {
    m.heads.push_back(torch::ones({layer.heads}, torch::kBool));
    m.cross_heads.push_back(torch::ones({layer.cross_heads}, torch::kBool));
    m.ffn.push_back(torch::ones({layer.ffn}, torch::kBool));
  }
  m.hidden = torch::ones({spec.hidden}, torch::kBool);
  return m;
}

const torch::Tensor& PruneMasks::of(const UnitGroup& group) const {
  switch (group.kind) {
    case UnitKind::Head:
      return group.cross ? cross_heads.at(group.layer) : heads.at(group.layer);
    case UnitKind::Ffn:
      return ffn.at(group.layer);
    case UnitKind::Hidden:
      return hidden;
  }
  return hidden;
}

torch::Tensor& PruneMasks::of(const UnitGroup& group) {
  return const_cast<torch::Tensor&>(static_cast<const PruneMasks&>(*this).of(group));
}

}  // namespace lwm

#include "lwm/model/tensor_inventory.h"

namespace lwm {

std::string to_string(Role r) {
  switch (r) {
    case Role::WordEmbedding: return "word_embeddings";
    case Role::PositionEmbedding: return "position_embeddings";
    case Role::TokenTypeEmbedding: return "token_type_embeddings";
    case Role::EmbeddingNorm: return "embedding_norm";
    case Role::ProjectIn: return "project_in";
    case Role::ProjectOut: return "project_out";
    case Role::EmbeddingProject: return "embedding_project";
    case Role::Query: return "query";
    case Role::Key: return "key";
    case Role::Value: return "value";
    case Role::Qkv: return "qkv";
    case Role::AttnOut: return "attn_out";
    case Role::AttnNorm: return "attn_norm";
    case Role::FfnIn: return "ffn_in";
    case Role::FfnGate: return "ffn_gate";
    case Role::FfnOut: return "ffn_out";
    case Role::FfnNorm: return "ffn_norm";
    case Role::CrossQuery: return "cross_query";
    case Role::CrossKey: return "cross_key";
    case Role::CrossValue: return "cross_value";
    case Role::CrossOut: return "cross_out";
    case Role::CrossNorm: return "cross_norm";
    case Role::RelativeBias: return "relative_bias";
    case Role::FinalNorm: return "final_norm";
    case Role::LmHead: return "lm_head";
    case Role::HeadDense: return "head_dense";
    case Role::HeadOut: return "head_out";
  }
  return "?";
}

std::string to_string(Axis a) {
  switch (a) {
    case Axis::Vocab: return "vocab";
    case Axis::Positions: return "positions";
    case Axis::TokenTypes: return "token_types";
    case Axis::Embedding: return "embedding";
    case Axis::Hidden: return "hidden";
    case Axis::Heads: return "heads";
    case Axis::FusedHeads: return "fused_heads";
    case Axis::CrossHeads: return "cross_heads";
    case Axis::Ffn: return "ffn";
    case Axis::Labels: return "labels";
    case Axis::HeadWidth: return "head_width";
    case Axis::Buckets: return "buckets";
    case Axis::BiasTableHeads: return "bias_table_heads";
  }
  return "?";
}

const std::vector<RoleName>& role_names() {
  static const std::vector<RoleName> table = {
      {Role::WordEmbedding, &ParamNames::word_embeddings},
      {Role::PositionEmbedding, &ParamNames::position_embeddings},
      {Role::TokenTypeEmbedding, &ParamNames::token_type_embeddings},
      {Role::EmbeddingNorm, &ParamNames::embedding_norm},
      {Role::ProjectIn, &ParamNames::project_in},
      {Role::ProjectOut, &ParamNames::project_out},
      {Role::EmbeddingProject, &ParamNames::embedding_project},
      {Role::Query, &ParamNames::query},
      {Role::Key, &ParamNames::key},
      {Role::Value, &ParamNames::value},
      {Role::Qkv, &ParamNames::qkv},
      {Role::AttnOut, &ParamNames::attn_out},
      {Role::AttnNorm, &ParamNames::attn_norm},
      {Role::FfnIn, &ParamNames::ffn_in},
      {Role::FfnGate, &ParamNames::ffn_gate},
      {Role::FfnOut, &ParamNames::ffn_out},
      {Role::FfnNorm, &ParamNames::ffn_norm},
      {Role::CrossQuery, &ParamNames::cross_query},
      {Role::CrossKey, &ParamNames::cross_key},
      {Role::CrossValue, &ParamNames::cross_value},
      {Role::CrossOut, &ParamNames::cross_out},
      {Role::CrossNorm, &ParamNames::cross_norm},
      {Role::RelativeBias, &ParamNames::relative_bias},
      {Role::FinalNorm, &ParamNames::final_norm},
      {Role::LmHead, &ParamNames::lm_head},
      {Role::HeadDense, &ParamNames::head_dense},
      {Role::HeadOut, &ParamNames::head_out},
  };
  return table;
}

int64_t axis_size(const ModelSpec& spec, int layer, Axis axis) {
  const LayerSpec* l = layer >= 0 && layer < spec.num_layers() ? &spec.layers[layer] : nullptr;
  auto per_layer = [&](int64_t value) { return l ? value : -1; };
  switch (axis) {
    case Axis::Vocab: return spec.vocab_size;
    case Axis::Positions: return spec.max_positions + spec.position_offset;
    case Axis::TokenTypes: return spec.type_vocab_size;
    case Axis::Embedding: return spec.embedding_width > 0 ? spec.embedding_width : spec.hidden;
    case Axis::Hidden: return spec.hidden;
    case Axis::Heads: return per_layer(l ? int64_t{l->heads} * l->head_dim : 0);
    case Axis::FusedHeads: return per_layer(l ? 3 * int64_t{l->heads} * l->head_dim : 0);
    case Axis::CrossHeads: return per_layer(l ? int64_t{l->cross_heads} * l->head_dim : 0);
    case Axis::Ffn: return per_layer(l ? l->ffn : 0);
    case Axis::Labels: return spec.num_labels;
    case Axis::Buckets: return spec.relative_buckets;
    case Axis::HeadWidth:
    case Axis::BiasTableHeads: return -1;
  }
  return -1;
}

std::vector<InventoryTensor> tensor_inventory(const ModelSpec& spec) {
  std::vector<InventoryTensor> out;
  const auto& n = spec.names;
  const bool layer_norm = spec.norm_kind == NormKind::LayerNorm;
  // The word embedding is the residual stream's first writer unless project_in (OPT) or embedding_project
  // (ELECTRA) sits between them; positions, token types and the embedding norm are added at the embedding's
  // width before ELECTRA's embedding_project, at the stream's after OPT's project_in.
  const Axis word_width = n.project_in.empty() && n.embedding_project.empty() ? Axis::Hidden : Axis::Embedding;
  const Axis sum_width = n.embedding_project.empty() ? Axis::Hidden : Axis::Embedding;

  auto add = [&](Role role, int layer, const std::string& module, const char* leaf, std::vector<Axis> axes,
                 bool projection = false, bool transposed = false) {
    out.push_back({role, layer, module, leaf, std::move(axes), projection, transposed});
  };
  auto table = [&](Role role, const std::string& module, Axis rows, Axis cols) {
    add(role, -1, module, "weight", {rows, cols});
  };
  auto norm = [&](Role role, int layer, const std::string& module, Axis width) {
    add(role, layer, module, "weight", {width});
    if (layer_norm) add(role, layer, module, "bias", {width});
  };
  auto projection = [&](Role role, int layer, const std::string& module, Axis out_axis, Axis in_axis, bool bias,
                        bool transposed) {
    add(role, layer, module, "weight", transposed ? std::vector<Axis>{in_axis, out_axis} : std::vector<Axis>{out_axis, in_axis},
        true, transposed);
    if (bias) add(role, layer, module, "bias", {out_axis}, true, transposed);
  };

  table(Role::WordEmbedding, n.word_embeddings, Axis::Vocab, word_width);
  if (!n.project_in.empty()) projection(Role::ProjectIn, -1, n.project_in, Axis::Hidden, Axis::Embedding, false, false);
  if (!n.project_out.empty()) projection(Role::ProjectOut, -1, n.project_out, Axis::Embedding, Axis::Hidden, false, false);
  if (!n.embedding_project.empty()) {
    projection(Role::EmbeddingProject, -1, n.embedding_project, Axis::Hidden, Axis::Embedding, true, false);
  }
  if (!n.position_embeddings.empty()) table(Role::PositionEmbedding, n.position_embeddings, Axis::Positions, sum_width);
  if (spec.type_vocab_size > 0) table(Role::TokenTypeEmbedding, n.token_type_embeddings, Axis::TokenTypes, sum_width);
  if (!n.embedding_norm.empty()) norm(Role::EmbeddingNorm, -1, n.embedding_norm, sum_width);
  if (!n.final_norm.empty()) norm(Role::FinalNorm, -1, n.final_norm, Axis::Hidden);
  if (spec.encoder_decoder) norm(Role::FinalNorm, -1, spec.decoder_names.final_norm, Axis::Hidden);
  // A relative bias table belongs to its stack: every layer of the stack reads the one in its first layer.
  for (const auto& [stack, layers] : {std::pair{&spec.names, spec.num_encoder_layers()},
                                     std::pair{&spec.decoder_names, spec.num_decoder_layers()}}) {
    if (!stack->relative_bias.empty() && layers > 0) {
      add(Role::RelativeBias, -1, stack->layer_prefix + "0." + stack->relative_bias, "weight",
          {Axis::Buckets, Axis::BiasTableHeads});
    }
  }

  const bool t = spec.transposed_weights, b = spec.linear_bias;
  for (int l = 0; l < spec.num_layers(); ++l) {
    const auto& ln = spec.names_of(l);
    const std::string path = spec.layer_path(l) + ".";
    if (spec.fused_qkv()) {
      projection(Role::Qkv, l, path + ln.qkv, Axis::FusedHeads, Axis::Hidden, b, t);
    } else {
      projection(Role::Query, l, path + ln.query, Axis::Heads, Axis::Hidden, b, t);
      projection(Role::Key, l, path + ln.key, Axis::Heads, Axis::Hidden, b, t);
      projection(Role::Value, l, path + ln.value, Axis::Heads, Axis::Hidden, b, t);
    }
    projection(Role::AttnOut, l, path + ln.attn_out, Axis::Hidden, Axis::Heads, b, t);
    norm(Role::AttnNorm, l, path + ln.attn_norm, Axis::Hidden);
    if (spec.layers[l].decoder) {
      // Keys and values read the encoder output, which has the stream's width.
      projection(Role::CrossQuery, l, path + ln.cross_query, Axis::CrossHeads, Axis::Hidden, b, t);
      projection(Role::CrossKey, l, path + ln.cross_key, Axis::CrossHeads, Axis::Hidden, b, t);
      projection(Role::CrossValue, l, path + ln.cross_value, Axis::CrossHeads, Axis::Hidden, b, t);
      projection(Role::CrossOut, l, path + ln.cross_out, Axis::Hidden, Axis::CrossHeads, b, t);
      norm(Role::CrossNorm, l, path + ln.cross_norm, Axis::Hidden);
    }
    projection(Role::FfnIn, l, path + ln.ffn_in, Axis::Ffn, Axis::Hidden, b, t);
    if (!ln.ffn_gate.empty()) projection(Role::FfnGate, l, path + ln.ffn_gate, Axis::Ffn, Axis::Hidden, b, t);
    projection(Role::FfnOut, l, path + ln.ffn_out, Axis::Hidden, Axis::Ffn, b, t);
    norm(Role::FfnNorm, l, path + ln.ffn_norm, Axis::Hidden);
  }

  // The head reads the stream: token 0, the last token, or every decoder position (the LM head).
  if (spec.head == HeadType::LabelWords) {
    if (!n.lm_head.empty()) projection(Role::LmHead, -1, n.lm_head, Axis::Vocab, Axis::Hidden, false, false);
    return out;  // tied: the word embedding, above
  }
  if (!n.head_dense.empty()) projection(Role::HeadDense, -1, n.head_dense, Axis::HeadWidth, Axis::Hidden, true, false);
  const Axis head_in = !n.head_dense.empty() ? Axis::HeadWidth : !n.project_out.empty() ? Axis::Embedding : Axis::Hidden;
  projection(Role::HeadOut, -1, n.head_out, Axis::Labels, head_in, spec.head_out_bias, false);
  return out;
}

std::map<std::string, bool> projection_modules(const ModelSpec& spec) {
  std::map<std::string, bool> out;
  for (const auto& t : tensor_inventory(spec)) {
    if (t.projection) out[t.module] = t.transposed;
  }
  return out;
}

}  // namespace lwm

#pragma once
// Every tensor a spec implies, each with its role and what each of its axes indexes: the one place that states
// which tensors a model has and their shape rules. Weight validation (weight_check.h), the projection list int8
// quantizes, pruning's unit groups (lwm/compress/pruning.h), layer removal and `compress inspect --json` walk
// this list; none of them names a family. An importer supplies only the family's table from role to Hugging
// Face module name (ParamNames, spec.h), as llama.cpp keeps one tensor-name table per architecture
// (src/llama-arch.cpp, LLM_TENSOR_NAMES).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "lwm/model/spec.h"

namespace lwm {

// The part a module plays; one per ParamNames member (spec.h), whose JSON key to_string() gives.
enum class Role {
  WordEmbedding, PositionEmbedding, TokenTypeEmbedding, EmbeddingNorm,
  ProjectIn, ProjectOut, EmbeddingProject,                      // OPT's project_in/out; ELECTRA's embeddings_project
  Query, Key, Value, Qkv, AttnOut, AttnNorm,                    // Qkv: one fused Q|K|V module (GPT-2's c_attn)
  FfnIn, FfnGate, FfnOut, FfnNorm,                              // FfnGate: T5 v1.1's gated FFN
  CrossQuery, CrossKey, CrossValue, CrossOut, CrossNorm,        // decoder layers of an encoder-decoder (T5)
  RelativeBias,                                                 // T5: [buckets, heads], in the stack's first layer
  FinalNorm, LmHead, HeadDense, HeadOut,
};
std::string to_string(Role r);  // the role's key in a spec's "names" JSON: "word_embeddings", "qkv", ...

// Every role with the ParamNames member that names its module: the spec's JSON (de)serialization of the names and
// tensor_inventory() walk this one table.
struct RoleName {
  Role role;
  std::string ParamNames::*member;
};
const std::vector<RoleName>& role_names();

// What one axis of a tensor indexes, and so its size (axis_size):
enum class Axis {
  Vocab,           // vocab_size
  Positions,       // max_positions + position_offset
  TokenTypes,      // type_vocab_size
  Embedding,       // embedding_width, where the embedding is not the residual stream (OPT's project_in/out, ELECTRA)
  Hidden,          // hidden: the residual stream, what hidden pruning cuts
  Heads,           // heads * head_dim of the layer: head h owns entries [h*head_dim, (h+1)*head_dim)
  FusedHeads,      // 3 * heads * head_dim: Q, K and V blocks, each laid out as Heads
  CrossHeads,      // cross_heads * head_dim of a decoder layer
  Ffn,             // the layer's intermediate (FFN) width
  Labels,          // num_labels
  HeadWidth,       // the classifier's inner width (head_dense's outputs): not in the spec, equal wherever it occurs
  Buckets,         // relative_buckets
  BiasTableHeads,  // the heads of a relative bias table: at least the layer's heads (their ids: bias_heads)
};
std::string to_string(Axis a);

// One tensor: "<module>.weight" or "<module>.bias".
struct InventoryTensor {
  Role role;
  int layer = -1;            // index into spec.layers; -1 for a model-level tensor and the stack-shared bias table
  std::string module;        // full dotted module path, e.g. "bert.encoder.layer.3.attention.self.query"
  std::string leaf;          // "weight" or "bias"
  std::vector<Axis> axes;    // in storage order: Linear [out, in], Conv1D (transposed_weights) [in, out]
  bool projection = false;   // a Linear (or GPT-2 Conv1D) module's tensor: what int8 quantizes
  bool transposed = false;   // projection stored [in, out]
  std::string name() const { return module + "." + leaf; }
};

// Every tensor the rebuilt model reads, model-level ones first, then layer by layer. Per role: embeddings
// [rows, width]; projections' weights [out, in] (or [in, out]) and biases [out] where the family has them
// (spec.linear_bias for layer projections, head_out_bias for head_out; embedding_project and head_dense always,
// project_in/out and lm_head never); norms weight [width] and, for LayerNorm, bias [width].
std::vector<InventoryTensor> tensor_inventory(const ModelSpec& spec);

// The size the spec gives `axis` in layer `layer` (-1: model level); -1 for HeadWidth and BiasTableHeads, which
// the spec does not fix.
int64_t axis_size(const ModelSpec& spec, int layer, Axis axis);

// The projection modules (full dotted paths), each with whether its weight is stored [in, out]: what int8
// quantizes.
std::map<std::string, bool> projection_modules(const ModelSpec& spec);

}  // namespace lwm

#pragma once
// The TorchScript source of a rebuilt model, for torch::jit::Module::define(): a pure code generator (a spec
// and explicit options in, text out, no state), so that a change to what lwm builds is one reviewable diff of
// text (the snapshot tests in tests/unit/test_torchscript_source.cpp). The module tree, its weights and
// attributes are model/builder.h's job. The code follows the Hugging Face modules the importers read
// (BertModel, RobertaModel, DistilBertModel, GPT2Model, OPTModel, T5Model and their classification heads);
// each method's comment names its rule.
#include <set>
#include <string>
#include <vector>

#include "lwm/model/spec.h"

namespace lwm {

struct SourceOptions {
  // Norms over the kept hidden dimensions only (BuildOptions::hidden_mask): every module gets a float buffer
  // `hidden_mask` [hidden].
  bool hidden_mask = false;
  // int8 (compress/quantize.h): the projections (full module paths) whose module has an attribute `int8`, its
  // packed weights, called through quantized::linear_dynamic instead of the fp32 weight; kTiedLmHeadInt8 for
  // a tied LM head's packed copy of the word embedding (a root attribute of that name).
  std::set<std::string> int8_projections;
  // The word embedding module holds `weight_int8` [vocab, E] int8 and `weight_scale` [vocab, 1] float
  // instead of `weight`; lookups dequantize the rows they read.
  bool int8_embedding = false;
};

// The root attribute holding a tied LM head's packed int8 copy of the word embedding (SourceOptions).
inline constexpr const char* kTiedLmHeadInt8 = "lm_head_int8";

class TorchScriptSource {
 public:
  TorchScriptSource(ModelSpec spec, SourceOptions options);

  // The helper methods every module (the root and each layer) defines before the others: the norm helpers the
  // spec's norm needs and, in an int8 model, int8_linear().
  std::vector<std::string> helpers() const;
  // Layer l's forward(x, mask_bias) (a decoder layer: forward(x, mask_bias, enc, enc_bias)); x [batch, seq,
  // hidden] float, mask_bias [batch or 1, heads or 1, seq, seq] added to the attention scores.
  std::string layer(int l) const;
  // The root's methods, in the order they must be defined: forward() with the teacher's signature and outputs,
  // forward_hidden() -> (logits, hidden states) for distillation, and, for label-word models, classify()
  // -> [batch, labels]; for an encoder-decoder (T5) also relative_bias(), encode_hidden(), decode() and
  // label_scores().
  std::vector<std::string> root() const;

 private:
  ModelSpec spec_;
  SourceOptions options_;
};

}  // namespace lwm

#include "lwm/model/builder.h"

#include <ATen/ATen.h>
#include <torch/csrc/jit/frontend/resolver.h>
#include <torch/custom_class.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <cctype>
#include <set>
#include <sstream>

#include "lwm/common/error.h"
#include "lwm/compress/quantize.h"

namespace lwm {
namespace {

using torch::jit::Module;

// Finfo(float32).min, as Hugging Face fills masked attention scores.
constexpr const char* kMaskFill = "-3.4028234663852886e+38";

Module new_module(const std::shared_ptr<torch::jit::CompilationUnit>& cu, const std::string& type) {
  Module m(c10::QualifiedName("__torch__.lwm." + type), cu, /*shouldMangle=*/true);
  m.register_attribute("training", c10::BoolType::get(), false);
  return m;
}

// Returns the module at a dotted path below `root`, creating containers on the way.
Module ensure_path(Module root, const std::string& path, const std::shared_ptr<torch::jit::CompilationUnit>& cu) {
  Module current = root;
  std::stringstream parts(path);
  std::string part;
  while (std::getline(parts, part, '.')) {
    if (current.hasattr(part)) {
      current = current.attr(part).toModule();
    } else {
      Module child = new_module(cu, "Module");
      current.register_module(part, child);
      current = child;
    }
  }
  return current;
}

std::string activation_code(Activation a, const std::string& x) {
  switch (a) {
    case Activation::GeluErf: return "torch.gelu(" + x + ")";
    case Activation::GeluTanh: return "torch.gelu(" + x + ", approximate='tanh')";
    case Activation::Relu: return "torch.relu(" + x + ")";
  }
  return x;
}

// `self.` + a dotted module path, with getattr() for numeric parts, which are not identifiers
// ("layer.0.SelfAttention.q" -> "getattr(self.layer, '0').SelfAttention.q").
std::string self_path(const std::string& path) {
  std::string expr = "self";
  std::stringstream parts(path);
  std::string part;
  while (std::getline(parts, part, '.')) {
    if (!part.empty() && std::isdigit(static_cast<unsigned char>(part[0]))) {
      expr = "getattr(" + expr + ", '" + part + "')";
    } else {
      expr += "." + part;
    }
  }
  return expr;
}

// Set while build_module() writes the sources of a BuildOptions::int8 model: the projections (full module
// paths) whose weights were packed, which then call them (attribute `int8` of the projection's module)
// through int8_linear() (kInt8Linear), and the path prefix of the module whose source is being written.
struct Int8Sources {
  std::set<std::string> packed;
  std::string prefix;
  bool embedding = false;  // the word embedding is stored int8 (weight_int8, weight_scale)
};
const Int8Sources* g_int8 = nullptr;
// A tied LM head (T5, GPT-2 LM)'s packed copy of the embedding (a root attribute), as it appears in packed.
constexpr const char* kTiedLmHeadInt8 = "lm_head_int8";

// The word embedding rows of `ids` (the root's module `m`): from the fp32 table, or, in an int8 model, from
// the int8 table times each row's scale.
std::string embedding_lookup(const std::string& m, const std::string& ids) {
  if (g_int8 && g_int8->embedding) {
    return "(torch.embedding(" + self_path(m) + ".weight_int8, " + ids + ").float() * torch.embedding(" +
           self_path(m) + ".weight_scale, " + ids + "))";
  }
  return "torch.embedding(" + self_path(m) + ".weight, " + ids + ")";
}

// A projection of `x` by module `m` (its weight, and its bias when `bias`), in the layout the spec
// stores: Linear [out, in] or, with transposed_weights, GPT-2's Conv1D [in, out] (x @ W + b).
// In an int8 model, a packed projection calls int8_linear() instead.
std::string linear(const std::string& x, const std::string& m, bool transposed = false, bool bias = true) {
  if (g_int8 && g_int8->packed.count(g_int8->prefix + m)) return "self.int8_linear(" + x + ", " + self_path(m) + ".int8)";
  const std::string w = self_path(m) + ".weight" + (transposed ? ".t()" : "");
  return "torch.linear(" + x + ", " + w + (bias ? ", " + self_path(m) + ".bias)" : ")");
}

// The language-model logits of `x` over the vocabulary: an untied lm_head, or the word embedding (tied; in an
// int8 model its packed copy, as there is no fp32 table left to multiply by).
std::string lm_logits(const ModelSpec& spec, const std::string& x) {
  if (!spec.names.lm_head.empty()) return linear(x, spec.names.lm_head, false, false);
  if (g_int8 && g_int8->packed.count(kTiedLmHeadInt8)) return "self.int8_linear(" + x + ", self." + kTiedLmHeadInt8 + ")";
  return "torch.linear(" + x + ", " + self_path(spec.names.word_embeddings) + ".weight)";
}

// The int8 projection every module of a BuildOptions::int8 model defines: quantized::linear_dynamic with
// reduce_range, as PyTorch's own dynamic Linear (torch.ao.nn.quantized.dynamic.Linear) calls it: activations
// are quantized per call to 7 bits, so that FBGEMM's AVX2 kernels (u8 x s8 pairs summed in 16 bits) cannot
// saturate on CPUs without VNNI.
constexpr const char* kInt8Linear = R"(
def int8_linear(self, x: Tensor, w: __torch__.torch.classes.quantized.LinearPackedParamsBase) -> Tensor:
    return quantized.linear_dynamic(x, w, True)
)";

// Resolves `quantized.` in the sources to the quantized:: operators (define()'s default resolver knows only
// `torch.`, i.e. aten::).
struct QuantizedOpsResolver : public torch::jit::Resolver {
  std::shared_ptr<torch::jit::SugaredValue> resolveValue(const std::string& name, torch::jit::GraphFunction& f,
                                                         const torch::jit::SourceRange& loc) override {
    if (name == "quantized") return std::make_shared<torch::jit::BuiltinModule>("quantized");
    return torch::jit::nativeResolver()->resolveValue(name, f, loc);
  }
  c10::TypePtr resolveType(const std::string& name, const torch::jit::SourceRange& loc) override {
    return torch::jit::nativeResolver()->resolveType(name, loc);
  }
};


// The spec's norm (LayerNorm, or T5's RMS norm: no mean, no bias) of `x` by module `m`; with a hidden mask
// (BuildOptions::hidden_mask), the masked forms below.
std::string norm(const ModelSpec& spec, const std::string& x, const std::string& m, bool masked) {
  const std::string w = self_path(m) + ".weight";
  if (spec.norm_kind == NormKind::RmsNorm) {
    if (masked) return "self.masked_rms_norm(" + x + ", " + w + ")";
    return "self.rms_norm(" + x + ", " + w + ")";
  }
  const std::string b = self_path(m) + ".bias";
  if (masked) return "self.masked_norm(" + x + ", " + w + ", " + b + ")";
  return "torch.layer_norm(" + x + ", [" + w + ".size(0)], " + w + ", " + b + ", self.eps)";
}

// LayerNorm with mean and variance over the kept dimensions only (hidden_mask 1) and zero output on the
// others: a model whose pruned hidden dims are masked computes exactly what its shrunk copy computes
// with torch.layer_norm over the kept dims. With an all-ones mask it equals torch.layer_norm (to rounding).
constexpr const char* kMaskedNormSource = R"(def masked_norm(self, x: Tensor, w: Tensor, b: Tensor) -> Tensor:
    m = self.hidden_mask
    n = m.sum()
    mean = (x * m).sum(-1, keepdim=True) / n
    d = (x - mean) * m
    var = (d * d).sum(-1, keepdim=True) / n
    return d * torch.rsqrt(var + self.eps) * w + b * m
)";

// T5's RMS norm (mean of squares in the input's float type), and its masked form: the mean over the kept
// dimensions only, as the shrunk model's RMS norm over fewer dimensions computes it.
constexpr const char* kRmsNormSource = R"(def rms_norm(self, x: Tensor, w: Tensor) -> Tensor:
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))
)";
constexpr const char* kMaskedRmsNormSource = R"(def masked_rms_norm(self, x: Tensor, w: Tensor) -> Tensor:
    m = self.hidden_mask
    var = (x * x * m).sum(-1, keepdim=True) / m.sum()
    return w * (x * torch.rsqrt(var + self.eps)) * m
)";

// The norm helpers a module with this spec calls.
void define_norms(Module& m, const ModelSpec& spec, bool masked) {
  if (spec.norm_kind == NormKind::RmsNorm) {
    m.define(masked ? kMaskedRmsNormSource : kRmsNormSource);
  } else if (masked) {
    m.define(kMaskedNormSource);
  }
}

// Multi-head attention of queries from `in` over keys/values from `kv` (the same for self-attention), by the
// projections q/k/v/o (or one fused Q|K|V), with `heads` heads of self.head_dim; `bias` is added to the
// scores (mask, and T5's relative position bias). Writes the block's output to `out`.
std::string attention_code(const ModelSpec& spec, int heads, const std::string& in, const std::string& kv,
                           const std::array<std::string, 4>& qkvo, const std::string& fused, const std::string& heads_attr,
                           const std::string& bias, const std::string& out) {
  const bool t = spec.transposed_weights, b = spec.linear_bias;
  std::ostringstream s;
  if (heads == 0) {
    // Every head pruned: the attention block adds only its output bias (nothing, without biases).
    if (b) {
      s << "    " << out << " = " << self_path(qkvo[3]) << ".bias.expand_as(" << in << ")\n";
    } else {
      s << "    " << out << " = torch.zeros_like(" << in << ")\n";
    }
    return s.str();
  }
  s << "    B = " << in << ".size(0)\n"
    << "    T = " << in << ".size(1)\n"
    << "    S = " << kv << ".size(1)\n"
    << "    A = self." << heads_attr << " * self.head_dim\n";
  if (!fused.empty()) {
    // Q | K | V blocks of width A each (heads*head_dim, fewer after head pruning), split by position.
    s << "    qkv = " << linear(in, fused, t, b) << "\n"
      << "    q = qkv.narrow(2, 0, A)\n"
      << "    k = qkv.narrow(2, A, A)\n"
      << "    v = qkv.narrow(2, 2 * A, A)\n";
  } else {
    s << "    q = " << linear(in, qkvo[0], t, b) << "\n"
      << "    k = " << linear(kv, qkvo[1], t, b) << "\n"
      << "    v = " << linear(kv, qkvo[2], t, b) << "\n";
  }
  s << "    q = q.view(B, T, self." << heads_attr << ", self.head_dim).transpose(1, 2)\n"
    << "    k = k.view(B, S, self." << heads_attr << ", self.head_dim).transpose(1, 2)\n"
    << "    v = v.view(B, S, self." << heads_attr << ", self.head_dim).transpose(1, 2)\n"
    << "    scores = torch.matmul(q, k.transpose(-1, -2))" << (spec.attention_scaling ? " / self.scale" : "")
    << " + " << bias << "\n"
    << "    probs = torch.dropout(torch.softmax(scores, -1), self.dropout_p, self.training)\n"
    << "    ctx = torch.matmul(probs, v).transpose(1, 2).reshape(B, T, A)\n"
    << "    " << out << " = " << linear("ctx", qkvo[3], t, b) << "\n";
  return s.str();
}

// One transformer layer: attention then FFN, each as a residual block with its norm after the sum
// (post-LN: BERT family, OPT without do_layer_norm_before) or before the block (pre-LN: GPT-2, OPT, T5).
// A decoder layer of an encoder-decoder attends to the encoder output `enc` between the two (T5).
std::string layer_source(const ModelSpec& spec, int l, bool masked) {
  const LayerSpec& layer = spec.layers[l];
  const auto& n = spec.names_of(l);
  const bool pre = spec.norm == NormPlacement::Pre;
  const bool t = spec.transposed_weights, b = spec.linear_bias;
  std::ostringstream s;
  s << (layer.decoder ? "def forward(self, x, mask_bias, enc, enc_bias):\n" : "def forward(self, x, mask_bias):\n");
  const std::string attn_in = pre ? "y" : "x";
  if (pre) s << "    y = " << norm(spec, "x", n.attn_norm, masked) << "\n";
  // T5: mask_bias holds every head of the stack's relative bias table; a head-pruned layer picks its own
  // (bias_heads). A layer with all of them uses it as it is.
  const std::string bias = layer.bias_heads.empty() ? "mask_bias" : "mask_bias.index_select(1, self.bias_heads)";
  s << attention_code(spec, layer.heads, attn_in, attn_in, {n.query, n.key, n.value, n.attn_out},
                      spec.fused_qkv() ? n.qkv : "", "num_heads", bias, "a");
  s << "    a = torch.dropout(a, self.dropout_p, self.training)\n";
  if (pre) {
    s << "    x = x + a\n";
  } else {
    s << "    x = " << norm(spec, "a + x", n.attn_norm, masked) << "\n";
  }
  if (layer.decoder) {
    s << "    y = " << norm(spec, "x", n.cross_norm, masked) << "\n";
    s << attention_code(spec, layer.cross_heads, "y", "enc", {n.cross_query, n.cross_key, n.cross_value, n.cross_out},
                        "", "cross_heads", "enc_bias", "c");
    s << "    x = x + torch.dropout(c, self.dropout_p, self.training)\n";
  }
  if (pre) s << "    y = " << norm(spec, "x", n.ffn_norm, masked) << "\n";
  const std::string ffn_in = pre ? "y" : "x";
  if (layer.ffn > 0) {
    s << "    h = " << activation_code(spec.activation, linear(ffn_in, n.ffn_in, t, b)) << "\n";
    if (!n.ffn_gate.empty()) s << "    h = h * " << linear(ffn_in, n.ffn_gate, t, b) << "\n";
    if (spec.encoder_decoder) s << "    h = torch.dropout(h, self.dropout_p, self.training)\n";
    s << "    h = " << linear("h", n.ffn_out, t, b) << "\n";
  } else if (b) {
    s << "    h = " << self_path(n.ffn_out) << ".bias.expand_as(x)\n";
  } else {
    s << "    h = torch.zeros_like(x)\n";
  }
  s << "    h = torch.dropout(h, self.dropout_p, self.training)\n";
  if (pre) {
    s << "    return x + h\n";
  } else {
    s << "    return " << norm(spec, "h + x", n.ffn_norm, masked) << "\n";
  }
  return s.str();
}

std::string has(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end() ? x : "";
}

// forward() with the teacher's signature and output; with `hidden_states`, the method
// forward_hidden() instead, returning (logits, [embedding output, layer 1 output, ...]) for
// hidden-state distillation. A decoder-only language model (HeadType::LabelWords: GPT-2's LM head) returns
// the LM logits of every position from forward(), as the teacher does, and from forward_hidden(input_ids,
// attention_mask) its label scores: each label word's log-probability as the next token after the last
// attended one (rank classification with one-token label words).
std::string root_source(const ModelSpec& spec, bool hidden_states, bool masked) {
  const auto& n = spec.names;
  const bool label_words = spec.head == HeadType::LabelWords;
  const auto args = label_words && hidden_states ? std::vector<std::string>{"input_ids", "attention_mask"} : spec.forward_args;
  std::ostringstream s;
  s << (hidden_states ? "def forward_hidden(self" : "def forward(self");
  for (const auto& arg : args) s << ", " << arg;
  s << (hidden_states ? ") -> Tuple[Tensor, List[Tensor]]:\n" : "):\n");
  if (has(args, "attention_mask").empty()) s << "    attention_mask = torch.ones_like(input_ids)\n";
  if (spec.type_vocab_size > 0 && has(args, "token_type_ids").empty()) {
    s << "    token_type_ids = torch.zeros_like(input_ids)\n";
  }
  if (spec.positions == PositionScheme::PaddingOffset) {
    s << "    not_pad = input_ids.ne(" << spec.pad_token_id << ").to(input_ids.dtype)\n"
      << "    positions = torch.cumsum(not_pad, 1) * not_pad + " << spec.pad_token_id << "\n";
  } else if (spec.positions == PositionScheme::MaskOffset) {
    // OPT: attended tokens numbered 0, 1, ... by the mask (padding gets -1), then the table's offset.
    s << "    attended = attention_mask.to(input_ids.dtype)\n"
      << "    positions = torch.cumsum(attended, 1) * attended - 1 + " << spec.position_offset << "\n";
  } else {
    // (define() cannot name dtypes; a cumulative sum of ones gives 0..T-1 with the ids' dtype and device.)
    s << "    positions = torch.cumsum(torch.ones_like(input_ids), 1) - 1\n";
  }
  s << "    x = " << embedding_lookup(n.word_embeddings, "input_ids") << "\n";
  if (!n.project_in.empty()) s << "    x = " << linear("x", n.project_in, false, false) << "\n";
  if (spec.type_vocab_size > 0) {
    s << "    x = x + torch.embedding(self." << n.token_type_embeddings << ".weight, token_type_ids)\n";
  }
  s << "    x = x + torch.embedding(self." << n.position_embeddings << ".weight, positions)\n";
  if (!n.embedding_norm.empty()) s << "    x = " << norm(spec, "x", n.embedding_norm, masked) << "\n";
  s << "    x = torch.dropout(x, self.dropout_p, self.training)\n"
    << "    mask_bias = (1.0 - attention_mask.to(x.dtype)).unsqueeze(1).unsqueeze(2) * " << kMaskFill << "\n";
  if (spec.causal) {
    // Query i sees keys 0..i: a [T, T] bias, finfo.min where key > query, broadcast over batch and heads.
    s << "    order = torch.cumsum(torch.ones_like(input_ids[0]), 0)\n"
      << "    future = order.unsqueeze(0) > order.unsqueeze(1)\n"
      << "    mask_bias = mask_bias + future.to(x.dtype) * " << kMaskFill << "\n";
  }
  if (hidden_states) s << "    hidden = [x]\n";
  const std::string layers = n.layer_prefix.substr(0, n.layer_prefix.size() - 1);
  for (int l = 0; l < spec.num_layers(); ++l) {
    s << "    x = getattr(self." << layers << ", '" << l << "').forward(x, mask_bias)\n";
    if (hidden_states) s << "    hidden.append(x)\n";
  }
  if (!n.final_norm.empty()) s << "    x = " << norm(spec, "x", n.final_norm, masked) << "\n";
  if (!n.project_out.empty()) s << "    x = " << linear("x", n.project_out, false, false) << "\n";
  if (spec.head == HeadType::LastToken) {
    // The token the teacher's transformers version pools (spec.h, Pooling).
    if (spec.pooling == Pooling::BeforeFirstPad) {
      // transformers 4.32-4.48: (eq(input_ids, pad).int().argmax(-1) - 1) % T; no pad id: argmax 0, the last token.
      s << "    first_pad = input_ids.eq(" << spec.pad_token_id << ").to(input_ids.dtype).argmax(-1)\n"
        << "    last = torch.remainder(first_pad - 1, input_ids.size(1))\n";
    } else {
      // transformers >= 4.49: the rightmost token that is not padding, argmax of index * (input_ids != pad).
      s << "    index = torch.cumsum(torch.ones_like(input_ids), 1) - 1\n"
        << "    last = (index * input_ids.ne(" << spec.pad_token_id << ").to(index.dtype)).argmax(-1)\n";
    }
    s << "    first = x.gather(1, last.view(-1, 1, 1).expand(-1, 1, x.size(2))).squeeze(1)\n";
  } else if (label_words) {
    if (hidden_states) {  // forward() returns every position
      // The last attended token: the next token after it is the label word.
      s << "    index = torch.cumsum(torch.ones_like(input_ids), 1) - 1\n"
        << "    last = (index * attention_mask.to(index.dtype)).argmax(-1)\n"
        << "    first = x.gather(1, last.view(-1, 1, 1).expand(-1, 1, x.size(2))).squeeze(1)\n";
    }
  } else {
    s << "    first = x.select(1, 0)\n";
  }
  switch (spec.head) {
    case HeadType::PoolerClassifier:
      s << "    pooled = torch.tanh(" << linear("first", n.head_dense) << ")\n"
        << "    logits = " << linear("torch.dropout(pooled, self.dropout_p, self.training)", n.head_out) << "\n";
      break;
    case HeadType::RobertaClassifier:
      s << "    h = torch.dropout(first, self.dropout_p, self.training)\n"
        << "    h = torch.tanh(" << linear("h", n.head_dense) << ")\n"
        << "    logits = " << linear("torch.dropout(h, self.dropout_p, self.training)", n.head_out) << "\n";
      break;
    case HeadType::PreClassifier:
      s << "    h = torch.relu(" << linear("first", n.head_dense) << ")\n"
        << "    logits = " << linear("torch.dropout(h, self.dropout_p, self.training)", n.head_out) << "\n";
      break;
    case HeadType::LastToken:
      s << "    logits = " << linear("first", n.head_out, false, spec.head_out_bias) << "\n";
      break;
    case HeadType::LabelWords:  // decoder-only here; encoder-decoders are built by seq2seq_sources()
      if (hidden_states) {
        s << "    logits = torch.log_softmax(" << lm_logits(spec, "first") << ", -1).index_select(1, self.label_targets.select(1, 0))\n";
      } else {
        s << "    logits = " << lm_logits(spec, "x") << "\n";
      }
      break;
  }
  if (hidden_states) {
    s << "    return logits, hidden\n";
  } else {
    s << (!spec.output_key.empty() ? "    return {\"" + spec.output_key + "\": logits}\n"
          : spec.returns_tuple     ? "    return (logits,)\n"
                                   : "    return logits\n");
  }
  return s.str();
}

// T5's bucketed relative position bias (Hugging Face T5Attention._relative_position_bucket and compute_bias):
// [1, heads of the table, q_len, k_len] from the table [buckets, heads]. Bidirectional (encoder): half the
// buckets for keys after the query; causal (decoder): later keys share bucket 0 (they are masked anyway).
// Half the rest are exact distances, the others logarithmic up to max_distance.
std::string relative_bias_source(const ModelSpec& spec) {
  std::ostringstream s;
  s.precision(17);
  s << "def relative_bias(self, table: Tensor, q_len: int, k_len: int, bidirectional: bool) -> Tensor:\n"
    << "    rel = torch.arange(k_len, device=table.device).unsqueeze(0) - torch.arange(q_len, device=table.device).unsqueeze(1)\n"
    << "    nb = " << spec.relative_buckets << "\n"
    << "    buckets = torch.zeros_like(rel)\n"
    << "    if bidirectional:\n"
    << "        nb = nb // 2\n"
    << "        buckets = buckets + rel.gt(0).long() * nb\n"
    << "        rel = torch.abs(rel)\n"
    << "    else:\n"
    << "        rel = -torch.min(rel, torch.zeros_like(rel))\n"
    << "    exact = nb // 2\n"
    << "    log_range = " << std::log(static_cast<double>(spec.relative_max_distance) / (spec.relative_buckets / 4)) << "\n"
    << "    if not bidirectional:\n"
    << "        log_range = " << std::log(static_cast<double>(spec.relative_max_distance) / (spec.relative_buckets / 2)) << "\n"
    << "    large = exact + (torch.log(rel.float() / exact) / log_range * (nb - exact)).long()\n"
    << "    large = torch.min(large, torch.full_like(large, nb - 1))\n"
    << "    buckets = buckets + torch.where(rel.lt(exact), rel, large)\n"
    << "    return torch.embedding(table, buckets).permute([2, 0, 1]).unsqueeze(0)\n";
  return s.str();
}

// An encoder-decoder (T5): encode_hidden() -> (encoder output, [embeddings, layer outputs]), decode() -> LM
// logits, forward() with the teacher's signature -> (lm_logits, encoder output) as Hugging Face returns
// them; with label words, classify() -> [B, labels] rank-classification scores (each label's summed token
// log-probs) and forward_hidden() -> (those scores, encoder hidden states) for distillation.
std::vector<std::string> seq2seq_sources(const ModelSpec& spec, bool masked) {
  const auto& en = spec.names;
  const auto& dn = spec.decoder_names;
  auto table = [&](const ParamNames& n) { return self_path(n.layer_prefix + "0." + n.relative_bias) + ".weight"; };
  auto stack = [](const ParamNames& n) { return self_path(n.layer_prefix.substr(0, n.layer_prefix.size() - 1)); };
  std::vector<std::string> out;
  out.push_back(relative_bias_source(spec));

  std::ostringstream e;
  e << "def encode_hidden(self, input_ids: Tensor, attention_mask: Tensor) -> Tuple[Tensor, List[Tensor]]:\n"
    << "    x = torch.dropout(" << embedding_lookup(en.word_embeddings, "input_ids") << ", self.dropout_p, self.training)\n"
    << "    T = input_ids.size(1)\n"
    << "    mask_bias = (1.0 - attention_mask.to(x.dtype)).unsqueeze(1).unsqueeze(2) * " << kMaskFill << "\n"
    << "    bias = self.relative_bias(" << table(en) << ", T, T, True) + mask_bias\n"
    << "    hidden = [x]\n";
  for (int l = 0; l < spec.num_encoder_layers(); ++l) {
    e << "    x = getattr(" << stack(en) << ", '" << l << "').forward(x, bias)\n"
      << "    hidden.append(x)\n";
  }
  e << "    x = torch.dropout(" << norm(spec, "x", en.final_norm, masked) << ", self.dropout_p, self.training)\n"
    << "    return x, hidden\n";
  out.push_back(e.str());

  std::ostringstream d;
  d << "def decode(self, decoder_input_ids: Tensor, enc: Tensor, attention_mask: Tensor) -> Tensor:\n"
    << "    x = torch.dropout(" << embedding_lookup(en.word_embeddings, "decoder_input_ids") << ", self.dropout_p, "
    << "self.training)\n"
    << "    T = decoder_input_ids.size(1)\n"
    << "    order = torch.cumsum(torch.ones_like(decoder_input_ids[0]), 0)\n"
    << "    future = order.unsqueeze(0) > order.unsqueeze(1)\n"
    << "    bias = self.relative_bias(" << table(dn) << ", T, T, False) + future.to(x.dtype) * " << kMaskFill << "\n"
    << "    enc_bias = (1.0 - attention_mask.to(x.dtype)).unsqueeze(1).unsqueeze(2) * " << kMaskFill << "\n";
  for (int l = spec.num_encoder_layers(); l < spec.num_layers(); ++l) {
    d << "    x = getattr(" << stack(dn) << ", '" << spec.stack_index(l) << "').forward(x, bias, enc, enc_bias)\n";
  }
  d << "    x = torch.dropout(" << norm(spec, "x", dn.final_norm, masked) << ", self.dropout_p, self.training)\n";
  if (spec.output_scale != 1.0) d << "    x = x * self.output_scale\n";
  d << "    return " << lm_logits(spec, "x") << "\n";
  out.push_back(d.str());

  std::ostringstream f;
  f << "def forward(self";
  for (const auto& arg : spec.forward_args) f << ", " << arg;
  f << "):\n";
  if (has(spec.forward_args, "attention_mask").empty()) f << "    attention_mask = torch.ones_like(input_ids)\n";
  f << "    enc = self.encode_hidden(input_ids, attention_mask)[0]\n"
    << "    return (self.decode(decoder_input_ids, enc, attention_mask), enc)\n";
  out.push_back(f.str());

  if (!spec.label_tokens.empty()) {
    // Every label's decoder input is [start, its tokens but the last] and its targets its tokens (padded
    // with -1); the B x labels pairs run through the decoder as one batch.
    out.push_back(R"(def label_scores(self, enc: Tensor, attention_mask: Tensor) -> Tensor:
    K = self.label_inputs.size(0)
    L = self.label_inputs.size(1)
    B = enc.size(0)
    S = enc.size(1)
    enc_k = enc.unsqueeze(1).expand(B, K, S, enc.size(2)).reshape(B * K, S, enc.size(2))
    mask_k = attention_mask.unsqueeze(1).expand(B, K, S).reshape(B * K, S)
    dec = self.label_inputs.unsqueeze(0).expand(B, K, L).reshape(B * K, L)
    logp = torch.log_softmax(self.decode(dec, enc_k, mask_k), -1)
    targets = self.label_targets.clamp(0).unsqueeze(0).expand(B, K, L).reshape(B * K, L, 1)
    weights = self.label_targets.ge(0).to(logp.dtype).unsqueeze(0).expand(B, K, L).reshape(B * K, L)
    return (logp.gather(2, targets).squeeze(2) * weights).sum(1).view(B, K)
)");
    out.push_back(R"(def classify(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
    return self.label_scores(self.encode_hidden(input_ids, attention_mask)[0], attention_mask)
)");
    out.push_back(R"(def forward_hidden(self, input_ids: Tensor, attention_mask: Tensor) -> Tuple[Tensor, List[Tensor]]:
    enc, hidden = self.encode_hidden(input_ids, attention_mask)
    return self.label_scores(enc, attention_mask), hidden
)");
  }
  return out;
}

void check_shape(const Weights& weights, const std::string& name, std::vector<int64_t> shape) {
  auto it = weights.find(name);
  if (it == weights.end()) throw ModelError("cannot build the model: missing weight '" + name + "'");
  if (it->second.sizes().vec() != shape) {
    std::ostringstream msg;
    msg << "cannot build the model: weight '" << name << "' has shape " << it->second.sizes() << ", the spec needs "
        << c10::IntArrayRef(shape);
    throw ModelError(msg.str());
  }
}

void check_weights(const ModelSpec& spec, const Weights& w) {
  const auto& n = spec.names;
  const int64_t H = spec.hidden;
  const int64_t E = spec.embedding_width > 0 ? spec.embedding_width : H;
  const bool layer_norm = spec.norm_kind == NormKind::LayerNorm;
  // A layer projection's weight shape in the spec's layout.
  auto proj = [&spec](int64_t out, int64_t in) {
    return spec.transposed_weights ? std::vector<int64_t>{in, out} : std::vector<int64_t>{out, in};
  };
  auto check_norm = [&](const std::string& prefix) {
    check_shape(w, prefix + ".weight", {H});
    if (layer_norm) check_shape(w, prefix + ".bias", {H});
  };
  auto check_proj = [&](const std::string& prefix, int64_t out, int64_t in) {
    check_shape(w, prefix + ".weight", proj(out, in));
    if (spec.linear_bias) check_shape(w, prefix + ".bias", {out});
  };
  check_shape(w, n.word_embeddings + ".weight", {spec.vocab_size, E});
  if (!n.project_in.empty()) check_shape(w, n.project_in + ".weight", {H, E});
  if (!n.project_out.empty()) check_shape(w, n.project_out + ".weight", {E, H});
  if (!n.position_embeddings.empty()) {
    check_shape(w, n.position_embeddings + ".weight", {spec.max_positions + spec.position_offset, H});
  }
  if (spec.type_vocab_size > 0) check_shape(w, n.token_type_embeddings + ".weight", {spec.type_vocab_size, H});
  if (!n.embedding_norm.empty()) check_norm(n.embedding_norm);
  if (!n.final_norm.empty()) check_norm(n.final_norm);
  if (spec.encoder_decoder) check_norm(spec.decoder_names.final_norm);
  for (int l = 0; l < spec.num_layers(); ++l) {
    const auto& ln = spec.names_of(l);
    const auto& layer = spec.layers[l];
    const int64_t A = layer.heads * layer.head_dim, F = layer.ffn;
    if (spec.fused_qkv()) {
      check_proj(spec.layer_path(l) + "." + ln.qkv, 3 * A, H);
    } else {
      for (const auto* m : {&ln.query, &ln.key, &ln.value}) check_proj(spec.layer_path(l) + "." + *m, A, H);
    }
    check_proj(spec.layer_path(l) + "." + ln.attn_out, H, A);
    check_proj(spec.layer_path(l) + "." + ln.ffn_in, F, H);
    if (!ln.ffn_gate.empty()) check_proj(spec.layer_path(l) + "." + ln.ffn_gate, F, H);
    check_proj(spec.layer_path(l) + "." + ln.ffn_out, H, F);
    check_norm(spec.layer_path(l) + "." + ln.attn_norm);
    check_norm(spec.layer_path(l) + "." + ln.ffn_norm);
    if (layer.decoder) {
      const int64_t C = layer.cross_heads * layer.head_dim;
      for (const auto* m : {&ln.cross_query, &ln.cross_key, &ln.cross_value}) check_proj(spec.layer_path(l) + "." + *m, C, H);
      check_proj(spec.layer_path(l) + "." + ln.cross_out, H, C);
      check_norm(spec.layer_path(l) + "." + ln.cross_norm);
    }
    if (!ln.relative_bias.empty()) {
      const std::string table = ln.layer_prefix + "0." + ln.relative_bias + ".weight";
      auto it = w.find(table);
      if (it == w.end()) throw ModelError("cannot build the model: missing weight '" + table + "'");
      const int64_t table_heads = it->second.size(1);
      const int64_t most = layer.bias_heads.empty() ? layer.heads : static_cast<int64_t>(layer.bias_heads.size());
      const int64_t top = layer.bias_heads.empty() ? layer.heads - 1 : *std::max_element(layer.bias_heads.begin(), layer.bias_heads.end());
      if (it->second.size(0) != spec.relative_buckets || most != layer.heads || top >= table_heads) {
        throw ModelError("cannot build the model: relative bias table '" + table + "' does not fit layer " +
                         spec.layer_path(l) + "'s heads");
      }
    }
  }
  if (spec.head == HeadType::LabelWords) {
    if (!n.lm_head.empty()) check_shape(w, n.lm_head + ".weight", {spec.vocab_size, H});
    return;
  }
  const int64_t head_in = !n.head_dense.empty() ? w.at(n.head_dense + ".weight").size(0) : !n.project_out.empty() ? E : H;
  check_shape(w, n.head_out + ".weight", {spec.num_labels, head_in});
}

}  // namespace

std::map<std::string, bool> projection_modules(const ModelSpec& spec) {
  std::map<std::string, bool> out;
  for (int l = 0; l < spec.num_layers(); ++l) {
    const auto& n = spec.names_of(l);
    for (const auto* m : {&n.query, &n.key, &n.value, &n.qkv, &n.attn_out, &n.ffn_in, &n.ffn_gate, &n.ffn_out,
                          &n.cross_query, &n.cross_key, &n.cross_value, &n.cross_out}) {
      if (!m->empty()) out[spec.layer_path(l) + "." + *m] = spec.transposed_weights;
    }
  }
  for (const auto* m : {&spec.names.head_dense, &spec.names.head_out, &spec.names.project_in, &spec.names.project_out,
                        &spec.names.lm_head}) {
    if (!m->empty()) out[*m] = false;
  }
  return out;
}

torch::jit::Module build_module(const ModelSpec& spec, const Weights& weights, const BuildOptions& options) {
  check_weights(spec, weights);
  auto cu = std::make_shared<torch::jit::CompilationUnit>();
  Module root = new_module(cu, spec.returns_tuple ? "SequenceClassifier" : "SequenceClassifierLogits");

  // Layers first, so they get the Layer type and their attributes before parameters fill them.
  std::vector<Module> layer_modules;
  for (int l = 0; l < spec.num_layers(); ++l) {
    const LayerSpec& ls = spec.layers[l];
    const std::string& prefix = spec.names_of(l).layer_prefix;
    Module layers = ensure_path(root, prefix.substr(0, prefix.size() - 1), cu);
    Module layer = new_module(cu, ls.decoder ? "DecoderLayer" : "EncoderLayer");
    layer.register_attribute("num_heads", c10::IntType::get(), ls.heads);
    layer.register_attribute("head_dim", c10::IntType::get(), ls.head_dim);
    layer.register_attribute("scale", c10::FloatType::get(), std::sqrt(static_cast<double>(std::max(ls.head_dim, 1))));
    layer.register_attribute("eps", c10::FloatType::get(), spec.norm_eps);
    layer.register_attribute("dropout_p", c10::FloatType::get(), spec.dropout);
    layer.register_attribute("pre_norm", c10::BoolType::get(), spec.norm == NormPlacement::Pre);
    if (ls.decoder) layer.register_attribute("cross_heads", c10::IntType::get(), ls.cross_heads);
    if (!ls.bias_heads.empty()) {
      layer.register_buffer("bias_heads", torch::tensor(std::vector<int64_t>(ls.bias_heads.begin(), ls.bias_heads.end()), torch::kLong));
    }
    if (options.hidden_mask) layer.register_buffer("hidden_mask", torch::ones({spec.hidden}));
    layers.register_module(std::to_string(spec.stack_index(l)), layer);
    layer_modules.push_back(layer);
  }
  // int8: projections of at least int8_min_weights weights get their packed weights (an `int8` attribute)
  // instead of fp32 parameters; a projection with no weights left (every head or neuron pruned) is never
  // called and stays as it is.
  Int8Sources int8;
  if (options.int8) {
    if (options.hidden_mask) throw ModelError("cannot build the model: int8 and a hidden mask do not go together");
    select_quantized_engine();
    const auto packed_type = torch::getCustomClass("__torch__.torch.classes.quantized.LinearPackedParamsBase");
    for (const auto& [m, transposed] : projection_modules(spec)) {
      const torch::Tensor& w = weights.at(m + ".weight");
      if (w.numel() == 0 || w.numel() < options.int8_min_weights) continue;
      auto b = weights.find(m + ".bias");
      ensure_path(root, m, cu).register_attribute(
          "int8", packed_type, pack_int8_linear(transposed ? w.t() : w, b == weights.end() ? torch::Tensor() : b->second));
      int8.packed.insert(m);
    }
    // The word embedding (most of a small model's bytes) is stored int8 with one symmetric scale per row and
    // dequantized by lookup: a quarter of the size, at the cost of one multiply per looked-up row. A tied
    // LM head (T5, GPT-2 LM) then always gets a packed copy (there is no fp32 table left to multiply by).
    const torch::Tensor& embedding = weights.at(spec.names.word_embeddings + ".weight");
    torch::NoGradGuard no_grad;
    const auto table = embedding.detach().to(torch::kFloat);
    const auto scale = torch::clamp(table.abs().amax({1}, /*keepdim=*/true) / 127.0, 1.1920928955078125e-07);
    Module owner = ensure_path(root, spec.names.word_embeddings, cu);
    owner.register_buffer("weight_int8", torch::round(table / scale).clamp(-127, 127).to(torch::kChar));
    owner.register_buffer("weight_scale", scale);
    int8.embedding = true;
    if (spec.head == HeadType::LabelWords && spec.names.lm_head.empty()) {
      root.register_attribute(kTiedLmHeadInt8, packed_type, pack_int8_linear(embedding, torch::Tensor()));
      int8.packed.insert(kTiedLmHeadInt8);
    }
  }
  for (const auto& [name, tensor] : weights) {
    const size_t dot = name.rfind('.');
    if (int8.packed.count(name.substr(0, dot))) continue;
    if (int8.embedding && name == spec.names.word_embeddings + ".weight") continue;
    Module owner = ensure_path(root, name.substr(0, dot), cu);
    owner.register_parameter(name.substr(dot + 1), tensor.detach().clone(), /*is_buffer=*/false);
  }
  root.register_attribute("eps", c10::FloatType::get(), spec.norm_eps);
  root.register_attribute("dropout_p", c10::FloatType::get(), spec.dropout);
  if (options.hidden_mask) root.register_buffer("hidden_mask", torch::ones({spec.hidden}));
  if (spec.encoder_decoder) {
    root.register_attribute("output_scale", c10::FloatType::get(), spec.output_scale);
    root.register_attribute("relative_attention_max_distance", c10::IntType::get(), spec.relative_max_distance);
    if (!spec.label_tokens.empty()) {
      // Decoder inputs [start, tokens but the last] (padded with the pad id) and targets (padded with -1).
      size_t longest = 0;
      for (const auto& t : spec.label_tokens) longest = std::max(longest, t.size());
      const auto K = static_cast<int64_t>(spec.label_tokens.size()), L = static_cast<int64_t>(longest);
      auto inputs = torch::full({K, L}, static_cast<int64_t>(spec.pad_token_id), torch::kLong);
      auto targets = torch::full({K, L}, int64_t{-1}, torch::kLong);
      for (int64_t k = 0; k < K; ++k) {
        const auto& t = spec.label_tokens[k];
        if (t.empty()) throw ModelError("cannot build the model: label " + std::to_string(k) + " has no tokens");
        inputs[k][0] = spec.decoder_start_token_id;
        for (size_t i = 0; i < t.size(); ++i) {
          targets[k][static_cast<int64_t>(i)] = t[i];
          if (i + 1 < t.size()) inputs[k][static_cast<int64_t>(i) + 1] = t[i];
        }
      }
      root.register_buffer("label_inputs", inputs);
      root.register_buffer("label_targets", targets);
    }
  } else if (spec.head == HeadType::LabelWords && !spec.label_tokens.empty()) {
    // A decoder-only LM scores one next token per label: targets [labels, 1].
    auto targets = torch::empty({static_cast<int64_t>(spec.label_tokens.size()), 1}, torch::kLong);
    for (size_t k = 0; k < spec.label_tokens.size(); ++k) {
      if (spec.label_tokens[k].size() != 1) {
        throw ModelError("cannot build the model: a decoder-only language model scores one token per label, label " +
                         std::to_string(k) + " has " + std::to_string(spec.label_tokens[k].size()));
      }
      targets[static_cast<int64_t>(k)][0] = spec.label_tokens[k][0];
    }
    root.register_buffer("label_targets", targets);
  }

  struct Int8SourcesScope {  // linear() writes int8 calls while this model's sources are written
    explicit Int8SourcesScope(const Int8Sources* sources) { g_int8 = sources; }
    ~Int8SourcesScope() { g_int8 = nullptr; }
  } int8_scope(options.int8 ? &int8 : nullptr);
  try {
    const bool masked = options.hidden_mask;
    const auto resolver = std::make_shared<QuantizedOpsResolver>();
    for (int l = 0; l < spec.num_layers(); ++l) {
      define_norms(layer_modules[l], spec, masked);
      int8.prefix = spec.layer_path(l) + ".";
      if (options.int8) layer_modules[l].define(kInt8Linear, resolver);
      layer_modules[l].define(layer_source(spec, l, masked), resolver);
    }
    int8.prefix.clear();
    define_norms(root, spec, masked);
    if (options.int8) root.define(kInt8Linear, resolver);
    if (spec.encoder_decoder) {
      for (const auto& source : seq2seq_sources(spec, masked)) root.define(source, resolver);
    } else {
      root.define(root_source(spec, /*hidden_states=*/false, masked), resolver);
      if (spec.head != HeadType::LabelWords || !spec.label_tokens.empty()) {
        root.define(root_source(spec, /*hidden_states=*/true, masked), resolver);
      }
      if (spec.head == HeadType::LabelWords && !spec.label_tokens.empty()) {
        root.define(R"(def classify(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
    return self.forward_hidden(input_ids, attention_mask)[0]
)", resolver);
      }
    }
  } catch (const c10::Error& e) {
    throw ModelError(std::string("cannot build the model (internal): ") + e.what_without_backtrace());
  }
  root.eval();
  return root;
}

}  // namespace lwm

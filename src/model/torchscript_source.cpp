#include "lwm/model/torchscript_source.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <sstream>
#include <utility>

namespace lwm {
namespace {

// Finfo(float32).min, as Hugging Face fills masked attention scores.
constexpr const char* kMaskFill = "-3.4028234663852886e+38";

// The int8 projection every module of a BuildOptions::int8 model defines: quantized::linear_dynamic with
// reduce_range, as PyTorch's own dynamic Linear (torch.ao.nn.quantized.dynamic.Linear) calls it: activations
// are quantized per call to 7 bits, so that FBGEMM's AVX2 kernels (u8 x s8 pairs summed in 16 bits) cannot
// saturate on CPUs without VNNI.
constexpr const char* kInt8Linear = R"(
def int8_linear(self, x: Tensor, w: __torch__.torch.classes.quantized.LinearPackedParamsBase) -> Tensor:
    return quantized.linear_dynamic(x, w, True)
)";

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

std::string activation_code(Activation a, const std::string& x) {
  switch (a) {
    case Activation::GeluErf: return "torch.gelu(" + x + ")";
    case Activation::GeluTanh: return "torch.gelu(" + x + ", approximate='tanh')";
    case Activation::Relu: return "torch.relu(" + x + ")";
    case Activation::Tanh: return "torch.tanh(" + x + ")";
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

// Writes the sources of one module of the model: the root (prefix "") or a layer (prefix: its path and a dot).
struct Writer {
  const ModelSpec& spec;
  const SourceOptions& options;
  std::string prefix;  // of the module whose sources are written: int8_projections holds full paths
  bool masked = options.hidden_mask;

  // The word embedding rows of `ids` (the root's module `m`): from the fp32 table, or, in an int8 model, from
  // the int8 table times each row's scale.
  // A vocabulary-pruned model (spec.input_vocab_size > 0) first maps the teacher's ids to its rows.
  std::string embedding_lookup(const std::string& m, const std::string& input_ids) const {
    const std::string ids = spec.input_vocab_size > 0 && m == spec.names.word_embeddings
                                ? self_path(m) + ".vocab_map[" + input_ids + "]"
                                : input_ids;
    if (options.int8_embedding) {
      return "(torch.embedding(" + self_path(m) + ".weight_int8, " + ids + ").float() * torch.embedding(" +
             self_path(m) + ".weight_scale, " + ids + "))";
    }
    return "torch.embedding(" + self_path(m) + ".weight, " + ids + ")";
  }

  // A projection of `x` by module `m` (its weight, and its bias when `bias`), in the layout the spec
  // stores: Linear [out, in] or, with transposed_weights, GPT-2's Conv1D [in, out] (x @ W + b).
  // In an int8 model, a packed projection calls int8_linear() instead.
  std::string linear(const std::string& x, const std::string& m, bool transposed = false, bool bias = true) const {
    if (options.int8_projections.count(prefix + m)) return "self.int8_linear(" + x + ", " + self_path(m) + ".int8)";
    const std::string w = self_path(m) + ".weight" + (transposed ? ".t()" : "");
    return "torch.linear(" + x + ", " + w + (bias ? ", " + self_path(m) + ".bias)" : ")");
  }

  // The language-model logits of `x` over the vocabulary: an untied lm_head, or the word embedding (tied; in an
  // int8 model its packed copy, as there is no fp32 table left to multiply by).
  std::string lm_logits(const std::string& x) const {
    if (!spec.names.lm_head.empty()) return linear(x, spec.names.lm_head, false, false);
    if (options.int8_projections.count(kTiedLmHeadInt8)) return "self.int8_linear(" + x + ", self." + std::string(kTiedLmHeadInt8) + ")";
    return "torch.linear(" + x + ", " + self_path(spec.names.word_embeddings) + ".weight)";
  }

  // The spec's norm (LayerNorm, or T5's RMS norm: no mean, no bias) of `x` by module `m`; with a hidden mask
  // (BuildOptions::hidden_mask), the masked forms below, unless the norm is not on the hidden-wide stream
  // (`on_stream` false: ELECTRA's embedding norm, embedding_width wide, before embedding_project).
  std::string norm(const std::string& x, const std::string& m, bool on_stream = true) const {
    const std::string w = self_path(m) + ".weight";
    const bool mask = masked && on_stream;
    if (spec.norm_kind == NormKind::RmsNorm) {
      if (mask) return "self.masked_rms_norm(" + x + ", " + w + ")";
      return "self.rms_norm(" + x + ", " + w + ")";
    }
    const std::string b = self_path(m) + ".bias";
    if (mask) return "self.masked_norm(" + x + ", " + w + ", " + b + ")";
    return "torch.layer_norm(" + x + ", [" + w + ".size(0)], " + w + ", " + b + ", self.eps)";
  }

  // The norm helpers a module with this spec calls (defined on every module).
  std::vector<std::string> norm_helpers() const {
    if (spec.norm_kind == NormKind::RmsNorm) return {masked ? kMaskedRmsNormSource : kRmsNormSource};
    if (masked) return {kMaskedNormSource};
    return {};
  }

  // Multi-head attention of queries from `in` over keys/values from `kv` (the same for self-attention), by the
  // projections q/k/v/o (or one fused Q|K|V), with `heads` heads of self.head_dim; `bias` is added to the
  // scores (mask, and T5's relative position bias). Writes the block's output to `out`.
  std::string attention_code(int heads, const std::string& in, const std::string& kv,
                             const std::array<std::string, 4>& qkvo, const std::string& fused, const std::string& heads_attr,
                             const std::string& bias, const std::string& out) const {
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
  std::string layer_source(int l) const {
    const LayerSpec& layer = spec.layers[l];
    const auto& n = spec.names_of(l);
    const bool pre = spec.norm == NormPlacement::Pre;
    const bool t = spec.transposed_weights, b = spec.linear_bias;
    std::ostringstream s;
    s << (layer.decoder ? "def forward(self, x, mask_bias, enc, enc_bias):\n" : "def forward(self, x, mask_bias):\n");
    const std::string attn_in = pre ? "y" : "x";
    if (pre) s << "    y = " << norm("x", n.attn_norm) << "\n";
    // T5: mask_bias holds every head of the stack's relative bias table; a head-pruned layer picks its own
    // (bias_heads). A layer with all of them uses it as it is.
    const std::string bias = layer.bias_heads.empty() ? "mask_bias" : "mask_bias.index_select(1, self.bias_heads)";
    s << attention_code(layer.heads, attn_in, attn_in, {n.query, n.key, n.value, n.attn_out},
                        spec.fused_qkv() ? n.qkv : "", "num_heads", bias, "a");
    s << "    a = torch.dropout(a, self.dropout_p, self.training)\n";
    if (pre) {
      s << "    x = x + a\n";
    } else {
      s << "    x = " << norm("a + x", n.attn_norm) << "\n";
    }
    if (layer.decoder) {
      s << "    y = " << norm("x", n.cross_norm) << "\n";
      s << attention_code(layer.cross_heads, "y", "enc", {n.cross_query, n.cross_key, n.cross_value, n.cross_out},
                          "", "cross_heads", "enc_bias", "c");
      s << "    x = x + torch.dropout(c, self.dropout_p, self.training)\n";
    }
    if (pre) s << "    y = " << norm("x", n.ffn_norm) << "\n";
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
      s << "    return " << norm("h + x", n.ffn_norm) << "\n";
    }
    return s.str();
  }

  static std::string has(const std::vector<std::string>& v, const std::string& x) {
    return std::find(v.begin(), v.end(), x) != v.end() ? x : "";
  }

  // forward() with the teacher's signature and output; with `hidden_states`, the method
  // forward_hidden() instead, returning (logits, [embedding output, layer 1 output, ...]) for
  // hidden-state distillation. A decoder-only language model (HeadType::LabelWords: GPT-2's LM head) returns
  // the LM logits of every position from forward(), as the teacher does, and from forward_hidden(input_ids,
  // attention_mask) its label scores: each label word's log-probability as the next token after the last
  // attended one (rank classification with one-token label words).
  std::string root_source(bool hidden_states) const {
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
    const bool projected = !n.embedding_project.empty();
    if (!n.embedding_norm.empty()) s << "    x = " << norm("x", n.embedding_norm, !projected) << "\n";
    s << "    x = torch.dropout(x, self.dropout_p, self.training)\n";
    if (projected) {
      // ELECTRA: the stream starts here; a pruned hidden dimension starts at zero, as in the shrunk model.
      s << "    x = " << linear("x", n.embedding_project) << (masked ? " * self.hidden_mask" : "") << "\n";
    }
    s << "    mask_bias = (1.0 - attention_mask.to(x.dtype)).unsqueeze(1).unsqueeze(2) * " << kMaskFill << "\n";
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
    if (!n.final_norm.empty()) s << "    x = " << norm("x", n.final_norm) << "\n";
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
        s << "    pooled = " << activation_code(spec.head_activation, linear("first", n.head_dense)) << "\n"
          << "    logits = " << linear("torch.dropout(pooled, self.dropout_p, self.training)", n.head_out) << "\n";
        break;
      case HeadType::RobertaClassifier:
        s << "    h = torch.dropout(first, self.dropout_p, self.training)\n"
          << "    h = " << activation_code(spec.head_activation, linear("h", n.head_dense)) << "\n"
          << "    logits = " << linear("torch.dropout(h, self.dropout_p, self.training)", n.head_out) << "\n";
        break;
      case HeadType::PreClassifier:
        s << "    h = " << activation_code(spec.head_activation, linear("first", n.head_dense)) << "\n"
          << "    logits = " << linear("torch.dropout(h, self.dropout_p, self.training)", n.head_out) << "\n";
        break;
      case HeadType::LastToken:
        s << "    logits = " << linear("first", n.head_out, false, spec.head_out_bias) << "\n";
        break;
      case HeadType::LabelWords:  // decoder-only here; encoder-decoders are built by seq2seq_sources()
        if (hidden_states) {
          s << "    logits = torch.log_softmax(" << lm_logits("first") << ", -1).index_select(1, self.label_targets.select(1, 0))\n";
        } else {
          s << "    logits = " << lm_logits("x") << "\n";
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
  std::string relative_bias_source() const {
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
  std::vector<std::string> seq2seq_sources() const {
    const auto& en = spec.names;
    const auto& dn = spec.decoder_names;
    auto table = [&](const ParamNames& n) { return self_path(n.layer_prefix + "0." + n.relative_bias) + ".weight"; };
    auto stack = [](const ParamNames& n) { return self_path(n.layer_prefix.substr(0, n.layer_prefix.size() - 1)); };
    std::vector<std::string> out;
    out.push_back(relative_bias_source());

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
    e << "    x = torch.dropout(" << norm("x", en.final_norm) << ", self.dropout_p, self.training)\n"
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
    d << "    x = torch.dropout(" << norm("x", dn.final_norm) << ", self.dropout_p, self.training)\n";
    if (spec.output_scale != 1.0) d << "    x = x * self.output_scale\n";
    d << "    return " << lm_logits("x") << "\n";
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
};

}  // namespace

TorchScriptSource::TorchScriptSource(ModelSpec spec, SourceOptions options)
    : spec_(std::move(spec)), options_(std::move(options)) {}

std::vector<std::string> TorchScriptSource::helpers() const {
  std::vector<std::string> out = Writer{spec_, options_, ""}.norm_helpers();
  if (!options_.int8_projections.empty()) out.push_back(kInt8Linear);
  return out;
}

std::string TorchScriptSource::layer(int l) const {
  return Writer{spec_, options_, spec_.layer_path(l) + "."}.layer_source(l);
}

std::vector<std::string> TorchScriptSource::root() const {
  const Writer w{spec_, options_, ""};
  if (spec_.encoder_decoder) return w.seq2seq_sources();
  std::vector<std::string> out{w.root_source(/*hidden_states=*/false)};
  if (spec_.head != HeadType::LabelWords || !spec_.label_tokens.empty()) out.push_back(w.root_source(/*hidden_states=*/true));
  if (spec_.head == HeadType::LabelWords && !spec_.label_tokens.empty()) {
    out.push_back(R"(def classify(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
    return self.forward_hidden(input_ids, attention_mask)[0]
)");
  }
  return out;
}

}  // namespace lwm

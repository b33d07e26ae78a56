#include "lwm/model/builder.h"

#include <sstream>

#include "lwm/common/error.h"

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

// A projection of `x` by module `m` (its weight, and its bias when `bias`), in the layout the spec
// stores: Linear [out, in] or, with transposed_weights, GPT-2's Conv1D [in, out] (x @ W + b).
std::string linear(const std::string& x, const std::string& m, bool transposed = false, bool bias = true) {
  const std::string w = "self." + m + ".weight" + (transposed ? ".t()" : "");
  return "torch.linear(" + x + ", " + w + (bias ? ", self." + m + ".bias)" : ")");
}

// With a hidden mask (BuildOptions::hidden_mask), the masked form below.
std::string layer_norm(const std::string& x, const std::string& m, bool masked) {
  if (masked) return "self.masked_norm(" + x + ", self." + m + ".weight, self." + m + ".bias)";
  return "torch.layer_norm(" + x + ", [self." + m + ".weight.size(0)], self." + m + ".weight, self." + m +
         ".bias, self.eps)";
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

// One transformer layer: attention then FFN, each as a residual block with its LayerNorm after the sum
// (post-LN: BERT family, OPT without do_layer_norm_before) or before the block (pre-LN: GPT-2, OPT).
std::string layer_source(const ModelSpec& spec, const LayerSpec& layer, bool masked) {
  const auto& n = spec.names;
  const bool pre = spec.norm == NormPlacement::Pre;
  const bool t = spec.transposed_weights;
  std::ostringstream s;
  s << "def forward(self, x, mask_bias):\n";
  const std::string attn_in = pre ? "y" : "x";
  if (pre) s << "    y = " << layer_norm("x", n.attn_norm, masked) << "\n";
  if (layer.heads > 0) {
    s << "    B = " << attn_in << ".size(0)\n"
      << "    T = " << attn_in << ".size(1)\n"
      << "    A = self.num_heads * self.head_dim\n";
    if (spec.fused_qkv()) {
      // Q | K | V blocks of width A each (heads*head_dim, fewer after head pruning), split by position.
      s << "    qkv = " << linear(attn_in, n.qkv, t) << "\n"
        << "    q = qkv.narrow(2, 0, A)\n"
        << "    k = qkv.narrow(2, A, A)\n"
        << "    v = qkv.narrow(2, 2 * A, A)\n";
    } else {
      s << "    q = " << linear(attn_in, n.query, t) << "\n"
        << "    k = " << linear(attn_in, n.key, t) << "\n"
        << "    v = " << linear(attn_in, n.value, t) << "\n";
    }
    s << "    q = q.view(B, T, self.num_heads, self.head_dim).transpose(1, 2)\n"
      << "    k = k.view(B, T, self.num_heads, self.head_dim).transpose(1, 2)\n"
      << "    v = v.view(B, T, self.num_heads, self.head_dim).transpose(1, 2)\n"
      << "    scores = torch.matmul(q, k.transpose(-1, -2)) / self.scale + mask_bias\n"
      << "    probs = torch.dropout(torch.softmax(scores, -1), self.dropout_p, self.training)\n"
      << "    ctx = torch.matmul(probs, v).transpose(1, 2).reshape(B, T, A)\n"
      << "    a = " << linear("ctx", n.attn_out, t) << "\n";
  } else {
    // Every head pruned: the attention block adds only its output bias.
    s << "    a = self." << n.attn_out << ".bias.expand_as(x)\n";
  }
  s << "    a = torch.dropout(a, self.dropout_p, self.training)\n";
  if (pre) {
    s << "    x = x + a\n"
      << "    y = " << layer_norm("x", n.ffn_norm, masked) << "\n";
  } else {
    s << "    x = " << layer_norm("a + x", n.attn_norm, masked) << "\n";
  }
  const std::string ffn_in = pre ? "y" : "x";
  if (layer.ffn > 0) {
    s << "    h = " << activation_code(spec.activation, linear(ffn_in, n.ffn_in, t)) << "\n"
      << "    h = " << linear("h", n.ffn_out, t) << "\n";
  } else {
    s << "    h = self." << n.ffn_out << ".bias.expand_as(x)\n";
  }
  s << "    h = torch.dropout(h, self.dropout_p, self.training)\n";
  if (pre) {
    s << "    return x + h\n";
  } else {
    s << "    return " << layer_norm("h + x", n.ffn_norm, masked) << "\n";
  }
  return s.str();
}

std::string has(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end() ? x : "";
}

// forward() with the teacher's signature and output; with `hidden_states`, the method
// forward_hidden() instead, returning (logits, [embedding output, layer 1 output, ...]) for
// hidden-state distillation.
std::string root_source(const ModelSpec& spec, bool hidden_states, bool masked) {
  const auto& n = spec.names;
  std::ostringstream s;
  s << (hidden_states ? "def forward_hidden(self" : "def forward(self");
  for (const auto& arg : spec.forward_args) s << ", " << arg;
  s << (hidden_states ? ") -> Tuple[Tensor, List[Tensor]]:\n" : "):\n");
  if (has(spec.forward_args, "attention_mask").empty()) s << "    attention_mask = torch.ones_like(input_ids)\n";
  if (spec.type_vocab_size > 0 && has(spec.forward_args, "token_type_ids").empty()) {
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
  s << "    x = torch.embedding(self." << n.word_embeddings << ".weight, input_ids)\n";
  if (!n.project_in.empty()) s << "    x = " << linear("x", n.project_in, false, false) << "\n";
  if (spec.type_vocab_size > 0) {
    s << "    x = x + torch.embedding(self." << n.token_type_embeddings << ".weight, token_type_ids)\n";
  }
  s << "    x = x + torch.embedding(self." << n.position_embeddings << ".weight, positions)\n";
  if (!n.embedding_norm.empty()) s << "    x = " << layer_norm("x", n.embedding_norm, masked) << "\n";
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
  if (!n.final_norm.empty()) s << "    x = " << layer_norm("x", n.final_norm, masked) << "\n";
  if (!n.project_out.empty()) s << "    x = " << linear("x", n.project_out, false, false) << "\n";
  if (spec.head == HeadType::LastToken) {
    // The last token that is not padding (Hugging Face: argmax of index * (input_ids != pad)).
    s << "    index = torch.cumsum(torch.ones_like(input_ids), 1) - 1\n"
      << "    last = (index * input_ids.ne(" << spec.pad_token_id << ").to(index.dtype)).argmax(-1)\n"
      << "    first = x.gather(1, last.view(-1, 1, 1).expand(-1, 1, x.size(2))).squeeze(1)\n";
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
  }
  if (hidden_states) {
    s << "    return logits, hidden\n";
  } else {
    s << (spec.returns_tuple ? "    return (logits,)\n" : "    return logits\n");
  }
  return s.str();
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
  // A layer projection's weight shape in the spec's layout.
  auto proj = [&spec](int64_t out, int64_t in) {
    return spec.transposed_weights ? std::vector<int64_t>{in, out} : std::vector<int64_t>{out, in};
  };
  check_shape(w, n.word_embeddings + ".weight", {spec.vocab_size, E});
  if (!n.project_in.empty()) check_shape(w, n.project_in + ".weight", {H, E});
  if (!n.project_out.empty()) check_shape(w, n.project_out + ".weight", {E, H});
  check_shape(w, n.position_embeddings + ".weight", {spec.max_positions + spec.position_offset, H});
  if (spec.type_vocab_size > 0) check_shape(w, n.token_type_embeddings + ".weight", {spec.type_vocab_size, H});
  if (!n.embedding_norm.empty()) check_shape(w, n.embedding_norm + ".weight", {H});
  if (!n.final_norm.empty()) check_shape(w, n.final_norm + ".weight", {H});
  for (int l = 0; l < spec.num_layers(); ++l) {
    const int64_t A = spec.layers[l].heads * spec.layers[l].head_dim, F = spec.layers[l].ffn;
    if (spec.fused_qkv()) {
      check_shape(w, spec.layer_param(l, n.qkv, "weight"), proj(3 * A, H));
      check_shape(w, spec.layer_param(l, n.qkv, "bias"), {3 * A});
    } else {
      for (const auto* m : {&n.query, &n.key, &n.value}) {
        check_shape(w, spec.layer_param(l, *m, "weight"), proj(A, H));
        check_shape(w, spec.layer_param(l, *m, "bias"), {A});
      }
    }
    check_shape(w, spec.layer_param(l, n.attn_out, "weight"), proj(H, A));
    check_shape(w, spec.layer_param(l, n.ffn_in, "weight"), proj(F, H));
    check_shape(w, spec.layer_param(l, n.ffn_out, "weight"), proj(H, F));
    check_shape(w, spec.layer_param(l, n.attn_norm, "weight"), {H});
    check_shape(w, spec.layer_param(l, n.ffn_norm, "weight"), {H});
  }
  const int64_t head_in = !n.head_dense.empty() ? w.at(n.head_dense + ".weight").size(0) : !n.project_out.empty() ? E : H;
  check_shape(w, n.head_out + ".weight", {spec.num_labels, head_in});
}

}  // namespace

torch::jit::Module build_module(const ModelSpec& spec, const Weights& weights, const BuildOptions& options) {
  check_weights(spec, weights);
  auto cu = std::make_shared<torch::jit::CompilationUnit>();
  Module root = new_module(cu, spec.returns_tuple ? "SequenceClassifier" : "SequenceClassifierLogits");

  // Layers first, so they get the Layer type and their attributes before parameters fill them.
  const std::string layers_path = spec.names.layer_prefix.substr(0, spec.names.layer_prefix.size() - 1);
  Module layers = ensure_path(root, layers_path, cu);
  for (int l = 0; l < spec.num_layers(); ++l) {
    const LayerSpec& ls = spec.layers[l];
    Module layer = new_module(cu, "EncoderLayer");
    layer.register_attribute("num_heads", c10::IntType::get(), ls.heads);
    layer.register_attribute("head_dim", c10::IntType::get(), ls.head_dim);
    layer.register_attribute("scale", c10::FloatType::get(), std::sqrt(static_cast<double>(std::max(ls.head_dim, 1))));
    layer.register_attribute("eps", c10::FloatType::get(), spec.norm_eps);
    layer.register_attribute("dropout_p", c10::FloatType::get(), spec.dropout);
    layer.register_attribute("pre_norm", c10::BoolType::get(), spec.norm == NormPlacement::Pre);
    if (options.hidden_mask) layer.register_buffer("hidden_mask", torch::ones({spec.hidden}));
    layers.register_module(std::to_string(l), layer);
  }
  for (const auto& [name, tensor] : weights) {
    const size_t dot = name.rfind('.');
    Module owner = ensure_path(root, name.substr(0, dot), cu);
    owner.register_parameter(name.substr(dot + 1), tensor.detach().clone(), /*is_buffer=*/false);
  }
  root.register_attribute("eps", c10::FloatType::get(), spec.norm_eps);
  root.register_attribute("dropout_p", c10::FloatType::get(), spec.dropout);
  if (options.hidden_mask) root.register_buffer("hidden_mask", torch::ones({spec.hidden}));

  try {
    const bool masked = options.hidden_mask;
    for (int l = 0; l < spec.num_layers(); ++l) {
      Module layer = layers.attr(std::to_string(l)).toModule();
      if (masked) layer.define(kMaskedNormSource);
      layer.define(layer_source(spec, spec.layers[l], masked));
    }
    if (masked) root.define(kMaskedNormSource);
    root.define(root_source(spec, /*hidden_states=*/false, masked));
    root.define(root_source(spec, /*hidden_states=*/true, masked));
  } catch (const c10::Error& e) {
    throw ModelError(std::string("cannot build the model (internal): ") + e.what_without_backtrace());
  }
  root.eval();
  return root;
}

}  // namespace lwm

#include "lwm/model/graph_facts.h"

#include <functional>

namespace lwm {
namespace {

using torch::jit::Node;

void for_each_node(const torch::jit::Module& module, const std::function<void(Node*)>& visit) {
  std::function<void(torch::jit::Block*)> walk = [&](torch::jit::Block* block) {
    for (Node* node : block->nodes()) {
      visit(node);
      for (torch::jit::Block* sub : node->blocks()) walk(sub);
    }
  };
  for (const auto& m : module.modules()) {
    for (const auto& method : m.get_methods()) walk(method.graph()->block());
  }
}

}  // namespace

std::vector<double> layer_norm_eps(const torch::jit::Module& module) {
  std::vector<double> out;
  const auto call_function = c10::Symbol::fromQualString("prim::CallFunction");
  for_each_node(module, [&](Node* node) {
    // Traced graphs call aten::layer_norm(x, shape, w, b, eps); scripted nn.LayerNorm calls the
    // Python function F.layer_norm through prim::CallFunction(fn, x, shape, w, b, eps).
    size_t eps_input = 0;
    if (node->kind() == c10::Symbol::fromQualString("aten::layer_norm")) {
      eps_input = 4;
    } else if (node->kind() == call_function && node->inputs().size() >= 6) {
      auto fn = node->input(0)->type()->cast<c10::FunctionType>();
      if (fn && fn->function()->name() == "layer_norm") eps_input = 5;
    }
    if (eps_input == 0 || node->inputs().size() <= eps_input) return;
    auto eps = torch::jit::toIValue(node->input(eps_input));
    if (eps && eps->isDouble()) out.push_back(eps->toDouble());
  });
  return out;
}

ActivationFacts activation_facts(const torch::jit::Module& module) {
  ActivationFacts facts;
  const auto gelu = c10::Symbol::fromQualString("aten::gelu");
  const auto relu = c10::Symbol::fromQualString("aten::relu");
  const auto tanh = c10::Symbol::fromQualString("aten::tanh");
  for_each_node(module, [&](Node* node) {
    if (node->kind() == gelu) {
      std::string approximate = "none";
      if (node->inputs().size() > 1) {
        auto v = torch::jit::toIValue(node->input(1));
        if (v && v->isString()) approximate = v->toStringRef();
      }
      facts.gelu_approximate.push_back(approximate);
    } else if (node->kind() == relu) {
      facts.relu = true;
    } else if (node->kind() == tanh) {
      facts.tanh = true;
    }
  });
  return facts;
}

std::optional<int> attention_heads(const torch::jit::Module& attention, const std::vector<std::string>& attr_names,
                                   int hidden) {
  for (const auto& m : attention.modules()) {
    for (const auto& name : attr_names) {
      if (m.hasattr(name)) {
        auto v = m.attr(name);
        if (v.isInt() && v.toInt() > 0) return static_cast<int>(v.toInt());
      }
    }
  }
  std::optional<int> found;
  const auto list = c10::Symbol::fromQualString("prim::ListConstruct");
  for_each_node(attention, [&](Node* node) {
    if (found || node->kind() != list) return;
    std::vector<int64_t> ints;
    for (auto* in : node->inputs()) {
      auto v = torch::jit::toIValue(in);
      ints.push_back(v && v->isInt() ? v->toInt() : 0);
    }
    for (size_t i = 0; i + 1 < ints.size(); ++i) {
      if (ints[i] > 0 && ints[i + 1] > 0 && ints[i] * ints[i + 1] == hidden) {
        found = static_cast<int>(ints[i]);
        return;
      }
    }
  });
  if (found) return found;
  // Newer Hugging Face code (transformers 5) views to (batch, seq, -1, head_dim): the head count is implied.
  for_each_node(attention, [&](Node* node) {
    if (found || node->kind() != list || node->inputs().size() != 4) return;
    auto heads = torch::jit::toIValue(node->input(2));
    auto head_dim = torch::jit::toIValue(node->input(3));
    if (!heads || !heads->isInt() || heads->toInt() != -1 || !head_dim || !head_dim->isInt()) return;
    const int64_t d = head_dim->toInt();
    if (d > 0 && d < hidden && hidden % d == 0) found = static_cast<int>(hidden / d);
  });
  return found;
}

std::vector<double> top_level_constant_factors(const torch::jit::Module& module) {
  std::vector<double> out;
  const auto mul = c10::Symbol::fromQualString("aten::mul");
  for (Node* node : module.get_method("forward").graph()->nodes()) {
    if (node->kind() != mul || node->inputs().size() != 2) continue;
    for (auto* in : node->inputs()) {
      auto v = torch::jit::toIValue(in);
      if (!v) continue;
      if (v->isDouble()) out.push_back(v->toDouble());
      if (v->isTensor() && v->toTensor().numel() == 1) out.push_back(v->toTensor().item<double>());
    }
  }
  return out;
}

std::vector<std::string> forward_arg_names(const torch::jit::Module& module, const std::string& method) {
  const auto& schema = module.get_method(method).function().getSchema();
  std::vector<std::string> names;
  for (size_t i = 1; i < schema.arguments().size(); ++i) names.push_back(schema.arguments()[i].name());
  return names;
}

bool forward_returns_tuple(const torch::jit::Module& module) {
  const auto& schema = module.get_method("forward").function().getSchema();
  return schema.returns().size() == 1 && schema.returns()[0].type()->kind() == c10::TypeKind::TupleType;
}

std::string forward_output_key(const torch::jit::Module& module) {
  auto graph = module.get_method("forward").graph();
  if (graph->outputs().size() != 1) return "";
  Node* producer = graph->outputs()[0]->node();
  if (producer->kind() != c10::Symbol::fromQualString("prim::DictConstruct") || producer->inputs().empty()) return "";
  auto key = torch::jit::toIValue(producer->input(0));
  return key && key->isString() ? key->toStringRef() : "";
}

std::optional<torch::jit::Module> find_submodule(const torch::jit::Module& root, const std::string& path) {
  torch::jit::Module current = root;
  size_t start = 0;
  while (start <= path.size()) {
    size_t dot = path.find('.', start);
    std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    bool found = false;
    for (const auto& child : current.named_children()) {
      if (child.name == part) {
        current = child.value;
        found = true;
        break;
      }
    }
    if (!found) return std::nullopt;
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return current;
}

}  // namespace lwm

// compress inspect MODEL.pt [--json]: what the model is, and whether lwm can rebuild it faithfully.
#include <filesystem>
#include <iostream>
#include <set>
#include <sstream>

#include "lwm/cli/commands.h"
#include "lwm/model/builder.h"
#include "lwm/model/faithfulness.h"
#include "lwm/model/importer.h"
#include "lwm/model/tensor_inventory.h"
#include "lwm/measure/model_measurement.h"

namespace lwm {
namespace {

std::string with_commas(int64_t n) {
  // Appends rather than inserts: GCC 12 warns (-Wstringop-overflow, a false positive) on insert in C++20.
  const std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && digits[i - 1] != '-' && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string describe_layers(const ModelSpec& spec) {
  std::set<std::tuple<int, int, int>> shapes;
  for (const auto& l : spec.layers) shapes.insert({l.heads, l.head_dim, l.ffn});
  std::ostringstream s;
  if (shapes.size() == 1) {
    const auto& l = spec.layers.front();
    s << "  every layer: " << l.heads << " heads x " << l.head_dim << ", FFN " << l.ffn << "\n";
  } else {
    for (int i = 0; i < spec.num_layers(); ++i) {
      const auto& l = spec.layers[i];
      s << "  " << (spec.encoder_decoder ? (l.decoder ? "decoder " : "encoder ") : "") << "layer "
        << spec.stack_index(i) << ": " << l.heads << " heads x " << l.head_dim << ", FFN " << l.ffn;
      if (l.decoder) s << ", cross-attention " << l.cross_heads << " heads";
      s << "\n";
    }
  }
  return s.str();
}

// Every tensor the spec implies, by role, with its shape and what each axis indexes (tensor_inventory.h).
nlohmann::json tensors_json(const ImportedModel& m) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& t : tensor_inventory(m.spec)) {
    nlohmann::json axes = nlohmann::json::array();
    for (Axis a : t.axes) axes.push_back(to_string(a));
    auto it = m.weights.find(t.name());
    out.push_back({{"name", t.name()},
                   {"role", to_string(t.role)},
                   {"layer", t.layer},
                   {"axes", axes},
                   {"shape", it == m.weights.end() ? nlohmann::json(nullptr) : nlohmann::json(it->second.sizes().vec())}});
  }
  return out;
}

}  // namespace

int run_inspect(const InspectArgs& args) {
  ImportedModel m = import_model(args.model);
  // A frozen (int8) model cannot be rebuilt; its spec comes from the file.
  const double diff = m.frozen ? 0.0 : verify_faithful(m.module, build_module(m.spec, m.weights), m.spec);
  std::error_code ec;
  const auto bytes = static_cast<int64_t>(std::filesystem::file_size(args.model, ec));
  const int64_t params = count_parameters(m.module);
  if (args.json) {
    nlohmann::json out = {{"path", args.model.string()},
                          {"spec", m.spec.to_json()},
                          {"size", {{"file_bytes", bytes}, {"parameters", params}}},
                          {"frozen_int8", m.frozen},
                          {"tensors", tensors_json(m)},
                          {"faithful", m.frozen ? nlohmann::json(nullptr)
                                                : nlohmann::json{{"max_abs_logit_difference", diff},
                                                                 {"tolerance", kFaithfulnessTolerance}}}};
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  const auto& s = m.spec;
  if (s.encoder_decoder) {
    std::cout << args.model.string() << ": " << to_string(s.family) << " encoder-decoder (text to text: classifies by "
              << "scoring label words), " << s.num_encoder_layers() << " encoder + " << s.num_decoder_layers()
              << " decoder layers, hidden " << s.hidden << "\n"
              << describe_layers(s) << "  vocabulary " << s.vocab_size << ", relative positions in "
              << s.relative_buckets << " buckets up to " << s.relative_max_distance << "\n"
              << "  pre-" << (s.norm_kind == NormKind::RmsNorm ? "RMSNorm" : "LayerNorm") << " eps " << s.norm_eps
              << ", activation " << to_string(s.activation) << (s.names.ffn_gate.empty() ? "" : " (gated)")
              << (s.names.lm_head.empty() ? ", LM head tied to the embedding" : ", untied LM head") << "\n"
              << "  forward(input_ids, attention_mask, decoder_input_ids) -> (lm_logits, encoder output)"
              << (s.label_tokens.empty() ? "" : "; classify(input_ids, attention_mask) -> label scores") << "\n"
              << "  parameters " << with_commas(params) << ", file " << with_commas(bytes) << " bytes\n"
              << (m.frozen ? std::string("  frozen int8 model written by lwm: spec read from the file, not rebuilt\n")
                           : "  rebuilt natively: max |logit difference| " + std::to_string(diff) + " <= 1e-04: faithful\n");
    return 0;
  }
  const bool lm = s.head == HeadType::LabelWords;
  std::cout << args.model.string() << ": " << to_string(s.family)
            << (lm ? " language model (classifies by scoring label words as the next token), "
                   : " sequence classifier, ")
            << s.num_layers() << " layers, hidden " << s.hidden;
  if (!lm || s.num_labels > 0) std::cout << ", " << s.num_labels << " labels";
  std::cout << "\n"
            << describe_layers(s) << "  vocabulary " << s.vocab_size
            << (s.input_vocab_size > 0 ? " (pruned: rows of " + std::to_string(s.input_vocab_size) + " input ids)" : "")
            << (s.embedding_width != s.hidden ? ", embedding width " + std::to_string(s.embedding_width) : "")
            << ", positions " << s.max_positions
            << " (" << to_string(s.positions) << "), token types " << s.type_vocab_size << "\n"
            << "  " << (s.norm == NormPlacement::Pre ? "pre" : "post") << "-LayerNorm eps " << s.norm_eps
            << ", activation " << to_string(s.activation) << ", head " << to_string(s.head)
            << (s.names.head_dense.empty() ? "" : " (" + to_string(s.head_activation) + ")")
            << (s.head == HeadType::LastToken ? ", pooling " + to_string(s.pooling) : std::string())
            << (s.causal ? ", causal attention" : "") << (s.fused_qkv() ? ", fused Q|K|V" : "")
            << (s.transposed_weights ? ", Conv1D [in, out] weights" : "")
            << (!lm ? "" : s.names.lm_head.empty() ? ", LM head tied to the embedding" : ", untied LM head") << "\n"
            << "  forward(";
  for (size_t i = 0; i < s.forward_args.size(); ++i) std::cout << (i ? ", " : "") << s.forward_args[i];
  const std::string out = lm ? "lm_logits" : "logits";
  std::cout << ") -> " << (!s.output_key.empty() ? "{\"" + s.output_key + "\": " + out + "}" : s.returns_tuple ? "(" + out + ",)" : out)
            << (lm && !s.label_tokens.empty() ? "; classify(input_ids, attention_mask) -> label scores" : "") << "\n"
            << "  parameters " << with_commas(params) << ", file " << with_commas(bytes) << " bytes\n"
            << (m.frozen ? std::string("  frozen int8 model written by lwm: spec read from the file, not rebuilt\n")
                         : "  rebuilt natively: max |logit difference| " + std::to_string(diff) + " <= 1e-04: faithful\n");
  return 0;
}

}  // namespace lwm

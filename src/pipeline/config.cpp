#include "lwm/pipeline/config.h"

#include <fstream>
#include <functional>
#include <map>

#include "lwm/common/error.h"

namespace lwm {
namespace {

using Json = nlohmann::json;

template <typename T>
T as(const std::string& key, const Json& v) {
  try {
    if constexpr (std::is_same_v<T, bool>) {
      if (v.is_string()) {
        if (v == "true") return true;
        if (v == "false") return false;
      }
      if (!v.is_boolean()) throw std::invalid_argument("");
    } else if constexpr (std::is_arithmetic_v<T>) {
      if (!v.is_number()) throw std::invalid_argument("");
      if constexpr (std::is_integral_v<T>) {
        if (!v.is_number_integer()) throw std::invalid_argument("");
      }
    }
    return v.get<T>();
  } catch (const std::exception&) {
    throw UsageError("config key '" + key + "': invalid value " + v.dump());
  }
}

double fraction(const std::string& key, const Json& v, bool allow_one) {
  const double x = as<double>(key, v);
  if (!(x >= 0 && (allow_one ? x <= 1 : x < 1))) {
    throw UsageError("config key '" + key + "': " + v.dump() + " is outside [0, 1" + (allow_one ? "]" : ")"));
  }
  return x;
}

double positive(const std::string& key, const Json& v) {
  const double x = as<double>(key, v);
  if (!(x > 0)) throw UsageError("config key '" + key + "': must be positive, got " + v.dump());
  return x;
}

std::vector<int> int_list(const std::string& key, const Json& v) {
  if (v.is_array()) {
    std::vector<int> out;
    for (const auto& e : v) out.push_back(as<int>(key, e));
    return out;
  }
  if (v.is_number_integer()) return {v.get<int>()};
  if (v.is_string()) {  // "0,4,8" from the command line
    std::vector<int> out;
    std::string s = v.get<std::string>(), item;
    std::stringstream in(s);
    while (std::getline(in, item, ',')) {
      try {
        out.push_back(std::stoi(item));
      } catch (const std::exception&) {
        throw UsageError("config key '" + key + "': invalid list " + v.dump());
      }
    }
    return out;
  }
  throw UsageError("config key '" + key + "': expected a list of layer numbers, got " + v.dump());
}

struct Key {
  std::string help;
  std::function<void(CompressConfig&, const std::string&, const Json&)> set;
  std::function<Json(const CompressConfig&)> get;
};

const std::vector<std::pair<std::string, Key>>& keys() {
  static const std::vector<std::pair<std::string, Key>> k = {
      {"keep_layers", {"layers the student keeps (overrides keep_layer_fraction)",
                       [](auto& c, auto& n, auto& v) { c.keep_layers = as<int>(n, v); if (c.keep_layers < 1) throw UsageError("config key 'keep_layers': must be at least 1"); },
                       [](auto& c) { return Json(c.keep_layers); }}},
      {"keep_layer_fraction", {"fraction of the teacher's layers the student keeps (2/3, 1/3)",
                               [](auto& c, auto& n, auto& v) { c.keep_layer_fraction = fraction(n, v, true); if (c.keep_layer_fraction == 0) throw UsageError("config key 'keep_layer_fraction': must be above 0"); },
                               [](auto& c) { return Json(c.keep_layer_fraction); }}},
      {"layer_strategy", {"which layers to keep: top (drop the highest), bottom, alternate, explicit",
                          [](auto& c, auto& n, auto& v) { c.layer_strategy = layer_strategy_from_string(as<std::string>(n, v)); },
                          [](auto& c) { return Json(to_string(c.layer_strategy)); }}},
      {"layers", {"explicit strategy: teacher layers to keep, e.g. [0, 5, 11] or \"0,5,11\"",
                  [](auto& c, auto& n, auto& v) { c.layers = int_list(n, v); c.layer_strategy = LayerStrategy::Explicit; },
                  [](auto& c) { return Json(c.layers); }}},
      {"epochs", {"training epochs of the distillation",
                  [](auto& c, auto& n, auto& v) { c.train.epochs = as<int>(n, v); if (c.train.epochs < 1) throw UsageError("config key 'epochs': must be at least 1"); },
                  [](auto& c) { return Json(c.train.epochs); }}},
      {"max_steps", {"stop after this many optimizer steps (0: run all epochs)",
                     [](auto& c, auto& n, auto& v) { c.train.max_steps = as<int64_t>(n, v); },
                     [](auto& c) { return Json(c.train.max_steps); }}},
      {"batch_size", {"training batch size",
                      [](auto& c, auto& n, auto& v) { c.train.batch_size = static_cast<int>(positive(n, v)); },
                      [](auto& c) { return Json(c.train.batch_size); }}},
      {"learning_rate", {"peak AdamW learning rate",
                         [](auto& c, auto& n, auto& v) { c.train.learning_rate = positive(n, v); },
                         [](auto& c) { return Json(c.train.learning_rate); }}},
      {"weight_decay", {"AdamW weight decay (not on biases and LayerNorm)",
                        [](auto& c, auto& n, auto& v) { c.train.weight_decay = as<double>(n, v); },
                        [](auto& c) { return Json(c.train.weight_decay); }}},
      {"warmup_ratio", {"linear warm-up, fraction of all steps; then linear decay to 0",
                        [](auto& c, auto& n, auto& v) { c.train.warmup_ratio = fraction(n, v, true); },
                        [](auto& c) { return Json(c.train.warmup_ratio); }}},
      {"max_grad_norm", {"gradient clipping norm (0: none)",
                         [](auto& c, auto& n, auto& v) { c.train.max_grad_norm = as<double>(n, v); },
                         [](auto& c) { return Json(c.train.max_grad_norm); }}},
      {"seed", {"seed for shuffling, dropout and initialisation",
                [](auto& c, auto& n, auto& v) { c.train.seed = as<uint64_t>(n, v); },
                [](auto& c) { return Json(c.train.seed); }}},
      {"max_length", {"tokens per example after truncation",
                      [](auto& c, auto& n, auto& v) { c.max_length = as<int>(n, v); if (c.max_length < 2) throw UsageError("config key 'max_length': must be at least 2"); },
                      [](auto& c) { return Json(c.max_length); }}},
      {"temperature", {"distillation temperature T (the KL term is scaled by T^2)",
                       [](auto& c, auto& n, auto& v) { c.distill.temperature = positive(n, v); },
                       [](auto& c) { return Json(c.distill.temperature); }}},
      {"alpha", {"weight of the hard-label loss beside the soft (teacher) loss",
                 [](auto& c, auto& n, auto& v) { c.distill.alpha = as<double>(n, v); if (c.distill.alpha < 0) throw UsageError("config key 'alpha': must not be negative"); },
                 [](auto& c) { return Json(c.distill.alpha); }}},
      {"hidden_weight", {"weight of the hidden-state MSE (0: off)",
                         [](auto& c, auto& n, auto& v) { c.distill.hidden_weight = as<double>(n, v); if (c.distill.hidden_weight < 0) throw UsageError("config key 'hidden_weight': must not be negative"); },
                         [](auto& c) { return Json(c.distill.hidden_weight); }}},
      {"hidden_map", {"teacher layer matched with each student layer (default: the layers kept)",
                      [](auto& c, auto& n, auto& v) { c.distill.hidden_map = int_list(n, v); },
                      [](auto& c) { return Json(c.distill.hidden_map); }}},
      {"cache_teacher_logits", {"compute the teacher's logits once instead of every step",
                                [](auto& c, auto& n, auto& v) { c.distill.cache_teacher_logits = as<bool>(n, v); },
                                [](auto& c) { return Json(c.distill.cache_teacher_logits); }}},
      {"prune_heads", {"final fraction of attention heads pruned, in [0, 1)",
                       [](auto& c, auto& n, auto& v) { c.prune.heads = fraction(n, v, false); },
                       [](auto& c) { return Json(c.prune.heads); }}},
      {"prune_ffn", {"final fraction of FFN neurons pruned, in [0, 1)",
                     [](auto& c, auto& n, auto& v) { c.prune.ffn = fraction(n, v, false); },
                     [](auto& c) { return Json(c.prune.ffn); }}},
      {"prune_hidden", {"final fraction of hidden dimensions pruned, in [0, 1)",
                        [](auto& c, auto& n, auto& v) { c.prune.hidden = fraction(n, v, false); },
                        [](auto& c) { return Json(c.prune.hidden); }}},
      {"prune_start", {"pruning starts at this fraction of training steps",
                       [](auto& c, auto& n, auto& v) { c.prune_start = fraction(n, v, true); },
                       [](auto& c) { return Json(c.prune_start); }}},
      {"prune_end", {"final sparsity is reached at this fraction of training steps",
                     [](auto& c, auto& n, auto& v) { c.prune_end = fraction(n, v, true); },
                     [](auto& c) { return Json(c.prune_end); }}},
      {"prune_frequency", {"steps between mask updates",
                           [](auto& c, auto& n, auto& v) { c.prune_frequency = static_cast<int64_t>(positive(n, v)); },
                           [](auto& c) { return Json(c.prune_frequency); }}},
      {"int8", {"int8 for CPU: dynamic int8 Linear layers (see int8_min_weights) and an int8 word embedding",
                [](auto& c, auto& n, auto& v) { c.int8 = as<bool>(n, v); },
                [](auto& c) { return Json(c.int8); }}},
      {"int8_min_weights", {"with int8: Linear layers with fewer weights (in x out) stay fp32, where int8's fixed cost per call loses",
                            [](auto& c, auto& n, auto& v) { c.int8_min_weights = as<int64_t>(n, v); if (c.int8_min_weights < 0) throw UsageError("config key 'int8_min_weights': must be at least 0"); },
                            [](auto& c) { return Json(c.int8_min_weights); }}},
      {"eval_batch_size", {"batch size of evaluation and latency measurement",
                           [](auto& c, auto& n, auto& v) { c.eval_batch_size = static_cast<int>(positive(n, v)); c.train.eval_batch_size = c.eval_batch_size; },
                           [](auto& c) { return Json(c.eval_batch_size); }}},
      {"latency_samples", {"single examples timed for batch-1 latency",
                           [](auto& c, auto& n, auto& v) { c.latency_samples = static_cast<int>(positive(n, v)); },
                           [](auto& c) { return Json(c.latency_samples); }}},
      {"cpu_watts", {"watts per busy core for the CPU-time energy estimate",
                     [](auto& c, auto& n, auto& v) { c.cpu_watts = as<double>(n, v); if (c.cpu_watts < 0) throw UsageError("config key 'cpu_watts': must not be negative"); },
                     [](auto& c) { return Json(c.cpu_watts); }}},
      {"carbon_intensity", {"grid carbon intensity, gCO2e/kWh",
                            [](auto& c, auto& n, auto& v) { c.carbon_intensity = as<double>(n, v); if (c.carbon_intensity < 0) throw UsageError("config key 'carbon_intensity': must not be negative"); },
                            [](auto& c) { return Json(c.carbon_intensity); }}},
      {"min_relative_accuracy", {"target: student/teacher primary metric at least this (exit 7 if missed)",
                                 [](auto& c, auto& n, auto& v) { c.min_relative_accuracy = as<double>(n, v); },
                                 [](auto& c) { return Json(c.min_relative_accuracy); }}},
      {"max_relative_size", {"target: student/teacher file size at most this",
                             [](auto& c, auto& n, auto& v) { c.max_relative_size = as<double>(n, v); },
                             [](auto& c) { return Json(c.max_relative_size); }}},
      {"max_relative_time", {"target: student/teacher eval time at most this",
                             [](auto& c, auto& n, auto& v) { c.max_relative_time = as<double>(n, v); },
                             [](auto& c) { return Json(c.max_relative_time); }}},
  };
  return k;
}

std::string normalise(std::string key) {
  while (!key.empty() && key.front() == '-') key.erase(0, 1);
  for (char& ch : key) {
    if (ch == '-') ch = '_';
  }
  return key;
}

}  // namespace

const std::vector<std::pair<std::string, std::string>>& config_keys() {
  static const std::vector<std::pair<std::string, std::string>> out = [] {
    std::vector<std::pair<std::string, std::string>> v;
    for (const auto& [name, key] : keys()) v.emplace_back(name, key.help);
    return v;
  }();
  return out;
}

void set_config_value(CompressConfig& config, const std::string& raw_key, const Json& value) {
  const std::string key = normalise(raw_key);
  for (const auto& [name, k] : keys()) {
    if (name == key) {
      k.set(config, name, value);
      return;
    }
  }
  throw UsageError("unknown config key '" + raw_key + "' (see the README for the keys)");
}

Json CompressConfig::to_json() const {
  Json out = Json::object();
  for (const auto& [name, k] : keys()) out[name] = k.get(*this);
  return out;
}

CompressConfig load_config(const std::optional<std::filesystem::path>& file,
                           const std::vector<std::pair<std::string, std::string>>& overrides) {
  CompressConfig config;
  if (file) {
    std::ifstream in(*file);
    if (!in) throw UsageError(file->string() + ": cannot read the config file");
    Json j;
    try {
      j = Json::parse(in);
    } catch (const Json::parse_error& e) {
      throw UsageError(file->string() + ": not valid JSON: " + e.what());
    }
    if (!j.is_object()) throw UsageError(file->string() + ": a config is a JSON object of keys");
    for (const auto& [key, value] : j.items()) {
      if (key == "description") continue;  // free text for people reading the preset
      try {
        set_config_value(config, key, value);
      } catch (const UsageError& e) {
        throw UsageError(file->string() + ": " + e.what());
      }
    }
  }
  for (const auto& [key, text] : overrides) {
    Json value = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded()) value = text;
    set_config_value(config, key, value);
  }
  return config;
}

}  // namespace lwm

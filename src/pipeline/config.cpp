#include "lwm/pipeline/config.h"

#include <fstream>
#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <sstream>

#include "lwm/common/error.h"
#include "lwm/common/number.h"

namespace lwm {
namespace {

using Json = nlohmann::json;

// A value for a message. A command-line value is any bytes: invalid UTF-8 is shown as U+FFFD, where a plain
// dump() would throw json::type_error (not a UsageError).
std::string show(const Json& v) { return v.dump(-1, ' ', false, Json::error_handler_t::replace); }

// A string or bool key's value (numbers go through number_value). "true"/"false" from the command line too.
template <typename T>
T as(const std::string& key, const Json& v) {
  static_assert(std::is_same_v<T, bool> || std::is_same_v<T, std::string>);
  if constexpr (std::is_same_v<T, bool>) {
    if (v.is_boolean()) return v.get<bool>();
    if (v == "true") return true;
    if (v == "false") return false;
    throw UsageError(key + ": " + show(v) + " is not allowed: must be true or false");
  } else {
    if (!v.is_string()) throw UsageError(key + ": " + show(v) + " is not allowed: must be a string");
    return v.get<std::string>();
  }
}

// A number of a key with a NumberRule: JSON numbers, or text (from --KEY VALUE) read by parse_number.
// JSON 3.0 for an integer key is refused, as "3.0" on the command line is.
double number_value(const std::string& name, const Json& v, const NumberRule& rule) {
  if (v.is_string()) return parse_number(name, v.get<std::string>(), rule);
  if (v.is_number() && (!rule.integer || !v.is_number_float())) return check_number(name, v.get<double>(), rule);
  throw UsageError(name + ": " + show(v) + " is not allowed: must be " + rule.describe());
}

const NumberRule kLayerNumber = NumberRule::integers(0, 100000);

std::vector<int> int_list(const std::string& key, const Json& v) {
  std::vector<int> out;
  if (v.is_array()) {
    for (const auto& e : v) out.push_back(static_cast<int>(number_value(key, e, kLayerNumber)));
    return out;
  }
  if (v.is_number()) return {static_cast<int>(number_value(key, v, kLayerNumber))};
  if (v.is_string()) {  // "0,4,8" from the command line
    std::string item;
    std::stringstream in(v.get<std::string>());
    while (std::getline(in, item, ',')) out.push_back(static_cast<int>(parse_number(key, item, kLayerNumber)));
    return out;
  }
  throw UsageError(key + ": expected a list of layer numbers, got " + show(v));
}

// A key: its help, and either a NumberRule with a setter of the checked number, or a setter of any JSON value.
struct Key {
  std::string type;  // for --help: INT, NUMBER, BOOL, LIST (of layer numbers) or TEXT
  std::string help;
  std::optional<NumberRule> rule;
  std::function<void(CompressConfig&, double)> set_number;
  std::function<void(CompressConfig&, const std::string&, const Json&)> set;
  std::function<Json(const CompressConfig&)> get;
};

Key number(std::string help, NumberRule rule, std::function<void(CompressConfig&, double)> set,
           std::function<Json(const CompressConfig&)> get) {
  return {rule.integer ? "INT" : "NUMBER", std::move(help), rule, std::move(set), nullptr, std::move(get)};
}

Key other(std::string type, std::string help, std::function<void(CompressConfig&, const std::string&, const Json&)> set,
          std::function<Json(const CompressConfig&)> get) {
  return {std::move(type), std::move(help), std::nullopt, nullptr, std::move(set), std::move(get)};
}

// Upper bounds where nothing else bounds a value are far above any sensible setting; they exist so that a
// typo (an extra digit, a sign) is refused instead of running for days.
const std::vector<std::pair<std::string, Key>>& keys() {
  using R = NumberRule;
  static const std::vector<std::pair<std::string, Key>> k = {
      {"keep_layers", number("layers the student keeps (overrides keep_layer_fraction)", R::integers(1, 100000),
                             [](auto& c, double x) { c.keep_layers = static_cast<int>(x); },
                             [](auto& c) { return Json(c.keep_layers); })},
      {"keep_layer_fraction", number("fraction of the teacher's layers the student keeps (2/3, 1/3)", R::reals(0, 1, true),
                                     [](auto& c, double x) { c.keep_layer_fraction = x; },
                                     [](auto& c) { return Json(c.keep_layer_fraction); })},
      {"layer_strategy", other("TEXT", "which layers to keep: top (drop the highest), bottom, alternate, explicit",
                               [](auto& c, auto& n, auto& v) { c.layer_strategy = layer_strategy_from_string(as<std::string>(n, v)); },
                               [](auto& c) { return Json(to_string(c.layer_strategy)); })},
      {"layers", other("LIST", "explicit strategy: teacher layers to keep, e.g. [0, 5, 11] or \"0,5,11\"",
                       [](auto& c, auto& n, auto& v) { c.layers = int_list(n, v); c.layer_strategy = LayerStrategy::Explicit; },
                       [](auto& c) { return Json(c.layers); })},
      {"prune_vocab", other("BOOL", "keep only the word-embedding rows of the ids the training data uses and the special tokens; other ids read [UNK]'s row (classifier heads only)",
                            [](auto& c, auto& n, auto& v) { c.prune_vocab = as<bool>(n, v); },
                            [](auto& c) { return Json(c.prune_vocab); })},
      {"epochs", number("training epochs of the distillation", R::integers(1, 10000),
                        [](auto& c, double x) { c.train.epochs = static_cast<int>(x); },
                        [](auto& c) { return Json(c.train.epochs); })},
      {"max_steps", number("stop after this many optimizer steps (0: run all epochs)", R::integers(0, 1e12),
                           [](auto& c, double x) { c.train.max_steps = static_cast<int64_t>(x); },
                           [](auto& c) { return Json(c.train.max_steps); })},
      {"batch_size", number("training batch size", R::integers(1, 65536),
                            [](auto& c, double x) { c.train.batch_size = static_cast<int>(x); },
                            [](auto& c) { return Json(c.train.batch_size); })},
      {"learning_rate", number("peak AdamW learning rate", R::reals(0, 10, true),
                               [](auto& c, double x) { c.train.learning_rate = x; },
                               [](auto& c) { return Json(c.train.learning_rate); })},
      {"weight_decay", number("AdamW weight decay (not on biases and LayerNorm)", R::reals(0, 1),
                              [](auto& c, double x) { c.train.weight_decay = x; },
                              [](auto& c) { return Json(c.train.weight_decay); })},
      {"warmup_ratio", number("linear warm-up, fraction of all steps; then linear decay to 0", R::reals(0, 1),
                              [](auto& c, double x) { c.train.warmup_ratio = x; },
                              [](auto& c) { return Json(c.train.warmup_ratio); })},
      {"max_grad_norm", number("gradient clipping norm (0: none)", R::reals(0, 1e6),
                               [](auto& c, double x) { c.train.max_grad_norm = x; },
                               [](auto& c) { return Json(c.train.max_grad_norm); })},
      {"seed", number("seed for shuffling, dropout and initialisation", R::integers(0, 9007199254740991.0),
                      [](auto& c, double x) { c.train.seed = static_cast<uint64_t>(x); },
                      [](auto& c) { return Json(c.train.seed); })},
      {"dropout", number("the student's dropout probability while it trains, in [0, 1) (default: the teacher's)",
                         R::reals(0, 1, false, true), [](auto& c, double x) { c.dropout = x; },
                         [](auto& c) { return c.dropout ? Json(*c.dropout) : Json(nullptr); })},
      {"max_length", number("tokens per example after truncation", R::integers(2, 1048576),
                            [](auto& c, double x) { c.max_length = static_cast<int>(x); },
                            [](auto& c) { return Json(c.max_length); })},
      {"temperature", number("distillation temperature T (the KL term is scaled by T^2)", R::reals(0, 100, true),
                             [](auto& c, double x) { c.distill.temperature = x; },
                             [](auto& c) { return Json(c.distill.temperature); })},
      {"alpha", number("weight of the hard-label loss beside the soft (teacher) loss", R::reals(0, 1000),
                       [](auto& c, double x) { c.distill.alpha = x; },
                       [](auto& c) { return Json(c.distill.alpha); })},
      {"hidden_weight", number("weight of the hidden-state MSE (0: off)", R::reals(0, 1e6),
                               [](auto& c, double x) { c.distill.hidden_weight = x; },
                               [](auto& c) { return Json(c.distill.hidden_weight); })},
      {"hidden_map", other("LIST", "teacher layer matched with each student layer (default: the layers kept)",
                           [](auto& c, auto& n, auto& v) { c.distill.hidden_map = int_list(n, v); },
                           [](auto& c) { return Json(c.distill.hidden_map); })},
      {"cache_teacher_logits", other("BOOL", "compute the teacher's logits once instead of every step",
                                     [](auto& c, auto& n, auto& v) { c.distill.cache_teacher_logits = as<bool>(n, v); },
                                     [](auto& c) { return Json(c.distill.cache_teacher_logits); })},
      {"prune_heads", number("final fraction of attention heads pruned, in [0, 1)", R::reals(0, 1, false, true),
                             [](auto& c, double x) { c.prune.heads = x; },
                             [](auto& c) { return Json(c.prune.heads); })},
      {"prune_ffn", number("final fraction of FFN neurons pruned, in [0, 1)", R::reals(0, 1, false, true),
                           [](auto& c, double x) { c.prune.ffn = x; },
                           [](auto& c) { return Json(c.prune.ffn); })},
      {"prune_hidden", number("final fraction of hidden dimensions pruned, in [0, 1)", R::reals(0, 1, false, true),
                              [](auto& c, double x) { c.prune.hidden = x; },
                              [](auto& c) { return Json(c.prune.hidden); })},
      {"prune_start", number("pruning starts at this fraction of training steps", R::reals(0, 1),
                             [](auto& c, double x) { c.prune_start = x; },
                             [](auto& c) { return Json(c.prune_start); })},
      {"prune_end", number("final sparsity is reached at this fraction of training steps", R::reals(0, 1),
                           [](auto& c, double x) { c.prune_end = x; },
                           [](auto& c) { return Json(c.prune_end); })},
      {"prune_frequency", number("steps between mask updates", R::integers(1, 1e9),
                                 [](auto& c, double x) { c.prune_frequency = static_cast<int64_t>(x); },
                                 [](auto& c) { return Json(c.prune_frequency); })},
      {"prune_importance", other("TEXT", "how units are ranked for pruning: magnitude (L2 norm of their weights, the study's) or taylor (first-order Taylor, (sum of w x gradient)^2 over the steps since the last mask update)",
                                 [](auto& c, auto& n, auto& v) { c.prune_importance = importance_from_string(as<std::string>(n, v)); },
                                 [](auto& c) { return Json(to_string(c.prune_importance)); })},
      {"int8", other("BOOL", "int8 for CPU: dynamic int8 Linear layers (see int8_min_weights) and an int8 word embedding",
                     [](auto& c, auto& n, auto& v) { c.int8 = as<bool>(n, v); },
                     [](auto& c) { return Json(c.int8); })},
      {"int8_min_weights", number("with int8: Linear layers with fewer weights (in x out) stay fp32, where int8's fixed cost per call loses",
                                  R::integers(0, 1e12),
                                  [](auto& c, double x) { c.int8_min_weights = static_cast<int64_t>(x); },
                                  [](auto& c) { return Json(c.int8_min_weights); })},
      {"eval_batch_size", number("batch size of evaluation and latency measurement", R::integers(1, 65536),
                                 [](auto& c, double x) { c.eval_batch_size = static_cast<int>(x); c.train.eval_batch_size = c.eval_batch_size; },
                                 [](auto& c) { return Json(c.eval_batch_size); })},
      {"latency_samples", number("single examples timed for batch-1 latency", R::integers(1, 1000000),
                                 [](auto& c, double x) { c.latency_samples = static_cast<int>(x); },
                                 [](auto& c) { return Json(c.latency_samples); })},
      {"cpu_watts", number("watts per busy core for the CPU-time energy estimate", R::reals(0, 1000),
                           [](auto& c, double x) { c.cpu_watts = x; },
                           [](auto& c) { return Json(c.cpu_watts); })},
      {"carbon_intensity", number("grid carbon intensity, gCO2e/kWh", R::reals(0, 2000),
                                  [](auto& c, double x) { c.carbon_intensity = x; },
                                  [](auto& c) { return Json(c.carbon_intensity); })},
      {"min_relative_accuracy", number("target: student/teacher primary metric at least this (exit 7 if missed; 0: none)",
                                       R::reals(0, 10),
                                       [](auto& c, double x) { c.min_relative_accuracy = x; },
                                       [](auto& c) { return Json(c.min_relative_accuracy); })},
      {"max_relative_size", number("target: student/teacher file size at most this (0: none)", R::reals(0, 100),
                                   [](auto& c, double x) { c.max_relative_size = x; },
                                   [](auto& c) { return Json(c.max_relative_size); })},
      {"max_relative_time", number("target: student/teacher eval time at most this (0: none)", R::reals(0, 100),
                                   [](auto& c, double x) { c.max_relative_time = x; },
                                   [](auto& c) { return Json(c.max_relative_time); })},
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

// Levenshtein distance (insertions, deletions, substitutions), for "did you mean".
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

const Key& find_key(const std::string& raw_key) {
  const std::string key = normalise(raw_key);
  for (const auto& [name, k] : keys()) {
    if (name == key) return k;
  }
  // The nearest key within a third of its length (at least 2 edits): a typo, not another word.
  std::string nearest;
  size_t best = std::max<size_t>(2, key.size() / 3) + 1;
  for (const auto& [name, k] : keys()) {
    const size_t d = edit_distance(key, name);
    if (d < best) {
      best = d;
      nearest = name;
    }
  }
  // Suggested as the user spelled keys: with dashes if they used dashes (--learning-rate).
  if (raw_key.find('-', raw_key.find_first_not_of('-')) != std::string::npos) {
    std::replace(nearest.begin(), nearest.end(), '_', '-');
  }
  throw UsageError("unknown config key '" + raw_key + "'" + (nearest.empty() ? "" : ": did you mean '" + nearest + "'?") +
                   " (compress --help lists the keys)");
}

// `shown`: how the error names the key ("config key 'seed'" in a file, "--seed" on the command line).
void apply(CompressConfig& config, const std::string& raw_key, const Json& value, const std::string& shown) {
  const Key& k = find_key(raw_key);
  if (k.rule) {
    k.set_number(config, number_value(shown, value, *k.rule));
  } else {
    k.set(config, shown, value);
  }
}

}  // namespace

const std::vector<ConfigKey>& config_keys() {
  static const std::vector<ConfigKey> out = [] {
    std::vector<ConfigKey> v;
    for (const auto& [name, key] : keys()) {
      v.push_back({name, key.type, key.rule ? key.help + " (" + key.rule->describe() + ")" : key.help});
    }
    return v;
  }();
  return out;
}

const NumberRule& config_number_rule(const std::string& key) {
  const Key& k = find_key(key);
  if (!k.rule) throw std::logic_error("config key '" + key + "' is not a number");
  return *k.rule;
}

void set_config_value(CompressConfig& config, const std::string& raw_key, const Json& value) {
  apply(config, raw_key, value, "config key '" + normalise(raw_key) + "'");
}

Json CompressConfig::to_json() const {
  Json out = Json::object();
  for (const auto& [name, k] : keys()) out[name] = k.get(*this);
  return out;
}

void reject_unknown_argument(const std::string& word) {
  if (word.rfind("--", 0) != 0 || word.size() == 2) throw UsageError("unexpected argument '" + word + "'");
  find_key(word.substr(2, word.find('=') - 2));  // throws: an option for every key exists, so this one is unknown
  throw UsageError("unexpected argument '" + word + "'");
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
    } catch (const Json::exception& e) {  // parse_error, or out_of_range for a number beyond double
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
    apply(config, key, value, "--" + key);
  }
  return config;
}

}  // namespace lwm

#pragma once
// The compression recipe: every key a preset (configs/*.json) or a --KEY VALUE override
// may set. Keys are documented in the README; unknown keys and bad values are errors naming the key.
#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "lwm/common/number.h"
#include "lwm/compress/distill.h"
#include "lwm/compress/layer_removal.h"
#include "lwm/compress/pruning.h"
#include "lwm/measure/energy.h"
#include "lwm/train/trainer.h"

namespace lwm {

struct CompressConfig {
  // Stage 1: layer removal. keep_layers wins over keep_layer_fraction when both are set.
  int keep_layers = 0;
  double keep_layer_fraction = 2.0 / 3.0;
  LayerStrategy layer_strategy = LayerStrategy::Top;
  std::vector<int> layers;  // explicit strategy
  // Also stage 1: keep only the word-embedding rows of the training data's ids and the special tokens
  // (compress/vocab_pruning.h).
  bool prune_vocab = false;
  // Stage 2: distillation (+ training schedule).
  DistillOptions distill;
  TrainOptions train;
  int max_length = 128;
  std::optional<double> dropout;  // the student's dropout while it trains; unset: the teacher's (its config's)
  // Stage 3: pruning during distillation. Start and end are fractions of all training steps.
  PruneTargets prune;
  double prune_start = 0.0;
  double prune_end = 0.7;
  int64_t prune_frequency = 10;
  Importance prune_importance = Importance::Magnitude;  // how units are ranked (the study's: magnitude)
  // Stage 5: int8. Projections with fewer weights than int8_min_weights stay fp32 (compress/quantize.h,
  // quantize_weights()).
  bool int8 = false;
  int64_t int8_min_weights = 32768;
  // Measurement.
  int eval_batch_size = 32;
  int latency_samples = 50;
  double cpu_watts = kDefaultCpuWattsPerCore;
  double carbon_intensity = kDefaultCarbonIntensity;
  // Targets (0 = none): the run exits with TargetMissed when one is missed.
  double min_relative_accuracy = 0;
  double max_relative_size = 0;
  double max_relative_time = 0;

  nlohmann::json to_json() const;
};

// Every key, in order, with its value's kind (INT, NUMBER, BOOL, LIST of layer numbers, TEXT) and its one-line
// meaning (a number's allowed range included), for --help.
struct ConfigKey {
  std::string name, type, help;
};
const std::vector<ConfigKey>& config_keys();

// The rule of a numeric key ("learning_rate", "eval_batch_size", ...; '-' or '_'), for command-line options
// that set the same value (finetune --learning-rate, evaluate --batch-size): one rule wherever a number is given.
// UsageError for an unknown key; std::logic_error for a key that is not a number.
const NumberRule& config_number_rule(const std::string& key);

// Applies one key to the config; UsageError naming the key when it is unknown or its value is invalid.
void set_config_value(CompressConfig& config, const std::string& key, const nlohmann::json& value);

// The UsageError for a command-line word no option took: "unknown config key 'lerning-rate': did you mean
// 'learning-rate'?" for an option-like word (the nearest key, spelled as the user spells keys), "unexpected
// argument" for any other. (compress registers every key as a CLI11 option; this names what it left over.)
[[noreturn]] void reject_unknown_argument(const std::string& word);

// A preset file (a JSON object of keys), then --KEY VALUE overrides, in the order given (values parsed as JSON when
// they parse, else taken as strings: ".5" is read as a number by a numeric key). Keys may be written with
// '-' or '_'. Errors name the key as given: "config key 'seed'" in the file, "--seed" on the command line.
CompressConfig load_config(const std::optional<std::filesystem::path>& file,
                           const std::vector<std::pair<std::string, std::string>>& overrides);

}  // namespace lwm

// compress: the lwm command line. Without a sub-command it runs the compression pipeline;
// sub-commands: inspect, evaluate, finetune.
// Errors print one line on stderr and exit with the code of their kind (lwm/common/error.h).
#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <algorithm>
#include <csignal>
#include <iostream>
#include <map>
#include <string>
#include <vector>
#include <thread>
#include <chrono>
#include <memory>

#include "lwm/cli/commands.h"
#include "lwm/common/error.h"
#include "lwm/pipeline/config.h"
#include "lwm/pipeline/pipeline.h"
#include "lwm/pipeline/report.h"
#include "lwm/pipeline/search.h"
#include "lwm/train/data_parallel.h"

namespace {

std::string one_line(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return s;
}

// A CLI11 check by a NumberRule: the same rule, and the same one-line message, as the config key it sets.
CLI::Validator number(const lwm::NumberRule& rule) {
  return CLI::Validator(
      [rule](std::string& text) -> std::string {
        try {
          lwm::parse_number("", text, rule);
          return "";
        } catch (const lwm::UsageError&) {
          return "'" + text + "' is not allowed: must be " + rule.describe();
        }
      },
      "");
}

CLI::Validator key_rule(const std::string& config_key) { return number(lwm::config_number_rule(config_key)); }

const char* const kLabelsHelp =
    "the model's label order, class 0 first, as the data names them (e.g. MNLI: contradiction,entailment,neutral); "
    "default: the task's (README)";

// Rows to read (0: all); threads of the intra-op pool.
const lwm::NumberRule kLimitRule = lwm::NumberRule::integers(0, 2147483647);
const lwm::NumberRule kThreadsRule = lwm::NumberRule::integers(1, 1024);
const lwm::NumberRule kCheckpointRule = lwm::NumberRule::integers(0, 2147483647);
const lwm::NumberRule kNprocRule = lwm::NumberRule::integers(1, 1024);
const lwm::NumberRule kTimeoutRule = lwm::NumberRule::integers(1, 604800);

// The command line without --nproc (a worker's): "--nproc N" and "--nproc=N" removed.
std::vector<std::string> without_nproc(int argc, char** argv) {
  std::vector<std::string> out;
  for (int i = 0; i < argc; ++i) {
    const std::string w = argv[i];
    if (w == "--") {
      out.insert(out.end(), argv + i, argv + argc);
      break;
    }
    if (w == "--nproc") {
      ++i;
      continue;
    }
    if (w.rfind("--nproc=", 0) == 0) continue;
    out.push_back(w);
  }
  return out;
}

void add_data_options(CLI::App* cmd, lwm::DataArgs& d) {
  cmd->add_option("--task", d.task, "sst2, cola, mrpc, rte, stsb, wnli, qnli, qqp, mnli, imdb or generic")->required();
  cmd->add_option("--tokenizer", d.tokenizer, "vocab.txt, tokenizer.json, or a directory holding one")
      ->required();
  cmd->add_option("--max-length", d.max_length, "tokens per example after truncation")
      ->capture_default_str()
      ->check(key_rule("max_length"));
  cmd->add_option("--labels", d.labels, kLabelsHelp)->delimiter(',');
  cmd->add_option("--label-words", d.label_words, "T5, GPT-2 LM: the words scored for the labels, in label order (a,b)")
      ->delimiter(',');
}

void add_measure_options(CLI::App* cmd, lwm::MeasureArgs& m) {
  cmd->add_option("--batch-size", m.batch_size, "eval batch size")->capture_default_str()->check(key_rule("eval_batch_size"));
  cmd->add_option("--latency-samples", m.latency_samples, "single examples timed at batch 1")
      ->capture_default_str()
      ->check(key_rule("latency_samples"));
  cmd->add_option("--cpu-watts", m.cpu_watts, "watts per busy core for the CPU-time energy estimate")
      ->capture_default_str()
      ->check(key_rule("cpu_watts"));
  cmd->add_option("--carbon-intensity", m.carbon_intensity, "grid intensity in gCO2e/kWh")
      ->capture_default_str()
      ->check(key_rule("carbon_intensity"));
}

}  // namespace

int main(int argc, char** argv) {
  // A file-size limit (ulimit -f) makes a write fail with EFBIG, an OutputError (exit 5) with the earlier
  // result intact, instead of killing the process.
  std::signal(SIGXFSZ, SIG_IGN);
  CLI::App app{"lwm compress: make fine-tuned transformers small, fast and low-carbon, and measure it"};
  app.set_version_flag("--version", std::string("lwm ") + LWM_VERSION);
  app.require_subcommand(0, 1);
  app.fallthrough();  // global options (--threads, --quiet) may follow the sub-command too
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  bool quiet = false, verbose = false;
  app.add_option("--threads", threads, "intra-op threads (default: all cores)")
      ->capture_default_str()
      ->check(number(kThreadsRule));
  app.add_flag("-q,--quiet", quiet, "no progress or log output (errors still print)");
  app.add_flag("-v,--verbose", verbose, "debug log output");
  int nproc = 1, dist_timeout = 1800;
  app.add_option("--nproc", nproc,
                 "compression run, finetune: start N local workers of one data-parallel run (torchrun's variables "
                 "start one worker each instead; docs/distributed.md)")
      ->capture_default_str()
      ->check(number(kNprocRule));
  app.add_option("--dist-timeout", dist_timeout,
                 "data-parallel runs: seconds a worker waits for the others (rendezvous, each collective)")
      ->capture_default_str()
      ->check(number(kTimeoutRule));

  lwm::CompressArgs compress;
  std::string config_file;
  app.add_option("--model", compress.model, "teacher: a fine-tuned TorchScript classifier (never modified)");
  app.add_option("--task", compress.task, "sst2, cola, mrpc, rte, stsb, wnli, qnli, qqp, mnli, imdb or generic");
  app.add_option("--train", compress.train, "training data for distillation");
  app.add_option("--eval", compress.eval, "eval data");
  app.add_option("--tokenizer", compress.tokenizer, "vocab.txt, tokenizer.json, or a directory holding one");
  app.add_option("--config", config_file, "a preset, e.g. configs/1of3-layers-pruned.json");
  app.add_option("--out", compress.out, "output directory: model.pt and report.json");
  app.add_flag("--overwrite", compress.overwrite, "replace an earlier result in --out");
  app.add_option("--checkpoint-every", compress.checkpoint_every,
                 "write --out/checkpoint.pt every N distillation steps and at each epoch end (0: none)")
      ->check(number(kCheckpointRule));
  app.add_flag("--resume", compress.resume,
               "continue the run whose checkpoint is in --out (same inputs and config; none there: start afresh)");
  app.add_option("--limit-train", compress.limit_train, "use only the first N training examples (0: all)")
      ->check(number(kLimitRule));
  app.add_option("--limit-eval", compress.limit_eval, "use only the first N eval examples (0: all)")->check(number(kLimitRule));
  app.add_option("--labels", compress.labels, kLabelsHelp)->delimiter(',');
  app.add_option("--label-words", compress.label_words, "T5, GPT-2 LM: the words scored for the labels, in label order (a,b)")
      ->delimiter(',');

  // Every config key is an option of the compression run (--KEY VALUE or --KEY=VALUE, written with '-' or '_'),
  // applied after --config in the order given. Its text goes to load_config, whose rule for the key checks it
  // wherever the value comes from (a preset file too), and whose errors name the option as the user wrote it:
  // so each spelling is its own option, the '_' one hidden from --help.
  std::map<const CLI::Option*, std::string> key_options;  // option -> its name as written, without "--"
  std::vector<std::string> key_texts(2 * lwm::config_keys().size());
  size_t next_text = 0;
  std::map<std::string, std::string> dashed_keys;  // key (its '_' spelling) -> its dashed spelling
  for (const auto& [key, type, help] : lwm::config_keys()) {
    std::string dashed = key;
    std::replace(dashed.begin(), dashed.end(), '_', '-');
    dashed_keys[key] = dashed;
    for (const std::string& name : dashed == key ? std::vector<std::string>{key} : std::vector<std::string>{dashed, key}) {
      CLI::Option* option = app.add_option("--" + name, key_texts[next_text++], help)
                                ->type_name(type)
                                ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast)
                                ->group(name == dashed ? "Config keys (override --config)" : "");
      key_options[option] = name;
    }
  }

  lwm::InspectArgs inspect;
  auto* inspect_cmd = app.add_subcommand("inspect", "recognise a TorchScript model, print its spec, verify the rebuild");
  inspect_cmd->add_option("model", inspect.model, "TorchScript file")->required();
  inspect_cmd->add_flag("--json", inspect.json, "machine-readable output");

  lwm::EvaluateArgs evaluate;
  auto* evaluate_cmd = app.add_subcommand("evaluate", "measure accuracy, size, latency, energy and CO2 on eval data");
  evaluate_cmd->add_option("--model", evaluate.model, "TorchScript file")->required();
  evaluate_cmd->add_option("--eval", evaluate.eval, "eval data (GLUE .tsv, .jsonl, .csv)")->required();
  evaluate_cmd->add_option("--report", evaluate.report, "write the report JSON here");
  evaluate_cmd->add_option("--limit", evaluate.data.limit_eval, "use only the first N eval examples (0: all)")
      ->check(number(kLimitRule));
  add_data_options(evaluate_cmd, evaluate.data);
  add_measure_options(evaluate_cmd, evaluate.measure);

  lwm::FinetuneArgs finetune;
  auto& t = finetune.train_options;
  auto* finetune_cmd = app.add_subcommand("finetune", "fine-tune a model on a task (makes teachers)");
  finetune_cmd->add_option("--model", finetune.model, "initial TorchScript model")->required();
  finetune_cmd->add_option("--train", finetune.train, "training data")->required();
  finetune_cmd->add_option("--eval", finetune.eval, "eval data, evaluated after each epoch")->required();
  finetune_cmd->add_option("--out", finetune.out, "where to write the fine-tuned TorchScript model")->required();
  finetune_cmd->add_option("--metrics-out", finetune.metrics_out, "write training metrics JSON here");
  finetune_cmd->add_option("--limit-train", finetune.data.limit_train, "use only the first N training examples (0: all)")
      ->check(number(kLimitRule));
  finetune_cmd->add_option("--limit-eval", finetune.data.limit_eval, "use only the first N eval examples (0: all)")
      ->check(number(kLimitRule));
  finetune_cmd->add_option("--epochs", t.epochs)->capture_default_str()->check(key_rule("epochs"));
  finetune_cmd->add_option("--batch-size", t.batch_size)->capture_default_str()->check(key_rule("batch_size"));
  finetune_cmd->add_option("--learning-rate", t.learning_rate, "peak learning rate")->capture_default_str()->check(key_rule("learning_rate"));
  finetune_cmd->add_option("--weight-decay", t.weight_decay)->capture_default_str()->check(key_rule("weight_decay"));
  finetune_cmd->add_option("--warmup-ratio", t.warmup_ratio, "warm-up fraction of all steps")
      ->capture_default_str()
      ->check(key_rule("warmup_ratio"));
  finetune_cmd->add_option("--max-grad-norm", t.max_grad_norm, "gradient clipping (0: none)")
      ->capture_default_str()
      ->check(key_rule("max_grad_norm"));
  finetune_cmd->add_option("--seed", t.seed)->capture_default_str()->check(key_rule("seed"));
  add_data_options(finetune_cmd, finetune.data);

  lwm::SearchArgs search;
  lwm::CompressArgs& sb = search.base;
  std::string search_config, objective = "emissions", budget;
  bool no_int8 = false, no_plot = false;
  sb.checkpoint_every = 200;
  auto* search_cmd = app.add_subcommand(
      "search", "compress with several recipes and pick the greenest student that meets the targets (exit 7: none)");
  search_cmd->footer("Config keys (compress --help, \"Config keys\") set every candidate's training, after --config; "
                     "docs/search.md says how the search orders, rules out and reuses candidates.");
  search_cmd->add_option("--model", sb.model, "teacher: a fine-tuned TorchScript classifier (never modified)")->required();
  search_cmd->add_option("--task", sb.task, "sst2, cola, mrpc, rte, stsb, wnli, qnli, qqp, mnli, imdb or generic")->required();
  search_cmd->add_option("--train", sb.train, "training data for distillation")->required();
  search_cmd->add_option("--eval", sb.eval, "eval data")->required();
  search_cmd->add_option("--tokenizer", sb.tokenizer, "vocab.txt, tokenizer.json, or a directory holding one")->required();
  search_cmd->add_option("--out", sb.out, "search directory: pareto.json, pareto.md, pareto.png, best/, candidates/")
      ->required();
  search_cmd->add_option("--min-relative-accuracy", search.min_relative_accuracy,
                         "target: student metric >= this x the teacher's (report.json's rule)")
      ->required()
      ->check(key_rule("min_relative_accuracy"));
  search_cmd->add_option("--objective", objective, "what the chosen student minimises: emissions, latency-batch-1, latency or size")
      ->capture_default_str();
  search_cmd->add_option("--max-relative-time", search.max_relative_time, "target: eval-pass time / the teacher's (0: none)")
      ->check(key_rule("max_relative_time"));
  search_cmd->add_option("--max-relative-size", search.max_relative_size, "target: file size / the teacher's (0: none)")
      ->check(key_rule("max_relative_size"));
  search_cmd->add_option("--budget", budget, "stop starting candidates past this wall time: 2h, 90m, 1h30m, seconds (default: none)");
  search_cmd->add_option("--keep-layers", search.keep_layers,
                         "layer counts to try (per stack); default: 2/3, 1/2, 1/3 of the teacher's (fewer removed with "
                         "under 10,000 training examples, and for T5: docs/search.md)")
      ->delimiter(',');
  search_cmd->add_option("--sparsities", search.sparsities,
                         "structured sparsity levels to try (heads, FFN and hidden alike); default: 0, 0.3, 0.6 (0, 0.3 "
                         "with under 10,000 training examples, and for T5)")
      ->delimiter(',');
  search_cmd->add_flag("--no-int8", no_int8, "measure fp32 students only (default: each also with int8)");
  search_cmd->add_flag("--no-plot", no_plot, "no pareto.png (it needs gnuplot)");
  search_cmd->add_option("--config", search_config, "base preset: training keys (epochs, learning rate, ...) for every candidate");
  search_cmd->add_option("--checkpoint-every", sb.checkpoint_every,
                         "a candidate's checkpoint every N distillation steps and at each epoch end, so a killed search resumes (0: none)")
      ->capture_default_str()
      ->check(number(kCheckpointRule));
  search_cmd->add_option("--limit-train", sb.limit_train, "use only the first N training examples (0: all)")
      ->check(number(kLimitRule));
  search_cmd->add_option("--limit-eval", sb.limit_eval, "use only the first N eval examples (0: all)")->check(number(kLimitRule));
  search_cmd->add_option("--labels", sb.labels, kLabelsHelp)->delimiter(',');
  search_cmd->add_option("--label-words", sb.label_words, "T5, GPT-2 LM: the words scored for the labels, in label order (a,b)")
      ->delimiter(',');

  app.allow_extras();  // named by reject_unknown_argument() (did you mean); the sub-commands reject extras themselves
  for (auto* sub : {inspect_cmd, evaluate_cmd, finetune_cmd, search_cmd}) sub->allow_extras(false);
  // '-' and '_' are the same in a key (README): a spelling that mixes them is read as the dashed one, and
  // "--KEY=" as an empty value (CLI11 would take the next word instead), as a preset's "" is.
  std::vector<std::string> words(argv, argv + argc);
  for (size_t i = 1; i < words.size(); ++i) {
    if (words[i] == "--") break;
    if (words[i].rfind("--", 0) != 0) continue;
    const size_t eq = words[i].find('=');
    const std::string written = words[i].substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    std::string underscored = written;
    std::replace(underscored.begin(), underscored.end(), '-', '_');
    auto key = dashed_keys.find(underscored);
    if (key == dashed_keys.end()) continue;
    const std::string name = written == key->first ? written : key->second;
    if (eq != std::string::npos && eq + 1 == words[i].size()) {
      words[i] = "--" + name;
      words.insert(words.begin() + static_cast<std::ptrdiff_t>(i) + 1, "");
      ++i;
    } else {
      words[i] = "--" + name + (eq == std::string::npos ? "" : words[i].substr(eq));
    }
  }
  std::vector<char*> word_ptrs;
  for (auto& w : words) word_ptrs.push_back(w.data());
  try {
    app.parse(static_cast<int>(word_ptrs.size()), word_ptrs.data());
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    std::cerr << "compress: error: " << one_line(e.what()) << "\n";
    return static_cast<int>(lwm::ExitCode::Usage);
  }

  auto logger = spdlog::stderr_color_mt("lwm");
  logger->set_pattern("%^[%T %l]%$ %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(quiet ? spdlog::level::err : verbose ? spdlog::level::debug : spdlog::level::info);
  torch::set_num_threads(threads);
  // A config key given to a sub-command falls through to the compression run's option: not for it.
  std::vector<std::pair<std::string, std::string>> overrides;
  for (const CLI::Option* option : app.parse_order()) {
    if (auto it = key_options.find(option); it != key_options.end()) overrides.emplace_back(it->second, option->results().back());
  }
  if ((*inspect_cmd || *evaluate_cmd || *finetune_cmd) && (!app.remaining().empty() || !overrides.empty())) {
    const std::string word = !app.remaining().empty() ? app.remaining().front() : "--" + overrides.front().first;
    std::cerr << "compress: error: unexpected argument '" << word << "'\n";
    return static_cast<int>(lwm::ExitCode::Usage);
  }
  finetune.train_options.quiet = quiet;

  int rank = 0;  // this worker's, in a data-parallel run
  std::unique_ptr<lwm::DataParallel> parallel;
  // A compression run or finetune with --nproc starts its workers here and returns what they did; started as
  // a worker (torchrun's variables, or by --nproc), it joins the group and returns nullopt.
  auto start_data_parallel = [&](const std::optional<lwm::WorkerEnv>& env) -> std::optional<int> {
    if (nproc > 1) {
      if (env) throw lwm::UsageError("--nproc starts workers of its own: not under torchrun (WORLD_SIZE is set)");
      std::vector<std::string> worker_args = without_nproc(argc, argv);
      if (app.count("--threads") == 0) {
        const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
        worker_args.insert(worker_args.begin() + 1, {"--threads", std::to_string(std::max(1, cores / nproc))});
      }
      return lwm::launch_workers(nproc, worker_args);
    }
    if (!env || env->world_size == 1) return std::nullopt;
    rank = env->rank;
    if (rank > 0) {
      // Rank 0 tells the progress; the others speak only of trouble.
      logger->set_pattern(fmt::format("%^[%T %l]%$ [rank {}] %v", rank));
      spdlog::set_level(quiet ? spdlog::level::err : spdlog::level::warn);
    }
    parallel = std::make_unique<lwm::DataParallel>(*env, std::chrono::seconds(dist_timeout));
    compress.parallel = parallel.get();
    finetune.parallel = parallel.get();
    return std::nullopt;
  };
  // A worker's lines say which rank wrote them.
  auto error_prefix = [&](const std::string& kind) {
    return "compress: " + kind + ": " + (parallel ? fmt::format("[rank {}] ", rank) : std::string());
  };

  try {
    const auto worker_env = lwm::WorkerEnv::from_environment();
    if ((*inspect_cmd || *evaluate_cmd || *search_cmd) && (nproc > 1 || (worker_env && worker_env->world_size > 1))) {
      throw lwm::UsageError("data-parallel runs (--nproc, torchrun) are for a compression run and finetune only");
    }
    if (*inspect_cmd) return lwm::run_inspect(inspect);
    if (*evaluate_cmd) return lwm::run_evaluate(evaluate);
    if (*finetune_cmd) {
      if (const auto launched = start_data_parallel(worker_env)) return *launched;
      return lwm::run_finetune(finetune);
    }
    if (*search_cmd) {
      // Config keys (after `search` too) set the base recipe of every candidate, after --config.
      if (!app.remaining().empty()) lwm::reject_unknown_argument(app.remaining().front());
      // What the search sets per recipe, or takes as its own options, is not a base-recipe key.
      for (const auto& [name, value] : overrides) {
        std::string key = name;
        std::replace(key.begin(), key.end(), '-', '_');
        for (const char* own : {"keep_layers", "keep_layer_fraction", "layers", "prune_heads", "prune_ffn", "prune_hidden",
                                "int8", "min_relative_accuracy", "max_relative_time", "max_relative_size"}) {
          if (key == own) {
            throw lwm::UsageError("--" + name + ": search sets it per recipe or takes it as its own option (see compress search --help)");
          }
        }
      }
      sb.quiet = quiet;
      sb.config_file = search_config;
      sb.config = lwm::load_config(
          search_config.empty() ? std::nullopt : std::optional<std::filesystem::path>(search_config), overrides);
      search.objective = lwm::search_objective_from_string(objective);
      if (!budget.empty()) search.budget_seconds = lwm::parse_budget(budget);
      search.int8 = !no_int8;
      search.plot = !no_plot;
      const lwm::SearchOutcome result = lwm::run_search(search);
      std::cout << lwm::search_summary(result.pareto, sb.out);
      if (!result.found) {
        std::cerr << "compress: error: no candidate met the targets (see " << (sb.out / "pareto.md").string() << ")\n";
        return static_cast<int>(lwm::ExitCode::TargetMissed);
      }
      return 0;
    }
    for (const auto* required : {"--model", "--task", "--train", "--eval", "--tokenizer", "--out"}) {
      if (app.count(required) == 0) throw lwm::UsageError(std::string(required) + " is required (see --help)");
    }
    compress.quiet = quiet;
    compress.config_file = config_file;
    if (!app.remaining().empty()) lwm::reject_unknown_argument(app.remaining().front());
    compress.config = lwm::load_config(config_file.empty() ? std::nullopt : std::optional<std::filesystem::path>(config_file),
                                       overrides);
    if (const auto launched = start_data_parallel(worker_env)) return *launched;
    lwm::CompressOutcome outcome = lwm::run_compress(compress);
    if (outcome.report.is_null()) return 0;  // a worker other than rank 0: its part is done
    std::cout << lwm::compress_summary(outcome.report);
    if (!outcome.targets_met) {
      std::cerr << "compress: error: a target of the config was missed (see \"targets\" in "
                << (compress.out / "report.json").string() << ")\n";
      return static_cast<int>(lwm::ExitCode::TargetMissed);
    }
    return 0;
  } catch (const lwm::Error& e) {
    std::cerr << error_prefix("error") << one_line(e.what()) << "\n";
    return static_cast<int>(e.code());
  } catch (const c10::Error& e) {
    std::cerr << error_prefix("internal error (torch)") << one_line(e.what_without_backtrace()) << "\n";
    return static_cast<int>(lwm::ExitCode::Internal);
  } catch (const std::exception& e) {
    std::cerr << error_prefix("internal error") << one_line(e.what()) << "\n";
    return static_cast<int>(lwm::ExitCode::Internal);
  }
  return static_cast<int>(lwm::ExitCode::Usage);
}

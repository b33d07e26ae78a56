#include "lwm/pipeline/pipeline.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <memory>

#include "lwm/common/atomic_file.h"
#include "lwm/common/directory_lock.h"
#include "lwm/common/error.h"
#include "lwm/common/input_guard.h"
#include "lwm/common/publish.h"
#include "lwm/compress/distill.h"
#include "lwm/compress/layer_removal.h"
#include "lwm/compress/pruning.h"
#include "lwm/compress/quantize.h"
#include "lwm/compress/vocab_pruning.h"
#include "lwm/data/tokenizer_files.h"
#include "lwm/measure/evaluation.h"
#include "lwm/measure/model_measurement.h"
#include "lwm/model/builder.h"
#include "lwm/model/faithfulness.h"
#include "lwm/model/importer.h"
#include "lwm/model/torchscript_file.h"
#include "lwm/model/tensor_inventory.h"
#include "lwm/pipeline/checkpoint.h"
#include "lwm/pipeline/report.h"
#include "lwm/pipeline/task_data.h"

namespace fs = std::filesystem;

namespace lwm {
namespace {

// What run_compress writes in --out before publishing model.pt and report.json together (and before renaming
// a checkpoint into place).
const char* const kStagedFiles[] = {".model.pt.staged", ".model-fp32.pt.staged", ".report.json.staged",
                                    ".checkpoint.pt.staged"};

// Creates the directory and locks it for this run; finishes (rolls back) a publish a killed run left; removes
// the staged files of a killed run; refuses to mix a new result with an earlier one.
std::unique_ptr<DirectoryLock> prepare_out_dir(const fs::path& out, bool overwrite, bool resume) {
  std::error_code ec;
  if (fs::exists(out, ec) && !fs::is_directory(out, ec)) {
    throw OutputError(out.string() + ": --out must be a directory, and this is a file");
  }
  fs::create_directories(out, ec);
  if (ec) throw OutputError(out.string() + ": cannot create the output directory: " + ec.message());
  check_writable(out / "model.pt");
  auto lock = std::make_unique<DirectoryLock>(out);
  if (recover_publish(out)) {
    spdlog::warn("{}: an earlier run was stopped while publishing its result; the result before it is restored", out.string());
  }
  for (const char* name : kStagedFiles) fs::remove(out / name, ec);
  for (const char* name : {"model.pt", "report.json"}) {
    if (fs::exists(out / name, ec) && !overwrite) {
      throw OutputError(out.string() + " already holds a result (" + name + "); pass --overwrite to replace it");
    }
  }
  if (!resume && fs::exists(checkpoint_path(out), ec)) {
    if (!overwrite) {
      throw OutputError(out.string() + " holds the checkpoint of an unfinished run (checkpoint.pt); pass --resume to "
                        "continue it, or --overwrite to start over");
    }
    spdlog::warn("{}: starting over (--overwrite): the checkpoint of an unfinished run is discarded", out.string());
    fs::remove(checkpoint_path(out), ec);
  }
  return lock;
}

// The files whose content makes a run's checkpoint its own (the config file's keys are in the config itself).
std::vector<NamedPath> fingerprinted_files(const CompressArgs& args) {
  std::vector<NamedPath> files = compress_input_files(args);
  files.erase(std::remove_if(files.begin(), files.end(), [&](const NamedPath& f) { return f.path == args.config_file; }),
              files.end());
  return files;
}

void refuse_overwriting_inputs(const CompressArgs& args) {
  const std::vector<NamedPath> inputs = compress_input_files(args);
  std::vector<NamedPath> outputs;
  for (const fs::path& dir : {args.out, args.fp32_out}) {
    if (dir.empty()) continue;
    outputs.push_back({"the student (--out)", dir / "model.pt"});
    outputs.push_back({"the report (--out)", dir / "report.json"});
    for (const char* name : kStagedFiles) outputs.push_back({"a staged file (--out)", dir / name});
    for (const char* name : {"model.pt.previous", "report.json.previous", ".lwm-publish.json", ".lwm.lock"}) {
      outputs.push_back({"a file of the publish protocol (--out)", dir / name});
    }
  }
  outputs.push_back({"the checkpoint (--out)", checkpoint_path(args.out)});
  refuse_outputs_over_inputs(outputs, inputs);
}

// Writes `report` beside the staged model and publishes both into `dir` as a unit (lwm/common/publish.h).
void publish_result(const fs::path& dir, const fs::path& staged_model, const nlohmann::json& report) {
  const fs::path staged_report = dir / ".report.json.staged";
  try {
    {
      std::ofstream out(staged_report, std::ios::binary);
      out << report.dump(2) << "\n";
      out.close();
      if (!out) throw OutputError((dir / "report.json").string() + ": cannot write (disk full?)");
    }
    publish_together({{staged_model, dir / "model.pt"}, {staged_report, dir / "report.json"}});
  } catch (...) {
    std::error_code ignore;
    fs::remove(staged_model, ignore);
    fs::remove(staged_report, ignore);
    throw;
  }
}

MeasureOptions measure_options(const CompressConfig& c) {
  MeasureOptions m;
  m.batch_size = c.eval_batch_size;
  m.latency_samples = c.latency_samples;
  m.energy.cpu_watts_per_core = c.cpu_watts;
  m.carbon_intensity = c.carbon_intensity;
  return m;
}

}  // namespace

std::vector<NamedPath> compress_input_files(const CompressArgs& args) {
  std::vector<NamedPath> inputs = {{"the teacher (--model)", args.model},
                                   {"the training data (--train)", args.train},
                                   {"the eval data (--eval)", args.eval},
                                   {"the config (--config)", args.config_file}};
  for (const auto& f : tokenizer_input_files(args.tokenizer)) inputs.push_back({"a tokenizer file (--tokenizer)", f});
  return inputs;
}

CompressOutcome run_compress(const CompressArgs& args) {
  const CompressConfig& cfg = args.config;
  refuse_overwriting_inputs(args);
  const bool fp32_variant = cfg.int8 && !args.fp32_out.empty();
  std::error_code same_ec;
  if (fp32_variant && fs::weakly_canonical(fs::absolute(args.fp32_out), same_ec) ==
                          fs::weakly_canonical(fs::absolute(args.out), same_ec)) {
    throw UsageError("the fp32 student's directory must not be the int8 student's (" + args.out.string() + ")");
  }
  // A data-parallel run's other workers only read: rank 0 alone locks and writes the output directories.
  const bool main_worker = !args.parallel || args.parallel->is_main();
  const auto out_lock = main_worker ? prepare_out_dir(args.out, args.overwrite, args.resume) : nullptr;
  const auto fp32_lock = fp32_variant && main_worker ? prepare_out_dir(args.fp32_out, args.overwrite, false) : nullptr;
  // A checkpoint to resume is read and checked before any long work. The fingerprint reads every input file
  // once more (a hash of the teacher's bytes): only a run that writes or reads checkpoints pays for it.
  const bool checkpointing = args.checkpoint_every > 0 || args.resume;
  const nlohmann::json fingerprint =
      checkpointing ? run_fingerprint(args, fingerprinted_files(args), torch::get_num_threads()) : nlohmann::json();
  std::unique_ptr<torch::serialize::InputArchive> resumed;
  if (args.resume) {
    std::error_code ec;
    if (fs::exists(checkpoint_path(args.out), ec)) {
      resumed = read_checkpoint(args.out, fingerprint);
    } else {
      spdlog::info("--resume: {} has no checkpoint; starting from the beginning", args.out.string());
    }
  }

  ImportedModel teacher = import_model(args.model);
  if (teacher.frozen) {
    throw ModelError(args.model.string() + ": a frozen int8 model cannot be compressed further; use the fp32 teacher");
  }
  DataArgs data_args{args.task, args.tokenizer, cfg.max_length, args.limit_train, args.limit_eval, args.label_words, args.labels};
  TaskData data = load_task_data(data_args, teacher.spec);  // a T5 teacher learns its label words here
  const ModelSpec& tspec = teacher.spec;
  auto teacher_native = build_module(tspec, teacher.weights);
  verify_faithful(teacher.module, teacher_native, tspec);

  EncodedDataset train_data = load_split(data, args.train, cfg.max_length, args.limit_train);
  EncodedDataset eval_data = load_split(data, args.eval, cfg.max_length, args.limit_eval);
  const int64_t pad = data.tokenizer->pad_id();

  // Validate the recipe against this teacher before any long work.
  // An encoder-decoder loses layers from both stacks alike.
  const std::vector<int> kept =
      select_model_layers(tspec, cfg.keep_layers, cfg.keep_layer_fraction, cfg.layer_strategy, cfg.layers);
  if (cfg.prune_vocab) check_vocab_prunable(tspec, data.tokenizer->unk_id());

  EnergyMeter run_meter(EnergyOptions{cfg.cpu_watts});
  run_meter.start();

  spdlog::info("stage 1/5: layer removal: keeping {} of {} layers ({})", kept.size(), tspec.num_layers(),
               to_string(cfg.layer_strategy));
  auto [sspec, sweights] = remove_layers(tspec, teacher.weights, kept);
  if (cfg.dropout) sspec.dropout = *cfg.dropout;
  nlohmann::json vocab_summary(nullptr);
  if (cfg.prune_vocab) {
    std::vector<int64_t> used = data.tokenizer->special_ids();
    used.push_back(pad);
    for (const Encoding& e : train_data.encodings) used.insert(used.end(), e.ids.begin(), e.ids.end());
    const int64_t unk = data.tokenizer->unk_id();
    VocabPruned pruned = prune_vocabulary(sspec, sweights, used, unk);
    std::vector<int64_t> eval_ids;
    for (const Encoding& e : eval_data.encodings) eval_ids.insert(eval_ids.end(), e.ids.begin(), e.ids.end());
    const double lost = fraction_read_as_unknown(pruned.spec, pruned.weights, eval_ids, unk);
    vocab_summary = {{"input_vocab_size", pruned.spec.input_vocab_size},
                     {"kept_rows", pruned.kept_rows},
                     {"dropped_rows", pruned.dropped_rows},
                     {"unknown_token_id", unk},
                     {"eval_tokens_read_as_unknown", lost},
                     {"basis", "rows of the ids in the training data (after --limit-train and truncation), the "
                               "tokenizer's special tokens and its unknown token"}};
    spdlog::info("stage 1/5: vocabulary pruning: keeping {} of {} word-embedding rows; {:.2f}% of the eval tokens "
                 "now read as unknown", pruned.kept_rows, pruned.kept_rows + pruned.dropped_rows, 100 * lost);
    sspec = std::move(pruned.spec);
    sweights = std::move(pruned.weights);
  }
  BuildOptions build_opts;
  build_opts.hidden_mask = cfg.prune.hidden > 0;
  auto student = build_module(sspec, sweights, build_opts);

  DistillOptions dopts = cfg.distill;
  if (dopts.hidden_weight > 0 && dopts.hidden_map.empty()) {
    // Hidden states are the encoder's (the only stack of an encoder-only or decoder-only model).
    for (int l : kept) {
      if (!tspec.layers[l].decoder) dopts.hidden_map.push_back(l);
    }
  }
  Distiller distiller(teacher_native, student, data.task, dopts);
  distiller.prepare(train_data, cfg.eval_batch_size, pad);

  TrainOptions topts = cfg.train;
  topts.quiet = args.quiet;
  topts.eval_batch_size = cfg.eval_batch_size;
  const int64_t total = total_steps(train_data, topts);
  TrainHooks hooks;
  hooks.loss = [&](const Batch& b) { return distiller.loss(b); };
  std::unique_ptr<StructuredPruner> pruner;
  if (cfg.prune.any()) {
    PruneSchedule schedule;
    schedule.start_step = static_cast<int64_t>(cfg.prune_start * total);
    schedule.end_step = std::max(schedule.start_step, static_cast<int64_t>(cfg.prune_end * total));
    schedule.frequency = cfg.prune_frequency;
    pruner = std::make_unique<StructuredPruner>(sspec, student, cfg.prune, schedule, cfg.prune_importance);
    hooks.after_step = [&](int64_t step) { pruner->step(step - 1); };
    // By value: `schedule` ends with this block, the hook lives on in the training loop.
    hooks.can_keep = [end_step = schedule.end_step](int64_t step) { return step - 1 >= end_step; };
    hooks.progress_detail = [&] {
      const auto s = pruner->current_sparsity();
      return fmt::format("sparsity heads {:.2f} ffn {:.2f} hidden {:.2f}", s.heads, s.ffn, s.hidden);
    };
  }
  spdlog::info("stage 2/5: distillation{} for {} steps (T={}, alpha={}{})", pruner ? " with matrix pruning" : "",
               total, dopts.temperature, dopts.alpha,
               dopts.hidden_weight > 0 ? ", hidden-state weight " + std::to_string(dopts.hidden_weight) : "");
  TrainCheckpoints checkpoints;
  checkpoints.every = args.checkpoint_every;
  checkpoints.save = [&](torch::serialize::OutputArchive& state, int64_t step) {
    if (pruner) pruner->save(state);
    write_checkpoint(args.out, state, fingerprint);
    spdlog::debug("checkpoint after step {} of {}: {}", step, total, checkpoint_path(args.out).string());
  };
  if (resumed) {
    if (pruner) pruner->load(*resumed);
    checkpoints.resume = resumed.get();
  }
  const auto evaluate = metrics_on(data.task, eval_data, topts.eval_batch_size, pad);
  TrainResult trained = train(student, data.task, train_data, pad, evaluate, topts, hooks, checkpoints, args.parallel);
  resumed.reset();
  EnergyReading workers_energy;  // the other workers' share of the run (data-parallel runs)
  if (args.parallel) {
    // The run's energy is every worker's: RAPL counts the whole machine (rank 0's reading holds the others'
    // work already); a CPU-time estimate counts one process, so the others send theirs to rank 0.
    if (!main_worker) {
      const EnergyReading mine = run_meter.stop();
      const bool whole_machine = mine.method.rfind("rapl", 0) == 0;
      args.parallel->sum({whole_machine ? 0.0 : mine.joules, mine.cpu_seconds});
      return CompressOutcome{nlohmann::json(nullptr), true};
    }
    const std::vector<double> others = args.parallel->sum({0.0, 0.0});
    workers_energy.joules = others[0];
    workers_energy.cpu_seconds = others[1];
  }

  ModelSpec final_spec = sspec;
  torch::jit::Module final_model = student;
  double shrink_difference = 0;
  if (pruner) {
    spdlog::info("stage 3/5: shrinking: removing pruned heads, FFN neurons and hidden dimensions");
    // The best epoch's weights are restored; re-apply the (final) masks before shrinking.
    pruner->prune_to(pruner->current_sparsity());
    ShrunkModel small = pruner->shrink();
    final_spec = small.spec;
    final_model = build_module(small.spec, small.weights);
    shrink_difference = max_logit_difference(student, final_model, final_spec);
    if (!(shrink_difference <= kFaithfulnessTolerance)) {
      throw ModelError("internal: the shrunk model differs from the masked model by " +
                       std::to_string(shrink_difference));
    }
  }
  const int64_t fp32_parameters = count_parameters(final_model);
  nlohmann::json int8_summary(nullptr);
  const torch::jit::Module fp32_model = final_model;  // with int8: measured too, to say what int8 bought
  if (cfg.int8) {
    spdlog::info("stage 4/5: int8 dynamic quantization ({} engine)", select_quantized_engine());
    const Weights fp32_weights = module_weights(final_model);
    const Int8Weights int8 = quantize_weights(final_spec, fp32_weights, cfg.int8_min_weights);
    BuildOptions int8_build;
    int8_build.int8 = &int8;
    final_model = build_module(final_spec, fp32_weights, int8_build);
    int packed = 0;
    for (const auto& m : final_model.named_modules()) packed += m.value.hasattr("int8");
    int projections = 0;
    for (const auto& entry : projection_modules(final_spec)) {
      projections += fp32_weights.at(entry.first + ".weight").numel() > 0;  // a pruned-away one is never called
    }
    int8_summary = {{"min_weights", cfg.int8_min_weights},
                    {"linear_layers", projections},
                    {"linear_layers_int8", packed},
                    {"word_embedding_int8", true}};
    spdlog::info("int8: {} of {} Linear layers (those with at least {} weights) and the word embedding",
                 packed, projections, cfg.int8_min_weights);
    // Packed int8 weights can no longer be read back as a spec: keep it in the file.
    final_model.register_attribute(kSpecAttribute, c10::StringType::get(), final_spec.to_json().dump());
  }
  EnergyReading run_energy = run_meter.stop();
  run_energy.joules += workers_energy.joules;
  run_energy.cpu_seconds += workers_energy.cpu_seconds;

  spdlog::info("stage 5/5: measuring the teacher and the student on {} eval examples", eval_data.examples.size());
  // The teacher is timed right before the student, so that both see the machine in the same state (on a
  // shared machine, timings minutes apart differed by up to 1.6x). It is timed as its verified native
  // rebuild, the same implementation the student runs, so the relative figures measure the compression and
  // not the difference between a traced graph and lwm's module (a traced 12-layer teacher ran ~1.4x slower
  // than its rebuild). Size is the teacher file's.
  ModelMeasurement teacher_m = measure_model(teacher_native, args.model, data.task, eval_data, pad, measure_options(cfg));
  const fs::path staged = args.out / ".model.pt.staged";
  const fs::path fp32_staged = (fp32_variant ? args.fp32_out : args.out) / ".model-fp32.pt.staged";
  CompressOutcome outcome;
  nlohmann::json fp32_report;
  try {
    save_torchscript(final_model, staged);
    auto saved = load_torchscript(staged);
    ModelMeasurement student_m = measure_model(saved, staged, data.task, eval_data, pad, measure_options(cfg));
    student_m.parameters = fp32_parameters;  // int8 weights are packed constants, not parameters
    if (cfg.int8) {
      // The same student before int8, measured right after it: int8's own gain, free of the teacher's noise.
      save_torchscript(fp32_model, fp32_staged);
      ModelMeasurement fp32_m = measure_model(load_torchscript(fp32_staged), fp32_staged, data.task, eval_data, pad,
                                              measure_options(cfg));
      fp32_m.parameters = fp32_parameters;
      if (fp32_variant) {
        CompressArgs fp32_args = args;
        fp32_args.out = args.fp32_out;
        fp32_args.config.int8 = false;
        ReportInputs fp32_in{fp32_args, teacher.spec, final_spec, kept, teacher_m, fp32_m, trained,
                             pruner ? pruner->summary() : nlohmann::json(nullptr), shrink_difference,
                             nlohmann::json(nullptr), run_energy, data.task, vocab_summary};
        fp32_report = compress_report(fp32_in);
      } else {
        std::error_code ignore;
        fs::remove(fp32_staged, ignore);
      }
      int8_summary["fp32_student"] = fp32_m.to_json();
      int8_summary["relative_to_fp32"] = relative_json(fp32_m, student_m);
      int8_summary["relative_to_fp32"]["note"] = "int8 student / the same student in fp32, measured in the same run";
    }
    ReportInputs in{args, teacher.spec, final_spec, kept, teacher_m, student_m, trained,
                    pruner ? pruner->summary() : nlohmann::json(nullptr), shrink_difference, int8_summary, run_energy, data.task,
                    vocab_summary};
    outcome.report = compress_report(in);
    outcome.targets_met = outcome.report["targets"]["met"].get<bool>();
  } catch (...) {
    std::error_code ignore;
    fs::remove(staged, ignore);
    fs::remove(fp32_staged, ignore);
    throw;
  }

  // Both files or neither (lwm/common/publish.h), also if the process is killed now. The fp32 variant first:
  // a result in `out` means the run is complete.
  if (fp32_variant) {
    try {
      publish_result(args.fp32_out, fp32_staged, fp32_report);
    } catch (...) {
      std::error_code ignore;
      fs::remove(staged, ignore);
      throw;
    }
  }
  publish_result(args.out, staged, outcome.report);
  // The result is out: the checkpoint's work is done.
  std::error_code ignore;
  if (fs::remove(checkpoint_path(args.out), ignore)) sync_directory(args.out);
  return outcome;
}

}  // namespace lwm

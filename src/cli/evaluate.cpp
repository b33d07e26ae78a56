// compress evaluate: task metrics, size, latency, energy and CO2 of one model on real eval data.
#include <spdlog/spdlog.h>

#include <cstdio>
#include <iostream>

#include "lwm/cli/commands.h"
#include "lwm/common/atomic_file.h"
#include "lwm/common/input_guard.h"
#include "lwm/data/tokenizer_files.h"
#include "lwm/measure/model_measurement.h"
#include "lwm/model/builder.h"
#include "lwm/model/faithfulness.h"
#include "lwm/model/importer.h"
#include "lwm/pipeline/task_data.h"
#include "lwm/report/environment.h"

namespace lwm {

int run_evaluate(const EvaluateArgs& args) {
  std::vector<NamedPath> inputs = {{"the model (--model)", args.model}, {"the eval data (--eval)", args.eval}};
  for (const auto& f : tokenizer_input_files(args.data.tokenizer)) inputs.push_back({"a tokenizer file (--tokenizer)", f});
  refuse_outputs_over_inputs({{"the report (--report)", args.report}}, inputs);
  if (!args.report.empty()) check_writable(args.report);
  ImportedModel m = import_model(args.model);
  TaskData data = load_task_data(args.data, m.spec);
  EncodedDataset eval = load_split(data, args.eval, args.data.max_length, args.data.limit_eval);
  torch::jit::Module measured = m.module;
  if (m.spec.head == HeadType::LabelWords && !m.module.find_method("classify")) {
    // A Hugging Face T5 file has no classify(): its verified native rebuild scores the label words.
    measured = build_module(m.spec, m.weights);
    verify_faithful(m.module, measured, m.spec);
  }

  MeasureOptions opts;
  opts.batch_size = args.measure.batch_size;
  opts.latency_samples = args.measure.latency_samples;
  opts.energy.cpu_watts_per_core = args.measure.cpu_watts;
  opts.carbon_intensity = args.measure.carbon_intensity;
  spdlog::info("evaluating {} on {} examples of {}", args.model.string(), eval.examples.size(), args.eval.string());
  ModelMeasurement r = measure_model(measured, args.model, data.task, eval, data.tokenizer->pad_id(), opts);

  nlohmann::json report = {
      {"command", "evaluate"},
      {"model", {{"path", args.model.string()}, {"spec", m.spec.to_json()}}},
      {"task", {{"name", data.task.name}, {"metrics", data.task.metrics}, {"labels", data.task.label_names}}},
      {"data", {{"eval", args.eval.string()}, {"tokenizer", args.data.tokenizer.string()},
                {"max_length", args.data.max_length}}},
      {"environment", environment_json()},
      {"result", r.to_json()},
  };
  if (!args.report.empty()) write_text_atomically(args.report, report.dump(2) + "\n");

  for (const auto& w : r.warnings) spdlog::warn("{}", w);
  std::printf("%s on %s (%d examples):\n", args.model.c_str(), data.task.name.c_str(), r.examples);
  for (const auto& [name, value] : r.metrics) std::printf("  %-10s %.4f\n", name.c_str(), value);
  std::printf("  size       %lld bytes, %lld parameters\n", static_cast<long long>(r.file_bytes),
              static_cast<long long>(r.parameters));
  std::printf("  latency    batch 1: median %.2f ms, p90 %.2f ms; batch %d: median %.2f ms, p90 %.2f ms (%d threads)\n",
              r.latency_batch1.median_ms, r.latency_batch1.p90_ms, r.batch_size, r.latency_batch.median_ms,
              r.latency_batch.p90_ms, r.threads);
  std::printf("  throughput %.1f examples/s\n", r.throughput);
  std::printf("  energy     %.2f J per 1,000 inferences (%s)\n", r.joules_per_1000(), r.energy.method.c_str());
  std::printf("  CO2        %.4f g per 1,000 inferences at %.0f gCO2e/kWh\n", r.co2_grams_per_1000(), r.carbon_intensity);
  return 0;
}

}  // namespace lwm

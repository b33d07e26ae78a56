// compress finetune: trains a task head (and the encoder) from an initial TorchScript model.
#include <spdlog/spdlog.h>

#include <iostream>

#include "lwm/cli/commands.h"
#include "lwm/common/atomic_file.h"
#include "lwm/common/error.h"
#include "lwm/common/input_guard.h"
#include "lwm/data/tokenizer_files.h"
#include "lwm/measure/evaluation.h"
#include "lwm/model/builder.h"
#include "lwm/model/faithfulness.h"
#include "lwm/model/importer.h"
#include "lwm/model/torchscript_file.h"
#include "lwm/pipeline/task_data.h"
#include "lwm/report/environment.h"

namespace lwm {

int run_finetune(const FinetuneArgs& args) {
  std::vector<NamedPath> inputs = {{"the initial model (--model)", args.model},
                                   {"the training data (--train)", args.train},
                                   {"the eval data (--eval)", args.eval}};
  for (const auto& f : tokenizer_input_files(args.data.tokenizer)) inputs.push_back({"a tokenizer file (--tokenizer)", f});
  refuse_outputs_over_inputs({{"the fine-tuned model (--out)", args.out}, {"the metrics (--metrics-out)", args.metrics_out}},
                             inputs);
  const bool main_worker = !args.parallel || args.parallel->is_main();
  if (main_worker) {
    check_writable(args.out);
    if (!args.metrics_out.empty()) check_writable(args.metrics_out);
  }
  ImportedModel m = import_model(args.model);
  if (m.frozen) throw ModelError(args.model.string() + ": a frozen int8 model cannot be trained; start from an fp32 model");
  TaskData data = load_task_data(args.data, m.spec);
  EncodedDataset train_data = load_split(data, args.train, args.data.max_length, args.data.limit_train);
  EncodedDataset eval_data = load_split(data, args.eval, args.data.max_length, args.data.limit_eval);

  auto model = build_module(m.spec, m.weights);
  verify_faithful(m.module, model, m.spec);
  spdlog::info("fine-tuning {} ({} layers, hidden {}) on {} examples, evaluating on {}", args.model.string(),
               m.spec.num_layers(), m.spec.hidden, train_data.examples.size(), eval_data.examples.size());
  const auto evaluate = metrics_on(data.task, eval_data, args.train_options.eval_batch_size, data.tokenizer->pad_id());
  TrainResult result =
      train(model, data.task, train_data, data.tokenizer->pad_id(), evaluate, args.train_options, {}, {}, args.parallel);
  if (!main_worker) return 0;

  write_atomically(args.out, [&](const std::filesystem::path& tmp) { save_torchscript(model, tmp); });
  const auto& best = result.best();
  if (!args.metrics_out.empty()) {
    nlohmann::json out = result.to_json();
    out["eval"] = best.metrics;
    out["task"] = data.task.name;
    out["model"] = args.out.string();
    out["environment"] = environment_json();
    write_text_atomically(args.metrics_out, out.dump(2) + "\n");
  }
  std::cout << "wrote " << args.out.string() << ": best epoch " << result.best_epoch << ", eval "
            << data.task.metrics.front() << " " << best.metrics.at(data.task.metrics.front()) << "\n";
  return 0;
}

}  // namespace lwm

#include "lwm/data/task.h"

#include <map>

#include "lwm/common/error.h"

namespace lwm {
namespace {

TaskSpec classification(std::string name, std::vector<std::string> labels, bool pair,
                        std::vector<std::string> metrics) {
  TaskSpec t;
  t.name = std::move(name);
  t.label_names = std::move(labels);
  t.pair = pair;
  t.metrics = std::move(metrics);
  return t;
}

// Label names and their order follow the Hugging Face `glue` / `imdb` datasets (the ClassLabel order a
// model fine-tuned with `run_glue.py` on them uses), written as they appear in the GLUE files:
// 0/1 tasks keep the digits; RTE/QNLI/MNLI keep the words. MNLI is entailment, neutral, contradiction
// (HF datasets), not the contradiction, entailment, neutral of the legacy `transformers` GLUE processors.
const std::map<std::string, TaskSpec>& registry() {
  static const std::map<std::string, TaskSpec> tasks = [] {
    TaskSpec stsb;
    stsb.name = "stsb";
    stsb.regression = true;
    stsb.pair = true;
    stsb.metrics = {"pearson", "spearman"};
    const std::vector<std::string> binary = {"0", "1"};
    const std::vector<std::string> nli2 = {"entailment", "not_entailment"};
    std::map<std::string, TaskSpec> m;
    for (TaskSpec t : {
             classification("sst2", binary, false, {"accuracy"}),
             classification("cola", binary, false, {"mcc", "accuracy"}),
             classification("mrpc", binary, true, {"accuracy", "f1"}),
             classification("qqp", binary, true, {"accuracy", "f1"}),
             classification("wnli", binary, true, {"accuracy"}),
             classification("rte", nli2, true, {"accuracy"}),
             classification("qnli", nli2, true, {"accuracy"}),
             classification("mnli", {"entailment", "neutral", "contradiction"}, true, {"accuracy"}),
             classification("imdb", binary, false, {"accuracy"}),
             classification("generic", binary, false, {"accuracy"}),
             stsb,
         }) {
      m.emplace(t.name, t);
    }
    return m;
  }();
  return tasks;
}

}  // namespace

std::vector<std::string> known_task_names() {
  std::vector<std::string> names;
  for (const auto& entry : registry()) names.push_back(entry.first);
  return names;
}

TaskSpec task_by_name(const std::string& name) {
  // "SST-2", "sts_b" and "sst2" name the same task: the GLUE folder names work as task names.
  std::string key;
  for (char c : name) {
    if (c == '-' || c == '_') continue;
    key += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  const auto& tasks = registry();
  auto it = tasks.find(key);
  if (it != tasks.end()) return it->second;
  std::string known;
  for (const auto& n : known_task_names()) known += (known.empty() ? "" : ", ") + n;
  throw UsageError("unknown task '" + name + "': known tasks are " + known);
}

}  // namespace lwm

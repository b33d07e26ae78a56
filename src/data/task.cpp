#include "lwm/data/task.h"

#include <functional>
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
const std::map<std::string, std::function<TaskSpec()>>& registry() {
  static const std::map<std::string, std::function<TaskSpec()>> tasks = {
      {"sst2", [] { return classification("sst2", {"0", "1"}, false, {"accuracy"}); }},
      {"cola", [] { return classification("cola", {"0", "1"}, false, {"mcc", "accuracy"}); }},
      {"mrpc", [] { return classification("mrpc", {"0", "1"}, true, {"accuracy", "f1"}); }},
      {"qqp", [] { return classification("qqp", {"0", "1"}, true, {"accuracy", "f1"}); }},
      {"wnli", [] { return classification("wnli", {"0", "1"}, true, {"accuracy"}); }},
      {"rte", [] { return classification("rte", {"entailment", "not_entailment"}, true, {"accuracy"}); }},
      {"qnli", [] { return classification("qnli", {"entailment", "not_entailment"}, true, {"accuracy"}); }},
      {"mnli",
       [] {
         return classification("mnli", {"entailment", "neutral", "contradiction"}, true, {"accuracy"});
       }},
      {"imdb", [] { return classification("imdb", {"0", "1"}, false, {"accuracy"}); }},
      {"generic", [] { return classification("generic", {"0", "1"}, false, {"accuracy"}); }},
      {"stsb",
       [] {
         TaskSpec t;
         t.name = "stsb";
         t.regression = true;
         t.pair = true;
         t.metrics = {"pearson", "spearman"};
         return t;
       }},
  };
  return tasks;
}

}  // namespace

std::vector<std::string> known_task_names() {
  std::vector<std::string> names;
  for (const auto& [name, make] : registry()) names.push_back(name);
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
  if (it != tasks.end()) return it->second();
  std::string known;
  for (const auto& n : known_task_names()) known += (known.empty() ? "" : ", ") + n;
  throw UsageError("unknown task '" + name + "': known tasks are " + known);
}

}  // namespace lwm

#include "lwm/data/task.h"

#include <algorithm>
#include <map>

#include "lwm/common/error.h"

namespace lwm {
namespace {

TaskSpec classification(std::string name, std::vector<std::string> labels, bool pair,
                        std::vector<std::string> metrics, std::vector<std::string> words, std::string prefix_a,
                        std::string prefix_b = "") {
  TaskSpec t;
  t.label_words = std::move(words);
  t.prefix_a = std::move(prefix_a);
  t.prefix_b = std::move(prefix_b);
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
             classification("sst2", binary, false, {"accuracy"}, {"negative", "positive"}, "sst2 sentence: "),
             classification("cola", binary, false, {"mcc", "accuracy"}, {"unacceptable", "acceptable"},
                            "cola sentence: "),
             classification("mrpc", binary, true, {"accuracy", "f1"}, {"not_equivalent", "equivalent"},
                            "mrpc sentence1: ", "sentence2: "),
             classification("qqp", binary, true, {"accuracy", "f1"}, {"not_duplicate", "duplicate"},
                            "qqp question1: ", "question2: "),
             classification("wnli", binary, true, {"accuracy"}, {"not_entailment", "entailment"},
                            "wnli sentence1: ", "sentence2: "),
             classification("rte", nli2, true, {"accuracy"}, nli2, "rte sentence1: ", "sentence2: "),
             classification("qnli", nli2, true, {"accuracy"}, nli2, "qnli question: ", "sentence: "),
             classification("mnli", {"entailment", "neutral", "contradiction"}, true, {"accuracy"},
                            {"entailment", "neutral", "contradiction"}, "mnli premise: ", "hypothesis: "),
             classification("imdb", binary, false, {"accuracy"}, {"negative", "positive"}, "imdb review: "),
             classification("generic", binary, false, {"accuracy"}, {"false", "true"}, "classify: "),
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

TaskSpec with_label_order(TaskSpec task, const std::vector<std::string>& labels) {
  std::string known;
  for (const auto& n : task.label_names) known += (known.empty() ? "" : ",") + n;
  if (task.regression) throw UsageError("--labels: task '" + task.name + "' is a regression and has no labels");
  std::vector<std::string> words;
  std::vector<bool> used(task.label_names.size(), false);
  for (const auto& name : labels) {
    const auto it = std::find(task.label_names.begin(), task.label_names.end(), name);
    const size_t i = static_cast<size_t>(it - task.label_names.begin());
    if (it == task.label_names.end() || used[i]) {
      throw UsageError("--labels: give each label of task '" + task.name + "' once, in the model's class order (its labels: " +
                       known + "); '" + name + "' is " + (it == task.label_names.end() ? "not one of them" : "given twice"));
    }
    used[i] = true;
    if (i < task.label_words.size()) words.push_back(task.label_words[i]);
  }
  if (labels.size() != task.label_names.size()) {
    throw UsageError("--labels: task '" + task.name + "' has " + std::to_string(task.label_names.size()) + " labels (" +
                     known + "), " + std::to_string(labels.size()) + " were given");
  }
  if (task.file_label_names.empty()) task.file_label_names = task.label_names;
  task.label_names = labels;
  if (words.size() == labels.size()) task.label_words = words;
  return task;
}

}  // namespace lwm

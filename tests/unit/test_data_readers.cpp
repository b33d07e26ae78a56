// Task registry and dataset readers, on slices of the real GLUE / IMDb files (tests/data/glue,
// tests/data/imdb: see tests/data/glue/README.md) and on hand-made malformed files (tests/data/bad).
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <initializer_list>
#include <string>

#include "lwm/common/error.h"
#include "lwm/data/dataset.h"
#include "lwm/data/task.h"

namespace lwm {
namespace {

std::string data_file(const std::string& rel) { return std::string(LWM_SOURCE_DIR) + "/tests/data/" + rel; }

Dataset read(const std::string& rel, const std::string& task, size_t limit = 0) {
  return read_dataset(data_file(rel), task_by_name(task), limit);
}

// Runs fn, expects an lwm::DataError whose message contains every fragment.
void expect_data_error(const std::function<void()>& fn, std::initializer_list<std::string> fragments) {
  try {
    fn();
    ADD_FAILURE() << "no DataError thrown";
  } catch (const DataError& e) {
    std::string m = e.what();
    for (const auto& f : fragments) EXPECT_NE(m.find(f), std::string::npos) << "'" << f << "' not in: " << m;
    EXPECT_EQ(e.code(), ExitCode::BadData);
  }
}

void expect_read_error(const std::string& rel, const std::string& task,
                       std::initializer_list<std::string> fragments) {
  expect_data_error([&] { read(rel, task); }, fragments);
}

// ---- Tasks -------------------------------------------------------------------------------------------

TEST(TaskRegistry, LabelSetsFollowHuggingFaceGlue) {
  EXPECT_EQ(task_by_name("sst2").label_names, (std::vector<std::string>{"0", "1"}));
  EXPECT_EQ(task_by_name("rte").label_names, (std::vector<std::string>{"entailment", "not_entailment"}));
  EXPECT_EQ(task_by_name("qnli").label_names, (std::vector<std::string>{"entailment", "not_entailment"}));
  EXPECT_EQ(task_by_name("mnli").label_names,
            (std::vector<std::string>{"entailment", "neutral", "contradiction"}));
  for (const char* binary : {"sst2", "cola", "mrpc", "qqp", "imdb", "wnli", "generic"}) {
    EXPECT_EQ(task_by_name(binary).num_labels(), 2) << binary;
  }
}

TEST(TaskRegistry, PairTasksAndRegression) {
  for (const char* pair : {"mrpc", "rte", "stsb", "wnli", "qnli", "qqp", "mnli"}) {
    EXPECT_TRUE(task_by_name(pair).pair) << pair;
  }
  for (const char* single : {"sst2", "cola", "imdb", "generic"})
    EXPECT_FALSE(task_by_name(single).pair) << single;
  TaskSpec stsb = task_by_name("stsb");
  EXPECT_TRUE(stsb.regression);
  EXPECT_EQ(stsb.num_labels(), 1);
  EXPECT_TRUE(stsb.label_names.empty());
}

TEST(TaskRegistry, MetricsWithPrimaryFirst) {
  using V = std::vector<std::string>;
  EXPECT_EQ(task_by_name("sst2").metrics, V{"accuracy"});
  EXPECT_EQ(task_by_name("cola").metrics, (V{"mcc", "accuracy"}));
  EXPECT_EQ(task_by_name("mrpc").metrics, (V{"accuracy", "f1"}));
  EXPECT_EQ(task_by_name("qqp").metrics, (V{"accuracy", "f1"}));
  EXPECT_EQ(task_by_name("stsb").metrics, (V{"pearson", "spearman"}));
  EXPECT_EQ(task_by_name("mnli").metrics, V{"accuracy"});
}

TEST(TaskRegistry, GlueFolderNamesAreAccepted) {
  EXPECT_EQ(task_by_name("SST-2").name, "sst2");
  EXPECT_EQ(task_by_name("STS-B").name, "stsb");
  EXPECT_EQ(task_by_name("CoLA").name, "cola");
}

TEST(TaskRegistry, UnknownNameIsUsageErrorListingKnownNames) {
  try {
    task_by_name("squad");
    FAIL() << "no UsageError";
  } catch (const UsageError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("squad"), std::string::npos);
    for (const auto& n : known_task_names()) EXPECT_NE(m.find(n), std::string::npos) << n;
  }
  EXPECT_EQ(known_task_names().size(), 11u);
}

// ---- GLUE TSV ------------------------------------------------------------------------------------------

TEST(DataGlue, Sst2FullDevMatchesPublishedCounts) {
  Dataset d = read("glue/SST-2/dev.tsv", "sst2");
  ASSERT_EQ(d.examples.size(), 872u);
  auto positives =
      std::count_if(d.examples.begin(), d.examples.end(), [](const Example& e) { return e.label == 1; });
  EXPECT_EQ(positives, 444);
  EXPECT_EQ(d.examples[0].text_a, "it 's a charming and often affecting journey . ");
  EXPECT_EQ(d.examples[0].label, 1);
  EXPECT_EQ(d.examples[1].text_a, "unflinchingly bleak and desperate ");
  EXPECT_EQ(d.examples[1].label, 0);
  EXPECT_TRUE(d.examples[0].text_b.empty());
  EXPECT_EQ(d.task.name, "sst2");
  EXPECT_NE(d.source.find("SST-2/dev.tsv"), std::string::npos);
}

TEST(DataGlue, LimitKeepsFirstRows) {
  Dataset d = read("glue/SST-2/dev.tsv", "sst2", 5);
  ASSERT_EQ(d.examples.size(), 5u);
  EXPECT_EQ(d.examples[1].text_a, "unflinchingly bleak and desperate ");
}

TEST(DataGlue, ColaHasNoHeaderAndDevNoFinalNewline) {
  Dataset train = read("glue/CoLA/train.tsv", "cola");
  ASSERT_EQ(train.examples.size(), 20u);
  EXPECT_EQ(train.examples[0].text_a,
            "Our friends won't buy this analysis, let alone the next one we propose.");
  EXPECT_EQ(train.examples[0].label, 1);
  Dataset dev = read("glue/CoLA/dev.tsv", "cola");
  ASSERT_EQ(dev.examples.size(), 20u);
  EXPECT_EQ(dev.examples.back().text_a, "John talked to Bill about himself.");
  EXPECT_EQ(dev.examples.back().label, 1);
  // A label 0 ("*" in orig_label is ignored: only the label column counts).
  EXPECT_TRUE(std::any_of(train.examples.begin(), train.examples.end(),
                          [](const Example& e) { return e.label == 0; }));
}

TEST(DataGlue, MrpcBomHeaderAndQuotesKept) {
  Dataset d = read("glue/MRPC/dev.tsv", "mrpc");
  ASSERT_EQ(d.examples.size(), 20u);
  EXPECT_EQ(d.examples[0].text_a,
            "He said the foodservice pie business doesn 't fit the company 's long-term growth strategy .");
  EXPECT_EQ(d.examples[0].text_b,
            "\" The foodservice pie business does not fit our long-term growth strategy .");
  EXPECT_EQ(d.examples[0].label, 1);
  EXPECT_EQ(d.examples[1].label, 0);
  EXPECT_EQ(read("glue/MRPC/train.tsv", "mrpc").examples.size(), 20u);
}

TEST(DataGlue, RteStringLabels) {
  Dataset d = read("glue/RTE/dev.tsv", "rte");
  ASSERT_EQ(d.examples.size(), 20u);
  EXPECT_EQ(d.examples[0].text_b, "Christopher Reeve had an accident.");
  EXPECT_EQ(d.examples[0].label, 1);  // not_entailment
  EXPECT_EQ(read("glue/RTE/train.tsv", "rte").examples[0].label, 1);
}

TEST(DataGlue, StsbScoresFromLastColumn) {
  Dataset d = read("glue/STS-B/dev.tsv", "stsb");
  ASSERT_EQ(d.examples.size(), 20u);
  EXPECT_EQ(d.examples[0].text_a, "A man with a hard hat is dancing.");
  EXPECT_EQ(d.examples[0].text_b, "A man wearing a hard hat is dancing.");
  EXPECT_FLOAT_EQ(d.examples[0].score, 5.0f);
  EXPECT_FLOAT_EQ(d.examples[1].score, 4.75f);
  EXPECT_EQ(d.examples[0].label, -1);
}

TEST(DataGlue, WnliDigitLabels) {
  Dataset d = read("glue/WNLI/dev.tsv", "wnli");
  ASSERT_EQ(d.examples.size(), 20u);
  EXPECT_EQ(d.examples[0].label, 0);
  EXPECT_EQ(d.examples[1].label, 1);
  EXPECT_EQ(d.examples[1].text_b, "Susan did not answer.");
}

TEST(DataGlue, MnliColumnsFoundByHeaderName) {
  Dataset d = read("glue/MNLI/dev_matched.tsv", "mnli");
  ASSERT_EQ(d.examples.size(), 4u);
  EXPECT_EQ(d.examples[0].text_a, "The new rights are nice enough");
  EXPECT_EQ(d.examples[0].text_b, "Everyone really likes the newest benefits");
  EXPECT_EQ(d.examples[0].label, 1);  // neutral
  EXPECT_EQ(d.examples[1].label, 2);  // contradiction
  EXPECT_EQ(d.examples[2].label, 0);  // entailment
}

TEST(DataGlue, QqpAndQnliColumns) {
  Dataset qqp = read("glue/QQP/dev.tsv", "qqp");
  ASSERT_EQ(qqp.examples.size(), 3u);
  EXPECT_EQ(qqp.examples[0].text_a, "Why are African-Americans so beautiful?");
  EXPECT_EQ(qqp.examples[0].text_b, "Why are hispanics so beautiful?");
  EXPECT_EQ(qqp.examples[2].label, 1);
  Dataset qnli = read("glue/QNLI/dev.tsv", "qnli");
  ASSERT_EQ(qnli.examples.size(), 2u);
  EXPECT_EQ(qnli.examples[0].text_a, "What came into force after the new constitution was herald?");
  EXPECT_EQ(qnli.examples[0].label, 0);
  EXPECT_EQ(qnli.examples[1].label, 1);
}

TEST(DataGlue, UnlabeledTestFilesSayHasNoLabelColumn) {
  for (auto [file, task] : {std::pair{"glue/SST-2/test.tsv", "sst2"},
                            {"glue/CoLA/test.tsv", "cola"},
                            {"glue/RTE/test.tsv", "rte"},
                            {"glue/STS-B/test.tsv", "stsb"},
                            {"glue/WNLI/test.tsv", "wnli"},
                            {"glue/MNLI/test_matched.tsv", "mnli"}}) {
    expect_read_error(file, task, {file, "has no label column"});
  }
}

// ---- JSONL / JSON / CSV ----------------------------------------------------------------------------------

TEST(DataJsonl, ImdbSliceReadsIntLabels) {
  Dataset d = read("imdb/train.jsonl", "imdb");
  ASSERT_EQ(d.examples.size(), 6u);
  EXPECT_EQ(d.examples[0].text_a.rfind("Story of a man who has unnatural feelings for a pig.", 0), 0u);
  EXPECT_EQ(d.examples[0].label, 0);
  EXPECT_EQ(d.examples[5].label, 1);
  EXPECT_NE(d.examples[3].text_a.find("Bromwell High"), std::string::npos);
}

TEST(DataJsonl, TextOrSentenceKeysStringOrIntLabelsBlankLinesSkipped) {
  Dataset d = read("jsonl/sst2.jsonl", "generic");
  ASSERT_EQ(d.examples.size(), 2u);
  EXPECT_EQ(d.examples[0].text_a, "a charming journey");
  EXPECT_EQ(d.examples[0].label, 1);
  EXPECT_EQ(d.examples[1].text_a, "bleak");
  EXPECT_EQ(d.examples[1].label, 0);
}

TEST(DataJsonl, PairsWithNamesOrIndices) {
  Dataset d = read("jsonl/mnli.jsonl", "mnli");
  ASSERT_EQ(d.examples.size(), 2u);
  EXPECT_EQ(d.examples[0].text_b, "B");
  EXPECT_EQ(d.examples[0].label, 2);     // "contradiction"
  EXPECT_EQ(d.examples[1].text_a, "C");  // premise / hypothesis keys
  EXPECT_EQ(d.examples[1].label, 1);     // class index 1 = neutral
}

TEST(DataJsonl, RegressionScores) {
  Dataset d = read("jsonl/stsb.jsonl", "stsb");
  ASSERT_EQ(d.examples.size(), 2u);
  EXPECT_FLOAT_EQ(d.examples[0].score, 3.8f);
  EXPECT_FLOAT_EQ(d.examples[1].score, 1.25f);
}

TEST(DataJsonl, JsonArrayFile) {
  Dataset d = read("jsonl/array.json", "generic");
  ASSERT_EQ(d.examples.size(), 3u);
  EXPECT_EQ(d.examples[2].text_a, "three");
  EXPECT_EQ(d.examples[2].label, 1);
}

TEST(DataCsv, Rfc4180QuotingAndCrlf) {
  Dataset d = read("csv/sst2.csv", "sst2");
  ASSERT_EQ(d.examples.size(), 5u);
  EXPECT_EQ(d.examples[0].text_a, "a gripping, moving film");
  EXPECT_EQ(d.examples[1].text_a, "he said \"boring\" twice");
  EXPECT_EQ(d.examples[1].label, 0);
  EXPECT_EQ(d.examples[2].text_a, "first line\nsecond line");
  EXPECT_EQ(d.examples[3].text_a, "plain text");
  EXPECT_EQ(d.examples[3].label, 0);
  EXPECT_EQ(d.examples[4].text_a, "");
  EXPECT_EQ(d.examples[4].label, 1);
}

TEST(DataCsv, PairsAndRegression) {
  Dataset rte = read("csv/rte.csv", "rte");
  ASSERT_EQ(rte.examples.size(), 2u);
  EXPECT_EQ(rte.examples[0].label, 0);
  EXPECT_EQ(rte.examples[1].text_a, "Cats, dogs.");
  EXPECT_EQ(rte.examples[1].label, 1);  // digits = class index (an HF export)
  Dataset stsb = read("csv/stsb.csv", "stsb");
  EXPECT_FLOAT_EQ(stsb.examples[1].score, 0.5f);
}

// ---- Errors
// ------------------------------------------------------------------------------------------------

TEST(DataErrors, MissingFileAndUnknownFormat) {
  expect_read_error("nope/missing.tsv", "sst2", {"missing.tsv", "no such file"});
  expect_read_error("bad/data.txt", "sst2", {"data.txt", "unknown data format", ".txt"});
  EXPECT_THROW(file_format("x.parquet"), DataError);
  EXPECT_EQ(file_format("a/b.JSONL"), FileFormat::Jsonl);
  EXPECT_EQ(file_format("a/b.json"), FileFormat::Jsonl);
  EXPECT_EQ(file_format("a/b.csv"), FileFormat::Csv);
  EXPECT_EQ(file_format("a/b.tsv"), FileFormat::Tsv);
}

TEST(DataErrors, LabelOutsideSetNamesFileLineLabelAndAllowed) {
  expect_read_error("bad/sst2_bad_label.tsv", "sst2", {"sst2_bad_label.tsv:4:", "'2'", "allowed: 0, 1"});
  expect_read_error("bad/rte_bad_label.tsv", "rte",
                    {"rte_bad_label.tsv:3:", "'maybe'", "allowed: entailment, not_entailment"});
  expect_read_error("bad/label_range.jsonl", "sst2", {"label_range.jsonl:2:", "label 5", "allowed: 0, 1"});
}

TEST(DataErrors, WrongFieldCounts) {
  expect_read_error("bad/sst2_missing_field.tsv", "sst2",
                    {"sst2_missing_field.tsv:3:", "expected 2", "found 1"});
  expect_read_error("bad/sst2_extra_field.tsv", "sst2", {"sst2_extra_field.tsv:2:", "expected 2", "found 3"});
  expect_read_error("bad/field_count.csv", "sst2", {"field_count.csv:3:", "expected 2", "found 3"});
}

TEST(DataErrors, BadScore) {
  expect_read_error("bad/stsb_bad_score.tsv", "stsb",
                    {"stsb_bad_score.tsv:3:", "'five'", "not a finite number"});
}

TEST(DataErrors, EmptyDatasets) {
  expect_read_error("bad/header_only.tsv", "sst2", {"header_only.tsv", "no examples"});
  expect_read_error("bad/empty.jsonl", "sst2", {"empty.jsonl", "no examples"});
}

TEST(DataErrors, MissingTextColumn) {
  expect_read_error("bad/no_text_column.tsv", "sst2",
                    {"no_text_column.tsv:1:", "no text column", "\"sentence\""});
  // A pair task on a single-sentence file.
  expect_read_error("glue/SST-2/train.tsv", "rte", {"train.tsv:1:", "first text"});
}

TEST(DataErrors, MalformedJsonLines) {
  expect_read_error("bad/bad_json.jsonl", "sst2", {"bad_json.jsonl:3:", "invalid JSON"});
  expect_read_error("bad/missing_label.jsonl", "sst2", {"missing_label.jsonl:2:", "missing the label"});
  expect_read_error("bad/label_type.jsonl", "sst2", {"label_type.jsonl:1:", "label must be"});
  expect_read_error("bad/text_type.jsonl", "sst2", {"text_type.jsonl:1:", "must be a string"});
  expect_read_error("bad/not_object.jsonl", "sst2", {"not_object.jsonl: item 1:", "expected a JSON object"});
}

TEST(DataErrors, MalformedCsv) {
  expect_read_error("bad/unterminated.csv", "sst2", {"unterminated.csv:3:", "unterminated quoted field"});
  expect_read_error("bad/after_quote.csv", "sst2", {"after_quote.csv:2:", "after a closing quote"});
}

TEST(DataErrors, InvalidUtf8) {
  expect_read_error("bad/invalid_utf8.tsv", "sst2", {"invalid_utf8.tsv:3:", "invalid UTF-8"});
}

}  // namespace
}  // namespace lwm

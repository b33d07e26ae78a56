// Checkpoints of a training run: resumed from any checkpoint (mid-epoch, at an epoch's end, after the last
// step), with pruning under way and dropout on, training ends with the same weights, bit for bit, as a run
// never stopped; a checkpoint that does not fit the run is refused. The kill -9 + --resume of the compress
// binary is in test_cli_e2e.cpp.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <functional>
#include <map>

#include "lwm/common/error.h"
#include "lwm/compress/pruning.h"
#include "lwm/data/task.h"
#include "lwm/measure/evaluation.h"
#include "lwm/model/builder.h"
#include "lwm/model/importer.h"
#include "lwm/train/trainer.h"
#include "test_support.h"

namespace lwm {
namespace {

namespace fs = std::filesystem;

// 36 examples of random word ids, lengths 3-12, labels from the first id's parity.
EncodedDataset random_data(uint64_t seed, int n) {
  torch::manual_seed(seed);
  EncodedDataset d;
  for (int i = 0; i < n; ++i) {
    const int64_t length = torch::randint(3, 13, {1}).item<int64_t>();
    Encoding e;
    e.ids.push_back(101);
    for (int64_t t = 1; t + 1 < length; ++t) e.ids.push_back(torch::randint(1000, 3000, {1}).item<int64_t>());
    e.ids.push_back(102);
    e.type_ids.assign(e.ids.size(), 0);
    Example x;
    x.label = static_cast<int>(e.ids[1] % 2);
    d.encodings.push_back(e);
    d.examples.push_back(x);
  }
  return d;
}

struct Run {
  ImportedModel teacher;
  torch::jit::Module module;
  std::unique_ptr<StructuredPruner> pruner;
  TrainHooks hooks;
};

// A 2-layer BERT with dropout, masked for hidden pruning, and a pruner whose schedule spans both epochs.
std::unique_ptr<Run> fresh_run(int64_t total) {
  auto run = std::make_unique<Run>();
  run->teacher = import_model(test::reference_model("bert", "sdpa"));
  run->module = build_module(run->teacher.spec, run->teacher.weights, BuildOptions{true});
  PruneSchedule schedule;
  schedule.start_step = 1;
  schedule.end_step = total - 3;
  schedule.frequency = 2;
  run->pruner = std::make_unique<StructuredPruner>(run->teacher.spec, run->module, PruneTargets{0.5, 0.5, 0.25}, schedule);
  run->hooks.after_step = [p = run->pruner.get()](int64_t step) { p->step(step - 1); };
  run->hooks.can_keep = [end = schedule.end_step](int64_t step) { return step - 1 >= end; };
  return run;
}

std::map<std::string, torch::Tensor> weights_of(const torch::jit::Module& m) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : m.named_parameters(true)) out[p.name] = p.value.detach().clone();
  for (const auto& b : m.named_buffers(true)) out["buffer:" + b.name] = b.value.clone();
  return out;
}

void expect_identical(const std::map<std::string, torch::Tensor>& a, const std::map<std::string, torch::Tensor>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, x] : a) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(b.count(name));
    EXPECT_TRUE(torch::equal(x, b.at(name))) << "max difference " << (x - b.at(name)).abs().max().item<double>();
  }
}

TEST(Checkpoint, ResumingFromAnyCheckpointGivesTheSameWeightsBitForBit) {
  torch::set_num_threads(1);
  const TaskSpec task = task_by_name("sst2");
  const EncodedDataset train_data = random_data(1, 36), eval_data = random_data(2, 16);
  TrainOptions opts;
  opts.epochs = 2;
  opts.batch_size = 8;  // 5 steps an epoch (the last one of 4 examples), 10 in all
  opts.learning_rate = 1e-3;
  opts.quiet = true;
  const int64_t total = total_steps(train_data, opts);
  ASSERT_EQ(total, 10);

  const fs::path dir = test::models_dir() / "checkpoint-unit";
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::vector<int64_t> saved_steps;
  auto whole = fresh_run(total);
  TrainCheckpoints every3;
  every3.every = 3;
  every3.save = [&](torch::serialize::OutputArchive& state, int64_t step) {
    whole->pruner->save(state);
    state.save_to((dir / ("after-" + std::to_string(step) + "-" + std::to_string(saved_steps.size()) + ".pt")).string());
    saved_steps.push_back(step);
  };
  const auto evaluate = metrics_on(task, eval_data, opts.eval_batch_size, 0);
  const TrainResult expected = train(whole->module, task, train_data, 0, evaluate, opts, whole->hooks, every3);
  const auto expected_weights = weights_of(whole->module);
  // Mid-epoch at 3, the end of epoch 1 (5), mid-epoch at 6 and 9, the end of epoch 2 (10).
  ASSERT_EQ(saved_steps, (std::vector<int64_t>{3, 5, 6, 9, 10}));
  EXPECT_GT(whole->pruner->current_sparsity().ffn, 0.4);

  for (size_t i = 0; i < saved_steps.size(); ++i) {
    SCOPED_TRACE("resumed after step " + std::to_string(saved_steps[i]));
    auto resumed = fresh_run(total);
    torch::serialize::InputArchive archive;
    archive.load_from((dir / ("after-" + std::to_string(saved_steps[i]) + "-" + std::to_string(i) + ".pt")).string());
    resumed->pruner->load(archive);
    TrainCheckpoints from;
    from.resume = &archive;
    torch::manual_seed(12345);  // whatever the generator held before: the checkpoint's state wins
    const TrainResult got = train(resumed->module, task, train_data, 0, evaluate, opts, resumed->hooks, from);
    expect_identical(expected_weights, weights_of(resumed->module));
    EXPECT_EQ(got.resumed_from_step, saved_steps[i]);
    EXPECT_EQ(got.best_epoch, expected.best_epoch);
    ASSERT_EQ(got.epochs.size(), expected.epochs.size());
    for (size_t e = 0; e < got.epochs.size(); ++e) {
      EXPECT_EQ(got.epochs[e].train_loss, expected.epochs[e].train_loss);
      EXPECT_EQ(got.epochs[e].metrics, expected.epochs[e].metrics);
    }
    EXPECT_EQ(got.train_examples, expected.train_examples);
    EXPECT_EQ(got.train_tokens, expected.train_tokens);
    EXPECT_EQ(resumed->pruner->summary()["mask_updates"], whole->pruner->summary()["mask_updates"]);
  }

  // A checkpoint of another run is refused, not half-applied: another number of steps, another model.
  torch::serialize::InputArchive archive;
  archive.load_from((dir / "after-3-0.pt").string());
  TrainOptions longer = opts;
  longer.epochs = 3;
  auto other = fresh_run(total_steps(train_data, longer));
  TrainCheckpoints from;
  from.resume = &archive;
  auto expect_refused = [](const std::function<void()>& resume, const std::string& fragment) {
    try {
      resume();
      ADD_FAILURE() << "resumed; expected a ModelError with: " << fragment;
    } catch (const ModelError& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  expect_refused([&] { train(other->module, task, train_data, 0, evaluate, longer, other->hooks, from); },
                 "the checkpoint is of a run of 10 steps, this one has 15");
  ImportedModel gpt2 = import_model(test::reference_model("gpt2", "sdpa"));
  auto gpt2_module = build_module(gpt2.spec, gpt2.weights);
  expect_refused([&] { train(gpt2_module, task, train_data, 0, evaluate, opts, {}, from); }, "parameters, the student has");
  ImportedModel deeper = import_model(test::reference_model("bert", "sdpa", "", 4));
  StructuredPruner deeper_pruner(deeper.spec, build_module(deeper.spec, deeper.weights), PruneTargets{0.5, 0.5, 0},
                                 PruneSchedule{1, 5, 2, 0});
  expect_refused([&] { deeper_pruner.load(archive); }, "the checkpoint's pruning mask 2 does not fit this student");
}

}  // namespace
}  // namespace lwm

// Data-parallel runs of the compress binary over Gloo on 127.0.0.1 (train/data_parallel.h, cli --nproc):
// two workers distill the same student as one, a worker that dies stops the run on every rank with one line,
// --resume finishes it, and a malformed worker environment is refused.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <torch/script.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "test_support.h"

namespace lwm {
namespace {

namespace fs = std::filesystem;

fs::path scratch(const std::string& name) {
  auto dir = test::models_dir() / "data-parallel" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// A distillation with every stage that touches the weights: 4 -> 2 layers, heads, FFN and hidden pruning with
// masks updated every 2 steps, no dropout (the one random draw that differs per worker), batches of 15 over 97
// examples (slices of 7 and 8, and a last batch of 7: 3 and 4).
std::string recipe(const fs::path& teacher, const fs::path& out, int limit_train = 97) {
  return "--model " + teacher.string() + " --task sst2 --train " + test::sst2("train") + " --eval " + test::sst2("dev") +
         " --tokenizer " + test::bert_vocab() +
         " --limit-train " + std::to_string(limit_train) + " --limit-eval 48 --max-length 24 --keep-layers 2 --epochs 2 --batch-size 15 --dropout 0"
         " --learning-rate 1e-3 --prune-heads 0.5 --prune-ffn 0.5 --prune-hidden 0.25 --prune-frequency 2"
         " --prune-end 0.6 --latency-samples 3 --quiet --out " +
         out.string();
}

fs::path teacher() { return test::reference_model("bert", "sdpa", "", 4); }

int run(const std::string& args, std::string* output) { return test::run_command(test::compress_binary() + " " + args, output); }

std::map<std::string, torch::Tensor> parameters(const fs::path& model) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : torch::jit::load(model.string()).named_parameters(true)) out[p.name] = p.value.detach().clone();
  return out;
}

// Same names and shapes (the same units pruned), values within float tolerance (sums in another order).
void expect_same_student(const fs::path& a, const fs::path& b) {
  const auto x = parameters(a), y = parameters(b);
  ASSERT_EQ(x.size(), y.size());
  for (const auto& [name, t] : x) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(y.count(name));
    ASSERT_EQ(t.sizes(), y.at(name).sizes());
    EXPECT_LT((t - y.at(name)).abs().max().item<double>(), 1e-4);
  }
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Starts `cmd` through the shell (output to `log`) and returns its pid.
pid_t start(const std::string& cmd, const fs::path& log) {
  const std::string full = "exec " + cmd + " > " + log.string() + " 2>&1";
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::execl("/bin/sh", "sh", "-c", full.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

// Waits at most `seconds` for `pid`; its wait status, or -1 when it is still running (then killed).
int wait_for(pid_t pid, int seconds) {
  for (int i = 0; i < seconds * 100; ++i) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) return status;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  return -1;
}

bool wait_until(const std::function<bool()>& ready, int seconds) {
  for (int i = 0; i < seconds * 200; ++i) {
    if (ready()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

std::vector<pid_t> children_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
  std::vector<pid_t> out;
  for (pid_t c; in >> c;) out.push_back(c);
  return out;
}

TEST(DataParallel, TwoWorkersDistillTheSameStudentAsOne) {
  ASSERT_FALSE(teacher().empty());
  const fs::path dir = scratch("same");
  std::string output;
  ASSERT_EQ(run("--threads 1 " + recipe(teacher(), dir / "one"), &output), 0) << output;
  ASSERT_EQ(run("--threads 1 --nproc 2 " + recipe(teacher(), dir / "two"), &output), 0) << output;
  expect_same_student(dir / "one" / "model.pt", dir / "two" / "model.pt");
  const auto one = test::read_json(dir / "one" / "report.json"), two = test::read_json(dir / "two" / "report.json");
  EXPECT_EQ(one["stages"]["distillation"]["workers"], 1);
  EXPECT_EQ(two["stages"]["distillation"]["workers"], 2);
  EXPECT_EQ(two["stages"]["distillation"]["train_examples"], one["stages"]["distillation"]["train_examples"]);
  EXPECT_EQ(two["stages"]["pruning"]["heads_per_layer"], one["stages"]["pruning"]["heads_per_layer"]);
  EXPECT_EQ(two["stages"]["pruning"]["ffn_per_layer"], one["stages"]["pruning"]["ffn_per_layer"]);
  EXPECT_NEAR(two["stages"]["distillation"]["epochs"][1]["train_loss"].get<double>(),
              one["stages"]["distillation"]["epochs"][1]["train_loss"].get<double>(), 1e-4);
  // Only rank 0 wrote: the same files as one process leaves, no stray staged files of a second writer.
  auto names = [](const fs::path& d) {
    std::set<std::string> out;
    for (const auto& entry : fs::directory_iterator(d)) out.insert(entry.path().filename().string());
    return out;
  };
  EXPECT_EQ(names(dir / "two"), names(dir / "one"));
}

TEST(DataParallel, FinetuneRunsOnTwoWorkers) {
  const fs::path dir = scratch("finetune");
  std::string output;
  const std::string args = "--threads 1 --nproc 2 finetune --quiet --model " + teacher().string() +
                           " --task sst2 --train " + test::sst2("train") + " --eval " + test::sst2("dev") +
                           " --tokenizer " + test::bert_vocab() +
                           " --limit-train 64 --limit-eval 32 --max-length 24 --epochs 1 --out " +
                           (dir / "model.pt").string() + " --metrics-out " + (dir / "metrics.json").string();
  ASSERT_EQ(run(args, &output), 0) << output;
  EXPECT_EQ(test::read_json(dir / "metrics.json")["workers"], 2);
  EXPECT_TRUE(fs::exists(dir / "model.pt"));
}

// The launcher's worker 1 killed (kill -9) mid-run: the launcher stops worker 0 and exits 8 with one line naming
// the dead worker, nothing is published; --resume on two workers finishes from the last checkpoint with the
// student of an uninterrupted run.
TEST(DataParallel, AKilledWorkerStopsTheRunAndResumeFinishesIt) {
  const fs::path dir = scratch("killed");
  const fs::path out = dir / "out", log = dir / "log";
  const std::string args = "--threads 1 --nproc 2 --checkpoint-every 2 " + recipe(teacher(), out, 600);
  const pid_t launcher = start(test::compress_binary() + " " + args, log);
  ASSERT_TRUE(wait_until([&] { return fs::exists(out / "checkpoint.pt"); }, 300)) << read_text(log);
  const auto workers = children_of(launcher);
  ASSERT_EQ(workers.size(), 2u);
  ::kill(workers[1], SIGKILL);
  const int status = wait_for(launcher, 60);
  ASSERT_NE(status, -1) << "the launcher did not stop within 60 s";
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 8);
  const std::string text = read_text(log);
  EXPECT_NE(text.find("compress: error: worker 1 of 2 was killed by signal 9"), std::string::npos) << text;
  EXPECT_FALSE(fs::exists(out / "model.pt"));
  for (pid_t w : workers) EXPECT_NE(::kill(w, 0), 0) << "worker " << w << " still runs";

  std::string output;
  ASSERT_EQ(run(args + " --resume", &output), 0) << output;
  ASSERT_EQ(run("--threads 1 --nproc 2 " + recipe(teacher(), dir / "uninterrupted", 600), &output), 0) << output;
  expect_same_student(out / "model.pt", dir / "uninterrupted" / "model.pt");
  EXPECT_GT(test::read_json(out / "report.json")["stages"]["distillation"]["resumed_from_step"].get<int>(), 0);
}

// Workers started as torchrun starts them (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT): rank 1 killed, rank 0
// sees its peer gone and stops with exit 8 and one line, well before the collective timeout.
TEST(DataParallel, ATorchrunWorkerStopsWhenItsPeerDies) {
  const fs::path dir = scratch("torchrun");
  const int port = 20000 + (::getpid() % 20000);
  const std::string env = "env WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(port);
  const std::string args = " --threads 1 --dist-timeout 600 --checkpoint-every 2 " + recipe(teacher(), dir / "out", 2000);
  const pid_t rank0 = start(env + " RANK=0 " + test::compress_binary() + args, dir / "log0");
  const pid_t rank1 = start(env + " RANK=1 " + test::compress_binary() + args, dir / "log1");
  ASSERT_TRUE(wait_until([&] { return fs::exists(dir / "out" / "checkpoint.pt"); }, 300)) << read_text(dir / "log0");
  ::kill(rank1, SIGKILL);
  ::waitpid(rank1, nullptr, 0);
  const auto t0 = std::chrono::steady_clock::now();
  const int status = wait_for(rank0, 120);
  ASSERT_NE(status, -1) << "rank 0 hung after its peer died";
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 60);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 8) << read_text(dir / "log0");
  const std::string text = read_text(dir / "log0");
  EXPECT_NE(text.find("compress: error: [rank 0] the data-parallel group failed"), std::string::npos) << text;
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
  EXPECT_FALSE(fs::exists(dir / "out" / "model.pt"));
}

TEST(DataParallel, AMalformedWorkerEnvironmentIsRefused) {
  const fs::path dir = scratch("env");
  const std::string run_args = recipe(teacher(), dir / "out");
  struct Case {
    std::string env_and_args, message;
  };
  const std::vector<Case> cases = {
      {"WORLD_SIZE=2 %s " + run_args, "WORLD_SIZE is set but RANK is not"},
      {"WORLD_SIZE=2 RANK=2 %s " + run_args, "RANK='2' is not an integer in 0..1"},
      {"WORLD_SIZE=2 RANK=0 MASTER_PORT=99999 %s " + run_args, "MASTER_PORT='99999' is not an integer in 1..65535"},
      {"WORLD_SIZE=2 RANK=0 %s --nproc 2 " + run_args, "--nproc starts workers of its own"},
      {"%s --nproc 2 inspect " + teacher().string(), "for a compression run and finetune only"},
      {"%s --nproc 0 " + run_args, "--nproc"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.env_and_args);
    std::string cmd = c.env_and_args;
    cmd.replace(cmd.find("%s"), 2, test::compress_binary());
    std::string output;
    EXPECT_EQ(test::run_command(cmd, &output), 2) << output;
    EXPECT_NE(output.find(c.message), std::string::npos) << output;
    EXPECT_EQ(std::count(output.begin(), output.end(), '\n'), 1) << output;
  }
  EXPECT_FALSE(fs::exists(dir / "out" / "model.pt"));
}

}  // namespace
}  // namespace lwm

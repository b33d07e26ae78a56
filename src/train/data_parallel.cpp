#include "lwm/train/data_parallel.h"

// ProcessGroupGloo.hpp declares its class only where PyTorch was built with Gloo, as PyPI's Linux wheels are
// (their libtorch_cpu defines it); its header needs Gloo's headers (Debian's libgloo-dev), which declare the
// transport device this file hands to the group. docs/distributed.md, "Gloo's headers".
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <fmt/format.h>

#include <cstdlib>
#include <cstring>

namespace lwm {
namespace {

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

int env_int(const char* name, const std::string& text, int low, int high) {
  try {
    size_t used = 0;
    const long long v = std::stoll(text, &used);
    if (used == text.size() && v >= low && v <= high) return static_cast<int>(v);
  } catch (const std::exception&) {
  }
  throw UsageError(fmt::format("{}='{}' is not an integer in {}..{}", name, text, low, high));
}

// One line of what LibTorch or Gloo said. Gloo's messages start with the source position ("[.../pair.cc:545]
// Read error ...: Connection reset by peer. This is typically caused by ..."): the part after it, to the first
// full stop.
std::string reason(const std::exception& e) {
  const auto* torch_error = dynamic_cast<const c10::Error*>(&e);
  std::string s = torch_error ? torch_error->what_without_backtrace() : e.what();
  s = s.substr(0, s.find('\n'));
  if (!s.empty() && s.front() == '[') {
    const size_t close = s.find("] ");
    if (close != std::string::npos) s = s.substr(close + 2);
  }
  const size_t stop = s.find(". ");
  return stop == std::string::npos ? s : s.substr(0, stop);
}

}  // namespace

std::optional<WorkerEnv> WorkerEnv::from_environment() {
  const auto world = env("WORLD_SIZE");
  if (!world) return std::nullopt;
  WorkerEnv e;
  e.world_size = env_int("WORLD_SIZE", *world, 1, 65536);
  const auto rank = env("RANK");
  if (!rank) throw UsageError("WORLD_SIZE is set but RANK is not: start workers with torchrun, or use --nproc");
  e.rank = env_int("RANK", *rank, 0, e.world_size - 1);
  if (const auto local = env("LOCAL_RANK")) e.local_rank = env_int("LOCAL_RANK", *local, 0, 65535);
  if (const auto addr = env("MASTER_ADDR"); addr && !addr->empty()) e.master_addr = *addr;
  if (const auto port = env("MASTER_PORT")) e.master_port = env_int("MASTER_PORT", *port, 1, 65535);
  return e;
}

struct DataParallel::Group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
};

DataParallel::DataParallel(const WorkerEnv& env, std::chrono::milliseconds timeout)
    : env_(env), group_(std::make_unique<Group>()) {
  const std::string where = fmt::format("{}:{}", env.master_addr, env.master_port);
  try {
    c10d::TCPStoreOptions store_opts;
    store_opts.port = static_cast<std::uint16_t>(env.master_port);
    store_opts.isServer = env.rank == 0;
    store_opts.numWorkers = static_cast<size_t>(env.world_size);
    store_opts.waitWorkers = true;
    store_opts.timeout = timeout;
    group_->store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, store_opts);
    auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
    // The interface whose address reaches MASTER_ADDR's network: on one machine, loopback.
    opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(env.master_addr));
    group_->gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(group_->store, env.rank, env.world_size, opts);
  } catch (const std::exception& e) {  // c10::Error, or Gloo's own
    throw WorkerError(fmt::format("rank {} of {} could not join the data-parallel group at {} within {} s: {}", env.rank,
                                  env.world_size, where, timeout.count() / 1000, reason(e)));
  }
}

DataParallel::~DataParallel() = default;

namespace {

// Runs a collective and waits for it; a failure (a peer gone, a timeout) becomes a WorkerError.
template <typename Start>
void run_collective(const char* what, Start start) {
  try {
    start()->wait();
  } catch (const std::exception& e) {  // c10::Error, or Gloo's own (gloo::IoException: a peer's connection reset)
    throw WorkerError(fmt::format("the data-parallel group failed during {} (a worker died, failed or did not answer "
                                  "in time): {}", what, reason(e)));
  }
}

}  // namespace

Batch DataParallel::shard(const Batch& global) const {
  const auto rows = static_cast<int64_t>(global.indices.size());
  const int64_t begin = rows * env_.rank / env_.world_size;
  const int64_t end = rows * (env_.rank + 1) / env_.world_size;
  Batch local;
  local.indices.assign(global.indices.begin() + begin, global.indices.begin() + end);
  if (begin == end) return local;
  const auto mask = global.attention_mask.slice(0, begin, end);
  // Cut the padding no row of this slice needs (dynamic padding, as make_batches pads each batch).
  const int64_t longest = std::max<int64_t>(1, mask.sum(1).max().item<int64_t>());
  local.input_ids = global.input_ids.slice(0, begin, end).slice(1, 0, longest).contiguous();
  local.attention_mask = mask.slice(1, 0, longest).contiguous();
  local.token_type_ids = global.token_type_ids.slice(0, begin, end).slice(1, 0, longest).contiguous();
  local.labels = global.labels.slice(0, begin, end).contiguous();
  return local;
}

double DataParallel::shard_weight(const Batch& global) const {
  const auto rows = static_cast<int64_t>(global.indices.size());
  if (rows == 0) return 0;
  const int64_t begin = rows * env_.rank / env_.world_size;
  const int64_t end = rows * (env_.rank + 1) / env_.world_size;
  return static_cast<double>(end - begin) / static_cast<double>(rows);
}

double DataParallel::allreduce_gradients(const std::vector<torch::Tensor>& parameters, double loss) {
  torch::NoGradGuard no_grad;
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<torch::Tensor> parts;
  parts.reserve(parameters.size() + 1);
  for (const auto& p : parameters) {
    parts.push_back(p.grad().defined() ? p.grad().reshape(-1).to(torch::kFloat32) : torch::zeros({p.numel()}));
  }
  parts.push_back(torch::tensor({static_cast<float>(loss)}));
  std::vector<torch::Tensor> flat{torch::cat(parts)};
  run_collective("the gradient allreduce", [&] { return group_->gloo->allreduce(flat); });
  int64_t offset = 0;
  for (const auto& p : parameters) {
    auto summed = flat[0].slice(0, offset, offset + p.numel()).view(p.sizes()).to(p.dtype());
    offset += p.numel();
    if (p.grad().defined()) {
      p.mutable_grad().copy_(summed);
    } else {
      p.mutable_grad() = summed.clone();
    }
  }
  const double sum = flat[0][offset].item<double>();
  gradient_sync_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return sum;
}

void DataParallel::broadcast(std::vector<torch::Tensor>& tensors) {
  torch::NoGradGuard no_grad;
  for (auto& t : tensors) {
    std::vector<torch::Tensor> one{t.is_contiguous() ? t : t.contiguous()};
    run_collective("a broadcast", [&] { return group_->gloo->broadcast(one); });
    if (!one[0].is_same(t)) t.copy_(one[0]);
  }
}

std::string DataParallel::broadcast_text(const std::string& text) {
  std::vector<torch::Tensor> size{torch::tensor({static_cast<int64_t>(text.size())})};
  run_collective("a broadcast", [&] { return group_->gloo->broadcast(size); });
  const int64_t n = size[0].item<int64_t>();
  std::vector<torch::Tensor> bytes{torch::zeros({std::max<int64_t>(n, 1)}, torch::kUInt8)};
  if (is_main()) std::memcpy(bytes[0].data_ptr<uint8_t>(), text.data(), text.size());
  run_collective("a broadcast", [&] { return group_->gloo->broadcast(bytes); });
  return std::string(reinterpret_cast<const char*>(bytes[0].data_ptr<uint8_t>()), static_cast<size_t>(n));
}

std::map<std::string, double> DataParallel::broadcast_metrics(const std::map<std::string, double>& metrics) {
  // As text, "%.17g" per value: the same doubles on every rank, NaN included (JSON has no NaN).
  std::string text;
  for (const auto& [name, value] : metrics) text += fmt::format("{}\t{:.17g}\n", name, value);
  text = broadcast_text(text);
  std::map<std::string, double> out;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t tab = text.find('\t', pos), end = text.find('\n', pos);
    out[text.substr(pos, tab - pos)] = std::strtod(text.substr(tab + 1, end - tab - 1).c_str(), nullptr);
    pos = end + 1;
  }
  return out;
}

void DataParallel::check_in_sync(const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                                 const std::string& when) {
  torch::NoGradGuard no_grad;
  // Two checksums per tensor, in float64: the sum, and a sum weighted by position (catches values that moved).
  std::vector<torch::Tensor> sums;
  for (const auto& [name, t] : tensors) {
    const auto v = t.detach().reshape(-1).to(torch::kFloat64);
    const auto w = torch::arange(1, v.numel() + 1, torch::kFloat64).remainder(7919) + 1;
    sums.push_back(torch::stack({v.sum(), (v * w).sum()}));
  }
  if (sums.empty()) return;
  const auto mine = torch::stack(sums);
  std::vector<torch::Tensor> low{mine.clone()}, high{mine.clone()};
  c10d::AllreduceOptions min_opts, max_opts;
  min_opts.reduceOp = c10d::ReduceOp::MIN;
  max_opts.reduceOp = c10d::ReduceOp::MAX;
  run_collective("the weight check", [&] { return group_->gloo->allreduce(low, min_opts); });
  run_collective("the weight check", [&] { return group_->gloo->allreduce(high, max_opts); });
  const auto differs = (low[0] != high[0]).any(1);
  if (differs.any().item<bool>()) {
    const auto i = differs.nonzero()[0][0].item<int64_t>();
    throw TrainingError(fmt::format("the workers' '{}' differ {}: the data-parallel run lost step with itself (run "
                                    "every worker with the same lwm, LibTorch and --threads)",
                                    tensors[static_cast<size_t>(i)].first, when));
  }
}

std::vector<double> DataParallel::sum(const std::vector<double>& values) {
  std::vector<torch::Tensor> t{torch::tensor(values, torch::kFloat64)};
  run_collective("a sum", [&] { return group_->gloo->allreduce(t); });
  return std::vector<double>(t[0].data_ptr<double>(), t[0].data_ptr<double>() + values.size());
}

}  // namespace lwm

// compress --nproc N: starts N local workers of one data-parallel run, as torchrun --nproc-per-node N does.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "lwm/cli/commands.h"
#include "lwm/common/error.h"

namespace lwm {
namespace {

std::atomic<int> g_forward_signal{0};  // a signal to pass on to the workers (set by the handler only)

void remember_signal(int sig) { g_forward_signal.store(sig); }

// A TCP port on 127.0.0.1 that nothing listens on now (the kernel's pick). Rank 0 binds it moments later.
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw WorkerError(std::string("cannot open a socket to pick MASTER_PORT: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  const int err = errno;
  ::close(fd);
  if (!ok) throw WorkerError(std::string("cannot pick a free port on 127.0.0.1: ") + std::strerror(err));
  return ntohs(addr.sin_port);
}

std::string describe(int status) {
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    const char* name = sigabbrev_np(sig);
    return fmt::format("was killed by signal {}{}", sig, name ? fmt::format(" (SIG{})", name) : "");
  }
  return fmt::format("exited with code {}", WEXITSTATUS(status));
}

}  // namespace

int launch_workers(int nproc, const std::vector<std::string>& args) {
  if (nproc < 2) throw std::invalid_argument("launch_workers: fewer than 2 workers");
  const int port = free_port();
  struct sigaction forward {};
  forward.sa_handler = remember_signal;
  sigemptyset(&forward.sa_mask);
  struct sigaction old_int {}, old_term {};
  sigaction(SIGINT, &forward, &old_int);
  sigaction(SIGTERM, &forward, &old_term);

  std::map<pid_t, int> rank_of;
  for (int rank = 0; rank < nproc; ++rank) {
    const pid_t pid = ::fork();
    if (pid < 0) {
      for (const auto& [p, r] : rank_of) ::kill(p, SIGKILL);
      throw WorkerError(std::string("cannot start a worker: ") + std::strerror(errno));
    }
    if (pid == 0) {
      ::sigaction(SIGINT, &old_int, nullptr);
      ::sigaction(SIGTERM, &old_term, nullptr);
      ::setenv("RANK", std::to_string(rank).c_str(), 1);
      ::setenv("LOCAL_RANK", std::to_string(rank).c_str(), 1);
      ::setenv("WORLD_SIZE", std::to_string(nproc).c_str(), 1);
      ::setenv("LOCAL_WORLD_SIZE", std::to_string(nproc).c_str(), 1);
      ::setenv("MASTER_ADDR", "127.0.0.1", 1);
      ::setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
      std::vector<char*> argv;
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv("/proc/self/exe", argv.data());
      std::cerr << "compress: error: cannot start worker " << rank << ": " << std::strerror(errno) << "\n";
      ::_exit(static_cast<int>(ExitCode::WorkerFailed));
    }
    rank_of[pid] = rank;
  }

  // Reap the workers; on the first failure stop the rest.
  std::map<int, int> status_of;  // rank -> wait status
  std::vector<int> failed_in_order;
  bool stopping = false;
  auto stop_deadline = std::chrono::steady_clock::time_point::max();
  auto signal_all = [&](int sig) {
    for (const auto& [pid, rank] : rank_of) {
      if (!status_of.count(rank)) ::kill(pid, sig);
    }
  };
  while (status_of.size() < rank_of.size()) {
    if (const int sig = g_forward_signal.exchange(0); sig != 0) {
      signal_all(sig);
      stopping = true;
      stop_deadline = std::min(stop_deadline, std::chrono::steady_clock::now() + std::chrono::seconds(10));
    }
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid > 0 && rank_of.count(pid)) {
      const int rank = rank_of[pid];
      status_of[rank] = status;
      const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
      if (!ok && !stopping) {
        failed_in_order.push_back(rank);
        stopping = true;
        signal_all(SIGTERM);
        stop_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      } else if (!ok) {
        failed_in_order.push_back(rank);
      }
      continue;
    }
    if (pid < 0 && errno != EINTR) break;  // no child left (should not happen before all are reaped)
    if (std::chrono::steady_clock::now() > stop_deadline) {
      signal_all(SIGKILL);
      stop_deadline = std::chrono::steady_clock::time_point::max();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  if (failed_in_order.empty()) return 0;

  // The cause: the first failure, unless that was a group failure (exit 8: a worker saw its peers go) and a
  // worker failed with an error of its own as well.
  auto exit_code = [&](int rank) { return WIFEXITED(status_of[rank]) ? WEXITSTATUS(status_of[rank]) : -1; };
  const int group_failed = static_cast<int>(ExitCode::WorkerFailed);
  int cause = failed_in_order.front();
  if (exit_code(cause) == group_failed) {
    for (int rank : failed_in_order) {
      if (exit_code(rank) > 0 && exit_code(rank) != group_failed) {
        cause = rank;
        break;
      }
    }
  }
  const int s = status_of[cause];
  std::cerr << "compress: error: worker " << cause << " of " << nproc << " " << describe(s)
            << (failed_in_order.size() > 1 ? "; the other workers were stopped" : "") << "\n";
  if (WIFEXITED(s) && WEXITSTATUS(s) != 0) return WEXITSTATUS(s);
  return static_cast<int>(ExitCode::WorkerFailed);
}

}  // namespace lwm

#pragma once
// One-line progress for long work: step/total, loss, rate, ETA. Redrawn in place on a
// terminal, logged every few percent otherwise, silent when quiet.
#include <chrono>
#include <string>

namespace lwm {

class Progress {
 public:
  Progress(std::string label, int64_t total, bool quiet);
  // `detail` is appended as is (e.g. "loss 0.4132 lr 4.1e-05").
  void update(int64_t done, const std::string& detail);
  void finish(const std::string& summary);

 private:
  std::string label_;
  int64_t total_;
  bool quiet_;
  bool tty_;
  int last_logged_percent_ = -1;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

std::string format_duration(double seconds);

}  // namespace lwm

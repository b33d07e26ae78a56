#pragma once
// One-line progress for long work: step/total, loss, rate, ETA. Redrawn in place on a
// terminal, logged every few percent otherwise, silent when quiet.
#include <chrono>
#include <string>

namespace lwm {

class Progress {
 public:
  // `done_before`: units done by an earlier process (a resumed run), left out of the rate and ETA.
  Progress(std::string label, int64_t total, bool quiet, int64_t done_before = 0);
  // `detail` is appended as is (e.g. "loss 0.4132 lr 4.1e-05").
  void update(int64_t done, const std::string& detail);
  void finish(const std::string& summary);

 private:
  std::string label_;
  int64_t total_;
  int64_t done_before_;
  bool quiet_;
  bool tty_;
  int last_logged_percent_ = -1;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

std::string format_duration(double seconds);

}  // namespace lwm

#include "lwm/train/progress.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>

namespace lwm {

std::string format_duration(double seconds) {
  const int s = static_cast<int>(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}h{:02}m", s / 3600, (s / 60) % 60);
  return fmt::format("{}m{:02}s", s / 60, s % 60);
}

Progress::Progress(std::string label, int64_t total, bool quiet, int64_t done_before)
    : label_(std::move(label)),
      total_(total),
      done_before_(done_before),
      quiet_(quiet),
      tty_(::isatty(STDERR_FILENO) != 0) {
  start_ = last_draw_ = std::chrono::steady_clock::now();
}

void Progress::update(int64_t done, const std::string& detail) {
  if (quiet_ || total_ <= 0) return;
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const int64_t done_here = done - done_before_;
  const double eta = done_here > 0 ? elapsed / static_cast<double>(done_here) * static_cast<double>(total_ - done) : 0.0;
  const int percent = static_cast<int>(100 * done / total_);
  const std::string line =
      fmt::format("{} {}/{} ({}%) {} eta {}", label_, done, total_, percent, detail, format_duration(eta));
  if (tty_) {
    if (now - last_draw_ < std::chrono::milliseconds(200) && done != total_) return;
    last_draw_ = now;
    std::fprintf(stderr, "\r\033[K%s", line.c_str());
    std::fflush(stderr);
  } else if (percent / 10 != last_logged_percent_ / 10 || last_logged_percent_ < 0) {
    last_logged_percent_ = percent;
    spdlog::info("{}", line);
  }
}

void Progress::finish(const std::string& summary) {
  if (quiet_) return;
  if (tty_) std::fprintf(stderr, "\r\033[K");
  spdlog::info("{} {}", label_, summary);
}

}  // namespace lwm

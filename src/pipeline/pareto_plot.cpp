#include "lwm/pipeline/pareto_plot.h"

#include <fmt/format.h>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "lwm/common/atomic_file.h"
#include "lwm/common/error.h"

extern char** environ;

namespace fs = std::filesystem;
using nlohmann::json;

namespace lwm {

bool gnuplot_available() {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) continue;
    const fs::path candidate = fs::path(dir) / "gnuplot";
    if (::access(candidate.c_str(), X_OK) == 0) return true;
  }
  return false;
}

namespace {

// A gnuplot double-quoted string.
std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// One panel: x = the point's `x_key`, y = relative accuracy (or the metric, when the teacher's is 0 or below).
struct Panel {
  std::string x_key, front_key, x_label;
};

std::string script(const json& pareto) {
  const json& points = pareto["points"];
  const json& teacher = pareto["teacher"];
  const std::string metric = teacher["metric_name"].get<std::string>();
  const double teacher_metric = teacher["metric"].get<double>();
  const bool relative = teacher_metric > 0;
  const double r = pareto["search"]["min_relative_accuracy"].get<double>();
  const double target = relative ? r : teacher_metric - (1 - r) * std::abs(teacher_metric);
  auto y_of = [&](const json& p) {
    return relative ? p["metric"].get<double>() / teacher_metric : p["metric"].get<double>();
  };
  std::vector<double> teacher_co2, teacher_b1;
  for (const json& p : points) {
    teacher_co2.push_back(p["teacher"]["co2_grams_per_1000_inferences"].get<double>());
    teacher_b1.push_back(p["teacher"]["latency_batch_1_ms"].get<double>());
  }
  const std::vector<Panel> panels = {
      {"relative_emissions", "relative_emissions",
       fmt::format("CO2e per 1,000 inferences, relative to the teacher (teacher = 1 = {:.3g} g)", median(teacher_co2))},
      {"relative_latency_batch_1", "relative_latency_batch_1",
       fmt::format("batch-1 latency (median), relative to the teacher (teacher = 1 = {:.3g} ms)", median(teacher_b1))}};
  const std::string y_label = relative ? fmt::format("{} relative to the teacher (teacher = 1 = {:.4f})", metric, teacher_metric)
                                       : fmt::format("{} (teacher: {:.4f})", metric, teacher_metric);
  const std::string chosen = pareto["chosen"].is_string() ? pareto["chosen"].get<std::string>() : "";

  std::string s;
  s += "# compress search: the picture of pareto.json. Run `gnuplot pareto.gp` in this directory to redraw pareto.png.\n";
  s += "if (!exists(\"out\")) out = \"pareto.png\"\n";
  s += "set terminal pngcairo size 1600,700 enhanced font \"DejaVu Sans,12\"\n";
  s += "set output out\n";
  s += "set grid lc rgb '#dddddd'\n";
  s += "set key outside right top vertical font \",10\"\n";  // beside the axes: never over a point
  s += "set offsets 0, 0, 0, 0\n";
  // The y range holds every point, the teacher and the target line (an arrow, which autoscaling ignores).
  double y_min = std::min(target, relative ? 1.0 : teacher_metric), y_max = std::max(target, relative ? 1.0 : teacher_metric);
  for (const json& p : points) {
    y_min = std::min(y_min, y_of(p));
    y_max = std::max(y_max, y_of(p));
  }
  const double pad = std::max(0.08 * (y_max - y_min), 0.02);
  s += fmt::format("set yrange [{}:{}]\n", y_min - pad, y_max + pad);
  for (size_t k = 0; k < panels.size(); ++k) {
    const Panel& panel = panels[k];
    // Columns: x y int8(0/1) label
    s += fmt::format("$points{} << EOD\n", k);
    for (const json& p : points) {
      if (!p[panel.x_key].is_number()) continue;
      const std::string label = fmt::format("{} {}", p["recipe"]["keep_layers"].get<int>(),
                                            p["recipe"]["sparsity"].get<double>() > 0
                                                ? fmt::format("s{:.2f}", p["recipe"]["sparsity"].get<double>())
                                                : std::string("dense"));
      s += fmt::format("{} {} {} {}\n", p[panel.x_key].get<double>(), y_of(p), p["recipe"]["int8"].get<bool>() ? 1 : 0,
                       quoted("L" + label));
    }
    s += "EOD\n";
    std::vector<std::pair<double, double>> front;
    std::set<std::string> on_front;
    for (const auto& id : pareto["front"][panel.front_key]) on_front.insert(id.get<std::string>());
    for (const json& p : points) {
      if (on_front.count(p["id"].get<std::string>())) front.emplace_back(p[panel.x_key].get<double>(), y_of(p));
    }
    std::sort(front.begin(), front.end());
    s += fmt::format("$front{} << EOD\n", k);
    for (const auto& [x, y] : front) s += fmt::format("{} {}\n", x, y);
    s += "EOD\n";
    s += fmt::format("$chosen{} << EOD\n", k);
    for (const json& p : points) {
      if (p["id"] == chosen && p[panel.x_key].is_number()) s += fmt::format("{} {}\n", p[panel.x_key].get<double>(), y_of(p));
    }
    s += "EOD\n";
  }
  s += fmt::format("$teacher << EOD\n1 {}\nEOD\n", relative ? 1.0 : teacher_metric);
  s += fmt::format(
      "set multiplot layout 1,2 title {}\n",
      quoted(fmt::format("compress search: {} teacher on {}, objective {}; target: {}{}",
                         teacher.value("spec_family", std::string("the")), teacher["task"].get<std::string>(),
                         pareto["search"]["objective"].get<std::string>(), pareto["search"]["targets_text"].get<std::string>(),
                         chosen.empty() ? " (none meets it)" : "; chosen " + chosen)));
  for (size_t k = 0; k < panels.size(); ++k) {
    // Students far greener or faster than the teacher crowd at 0 on a linear axis that must also hold the teacher
    // at 1: past a 5x spread the axis is logarithmic.
    double x_min = 1, x_max = 1;
    for (const json& p : points) {
      if (!p[panels[k].x_key].is_number()) continue;
      x_min = std::min(x_min, p[panels[k].x_key].get<double>());
      x_max = std::max(x_max, p[panels[k].x_key].get<double>());
    }
    const bool log_x = x_min > 0 && x_max / x_min > 5;
    if (log_x) {
      s += fmt::format("set logscale x\nset xrange [{}:{}]\nset format x \"%g\"\n"
                       "set xtics (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10)\n",
                       x_min / 1.6, x_max * 1.6);
    } else {
      s += "unset logscale x\nset xrange [0:*]\nset format x \"%g\"\nset xtics autofreq\n";
    }
    s += fmt::format("set xlabel {}\nset ylabel {}\n", quoted(panels[k].x_label + (log_x ? ", log scale" : "")),
                     quoted(y_label));
    s += fmt::format(
        "set arrow 1 from graph 0, first {t} to graph 1, first {t} nohead dt 2 lw 2 lc rgb '#d62728' back\n"
        "plot NaN with lines dt 2 lw 2 lc rgb '#d62728' title {tt}, \\\n"
        "  $front{k} with linespoints lw 2 pt 6 ps 2.6 lc rgb '#7f7f7f' title 'Pareto front', \\\n"
        "  $points{k} using 1:($3==0?$2:NaN) with points pt 7 ps 1.6 lc rgb '#1f77b4' title 'fp32 student', \\\n"
        "  $points{k} using 1:($3==1?$2:NaN) with points pt 9 ps 1.8 lc rgb '#ff7f0e' title 'int8 student', \\\n"
        "  $points{k} using 1:($3==0?$2:NaN):4 with labels offset 0,1.1 font ',9' notitle, \\\n"
        "  $points{k} using 1:($3==1?$2:NaN):4 with labels offset 0,-1.2 font ',9' notitle, \\\n"
        "  $teacher with points pt 3 ps 3 lw 2 lc rgb 'black' title 'teacher', \\\n"
        "  $chosen{k} with points pt 6 ps 4 lw 3 lc rgb '#2ca02c' title 'chosen'\n",
        fmt::arg("t", target), fmt::arg("tt", quoted(fmt::format("target ({:.4g})", target))), fmt::arg("k", k));
  }
  s += "unset multiplot\n";
  return s;
}

}  // namespace

void plot_pareto(const json& pareto, const fs::path& png, const fs::path& script_path) {
  write_text_atomically(script_path, script(pareto));
  const fs::path staged = png.parent_path() / ".pareto.png.staged";
  const fs::path log = png.parent_path() / ".gnuplot.log";
  const std::string set_out = "out=" + quoted(staged.string());
  const std::string script_arg = script_path.string();
  std::vector<char*> argv = {const_cast<char*>("gnuplot"), const_cast<char*>("-e"), const_cast<char*>(set_out.c_str()),
                             const_cast<char*>(script_arg.c_str()), nullptr};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid = 0;
  const int spawned = posix_spawnp(&pid, "gnuplot", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  std::error_code ec;
  if (spawned != 0) throw OutputError(png.string() + ": cannot start gnuplot (is it installed?)");
  int status = 0;
  pid_t waited = 0;
  while ((waited = ::waitpid(pid, &status, 0)) < 0 && errno == EINTR) {
  }
  // gnuplot names a failing script line as: "<script>" line N: <what>. Warnings (an empty data block) are not it.
  std::string first_error;
  {
    std::ifstream in(log);
    std::string line, last;
    while (std::getline(in, line)) {
      if (line.find("\" line ") != std::string::npos && line.find("warning:") == std::string::npos) {
        first_error = line;
        break;
      }
      if (line.find_first_not_of(" ^") != std::string::npos && line.find("warning:") == std::string::npos) last = line;
    }
    if (first_error.empty()) first_error = last;
  }
  fs::remove(log, ec);
  if (waited < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0 || !fs::exists(staged, ec) ||
      fs::file_size(staged, ec) == 0) {
    fs::remove(staged, ec);
    throw OutputError(png.string() + ": gnuplot failed" + (first_error.empty() ? "" : ": " + first_error));
  }
  sync_file(staged);
  fs::rename(staged, png, ec);
  if (ec) throw OutputError(png.string() + ": cannot write: " + ec.message());
  sync_directory(png.parent_path());
}

}  // namespace lwm

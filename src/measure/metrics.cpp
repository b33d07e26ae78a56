#include "lwm/measure/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>

#include "lwm/common/error.h"

namespace lwm {
namespace {

template <typename A, typename B>
void check_sizes(const char* what, const std::vector<A>& a, const std::vector<B>& b) {
  if (a.size() != b.size()) {
    throw std::invalid_argument(std::string(what) + ": predictions and references differ in size (" +
                                std::to_string(a.size()) + " vs " + std::to_string(b.size()) + ")");
  }
  if (a.empty()) throw std::invalid_argument(std::string(what) + ": no examples");
}

bool has_nan(const std::vector<double>& v) {
  return std::any_of(v.begin(), v.end(), [](double d) { return std::isnan(d); });
}

bool is_constant(const std::vector<double>& v) {
  return std::all_of(v.begin(), v.end(), [&](double d) { return d == v.front(); });
}

// Pearson's r of two same-size, non-empty, NaN-free vectors; 0 when either is constant.
double pearson_unchecked(const std::vector<double>& x, const std::vector<double>& y) {
  if (is_constant(x) || is_constant(y)) return 0.0;
  const double n = static_cast<double>(x.size());
  const double mx = std::accumulate(x.begin(), x.end(), 0.0) / n;
  const double my = std::accumulate(y.begin(), y.end(), 0.0) / n;
  // Two passes (centre, then sum products) to avoid the cancellation of the one-pass formula.
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double dx = x[i] - mx, dy = y[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  const double r = sxy / (std::sqrt(sxx) * std::sqrt(syy));
  return std::clamp(r, -1.0, 1.0);  // rounding can step just past +-1, as scipy also clips
}

// 1-based ranks; tied values share the mean of the ranks they span (scipy.stats.rankdata "average").
std::vector<double> average_ranks(const std::vector<double>& v) {
  std::vector<size_t> order(v.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> ranks(v.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]]) ++j;
    const double rank = (static_cast<double>(i + 1) + static_cast<double>(j + 1)) / 2.0;
    for (size_t k = i; k <= j; ++k) ranks[order[k]] = rank;
    i = j + 1;
  }
  return ranks;
}

}  // namespace

double accuracy(const std::vector<int>& pred, const std::vector<int>& gold) {
  check_sizes("accuracy", pred, gold);
  size_t correct = 0;
  for (size_t i = 0; i < pred.size(); ++i) correct += pred[i] == gold[i];
  return static_cast<double>(correct) / static_cast<double>(pred.size());
}

double f1_binary(const std::vector<int>& pred, const std::vector<int>& gold) {
  check_sizes("f1", pred, gold);
  size_t tp = 0, fp = 0, fn = 0;
  for (size_t i = 0; i < pred.size(); ++i) {
    const int p = pred[i], g = gold[i];
    if ((p != 0 && p != 1) || (g != 0 && g != 1)) {
      throw std::invalid_argument("f1: binary F1 needs labels 0 and 1, got " +
                                  std::to_string(p != 0 && p != 1 ? p : g));
    }
    tp += p == 1 && g == 1;
    fp += p == 1 && g == 0;
    fn += p == 0 && g == 1;
  }
  // F1 = 2PR/(P+R) = 2TP / (2TP + FP + FN); 0/0 (no positive predicted or gold) is 0, as in sklearn.
  const size_t denom = 2 * tp + fp + fn;
  return denom == 0 ? 0.0 : static_cast<double>(2 * tp) / static_cast<double>(denom);
}

double matthews_corrcoef(const std::vector<int>& pred, const std::vector<int>& gold) {
  check_sizes("mcc", pred, gold);
  // sklearn's multiclass form (Gorodkin's R_K) over the confusion matrix C:
  //   t_k = times class k truly occurred, p_k = times it was predicted, c = correct, s = samples;
  //   MCC = (c*s - sum t_k p_k) / sqrt((s^2 - sum p_k^2) (s^2 - sum t_k^2)).
  // For two classes this is (TP*TN - FP*FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN)).
  std::vector<int> labels(pred);
  labels.insert(labels.end(), gold.begin(), gold.end());
  std::sort(labels.begin(), labels.end());
  labels.erase(std::unique(labels.begin(), labels.end()), labels.end());
  auto index = [&](int label) {
    return static_cast<size_t>(std::lower_bound(labels.begin(), labels.end(), label) - labels.begin());
  };
  std::vector<double> t(labels.size(), 0.0), p(labels.size(), 0.0);
  double c = 0;
  for (size_t i = 0; i < pred.size(); ++i) {
    t[index(gold[i])] += 1;
    p[index(pred[i])] += 1;
    c += pred[i] == gold[i];
  }
  const double s = static_cast<double>(pred.size());
  double tp_sum = 0, pp_sum = 0, tt_sum = 0;
  for (size_t k = 0; k < labels.size(); ++k) {
    tp_sum += t[k] * p[k];
    pp_sum += p[k] * p[k];
    tt_sum += t[k] * t[k];
  }
  const double cov_yt_yp = c * s - tp_sum;
  const double cov_yp_yp = s * s - pp_sum;
  const double cov_yt_yt = s * s - tt_sum;
  if (cov_yp_yp * cov_yt_yt == 0) return 0.0;  // a constant prediction or constant gold
  return cov_yt_yp / std::sqrt(cov_yt_yt * cov_yp_yp);
}

double pearson(const std::vector<double>& x, const std::vector<double>& y) {
  check_sizes("pearson", x, y);
  if (has_nan(x) || has_nan(y)) return std::numeric_limits<double>::quiet_NaN();
  return pearson_unchecked(x, y);
}

double spearman(const std::vector<double>& x, const std::vector<double>& y) {
  check_sizes("spearman", x, y);
  if (has_nan(x) || has_nan(y)) return std::numeric_limits<double>::quiet_NaN();
  // Spearman's rho is Pearson's r of the ranks (the 1 - 6 sum d^2 / ... shortcut is wrong with ties).
  return pearson_unchecked(average_ranks(x), average_ranks(y));
}

std::map<std::string, double> compute_metrics(const std::vector<std::string>& names,
                                              const std::vector<int>& pred, const std::vector<int>& gold,
                                              const std::vector<double>& pred_scores,
                                              const std::vector<double>& gold_scores) {
  using LabelMetric = double (*)(const std::vector<int>&, const std::vector<int>&);
  using ScoreMetric = double (*)(const std::vector<double>&, const std::vector<double>&);
  static const std::map<std::string, LabelMetric> kLabel = {
      {"accuracy", accuracy}, {"f1", f1_binary}, {"mcc", matthews_corrcoef}};
  static const std::map<std::string, ScoreMetric> kScore = {{"pearson", pearson}, {"spearman", spearman}};

  // Check every name first, so a typo is reported as such rather than as a data problem.
  for (const auto& name : names) {
    if (!kLabel.count(name) && !kScore.count(name)) {
      throw UsageError("unknown metric '" + name + "' (known: accuracy, f1, mcc, pearson, spearman)");
    }
  }
  std::map<std::string, double> out;
  for (const auto& name : names) {
    if (auto it = kLabel.find(name); it != kLabel.end()) {
      out[name] = it->second(pred, gold);
    } else {
      out[name] = kScore.at(name)(pred_scores, gold_scores);
    }
  }
  return out;
}

}  // namespace lwm

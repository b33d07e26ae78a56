#pragma once
// Task metrics, as GLUE defines them.
#include <map>
#include <string>
#include <vector>

namespace lwm {

double accuracy(const std::vector<int>& pred, const std::vector<int>& gold);
// Binary F1 of the positive class (label 1), as GLUE reports for MRPC/QQP.
double f1_binary(const std::vector<int>& pred, const std::vector<int>& gold);
// Matthews correlation (CoLA); 0 when undefined (a constant prediction).
double matthews_corrcoef(const std::vector<int>& pred, const std::vector<int>& gold);
double pearson(const std::vector<double>& x, const std::vector<double>& y);
// Spearman with average ranks for ties.
double spearman(const std::vector<double>& x, const std::vector<double>& y);

// Computes each metric named ("accuracy", "f1", "mcc", "pearson", "spearman").
// Classification uses pred/gold labels; regression uses scores.
std::map<std::string, double> compute_metrics(const std::vector<std::string>& names,
                                              const std::vector<int>& pred, const std::vector<int>& gold,
                                              const std::vector<double>& pred_scores,
                                              const std::vector<double>& gold_scores);

}  // namespace lwm

#pragma once
// Task metrics, as GLUE defines them, with sklearn/scipy semantics.
// All throw std::invalid_argument when the inputs are empty or differ in size.
#include <map>
#include <string>
#include <vector>

namespace lwm {

double accuracy(const std::vector<int>& pred, const std::vector<int>& gold);
// Binary F1 of the positive class (label 1), as GLUE reports for MRPC/QQP.
// Labels must be 0 or 1. 2TP / (2TP + FP + FN); 0 when that is 0/0 (sklearn's zero_division default).
double f1_binary(const std::vector<int>& pred, const std::vector<int>& gold);
// Matthews correlation (CoLA); 0 when undefined (a constant prediction).
// Any integer labels (sklearn's multiclass form, which equals the binary formula for two classes).
double matthews_corrcoef(const std::vector<int>& pred, const std::vector<int>& gold);
// Pearson and Spearman return NaN when an input holds NaN (scipy's default), and 0 when an input is
// constant (scipy returns NaN there; 0 matches the MCC convention and keeps reports and targets numeric).
double pearson(const std::vector<double>& x, const std::vector<double>& y);
// Spearman with average ranks for ties.
double spearman(const std::vector<double>& x, const std::vector<double>& y);

// Computes each metric named ("accuracy", "f1", "mcc", "pearson", "spearman").
// Classification uses pred/gold labels; regression uses scores. Unknown name -> lwm::UsageError.
std::map<std::string, double> compute_metrics(const std::vector<std::string>& names,
                                              const std::vector<int>& pred, const std::vector<int>& gold,
                                              const std::vector<double>& pred_scores,
                                              const std::vector<double>& gold_scores);

}  // namespace lwm

#pragma once
// Numbers given on the command line (--threads 2) or in a config (JSON, or --KEY VALUE): one rule per
// option, checked the same way wherever the number comes from.
#include <string>

namespace lwm {

struct NumberRule {
  bool integer = false;
  double min = 0;
  double max = 0;
  bool min_exclusive = false;  // (min, ...: e.g. a learning rate above 0
  bool max_exclusive = false;  // ..., max): e.g. a pruned fraction below 1

  static NumberRule integers(double lo, double hi) { return {true, lo, hi, false, false}; }
  static NumberRule reals(double lo, double hi, bool lo_open = false, bool hi_open = false) {
    return {false, lo, hi, lo_open, hi_open};
  }
  // "an integer from 1 to 1024", "a number from 0 to 1", "a number above 0 and at most 10",
  // "a number at least 0 and below 1".
  std::string describe() const;
  bool allows(double value) const;  // finite, within the bounds, integral when `integer`
};

// Reads `text` as one number: the whole text (leading/trailing spaces ignored), decimal (".5", "5e-1" and
// "0.5" alike; integers in plain digits only), finite, within `rule`. Throws UsageError
// "<name>: <text> is not allowed: must be <rule.describe()>" (one line) otherwise.
double parse_number(const std::string& name, const std::string& text, const NumberRule& rule);

// The same check for a number that is already parsed (e.g. from JSON).
double check_number(const std::string& name, double value, const NumberRule& rule);

}  // namespace lwm

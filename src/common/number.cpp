#include "lwm/common/number.h"

#include <fmt/format.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "lwm/common/error.h"

namespace lwm {
namespace {

std::string show(double x) {
  if (std::isfinite(x) && std::floor(x) == x && std::fabs(x) < 1e16) return fmt::format("{:.0f}", x);
  return fmt::format("{:g}", x);
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

}  // namespace

std::string NumberRule::describe() const {
  const std::string kind = integer ? "an integer" : "a number";
  if (!min_exclusive && !max_exclusive) return kind + " from " + show(min) + " to " + show(max);
  return kind + (min_exclusive ? " above " : " at least ") + show(min) + (max_exclusive ? " and below " : " and at most ") +
         show(max);
}

bool NumberRule::allows(double x) const {
  if (!std::isfinite(x)) return false;
  if (integer && std::floor(x) != x) return false;
  if (min_exclusive ? !(x > min) : !(x >= min)) return false;
  if (max_exclusive ? !(x < max) : !(x <= max)) return false;
  return true;
}

double check_number(const std::string& name, double value, const NumberRule& rule) {
  if (!rule.allows(value)) throw UsageError(name + ": " + show(value) + " is not allowed: must be " + rule.describe());
  return value;
}

double parse_number(const std::string& name, const std::string& raw, const NumberRule& rule) {
  const std::string text = trim(raw);
  const auto refuse = [&] {
    return UsageError(name + ": '" + raw + "' is not allowed: must be " + rule.describe());
  };
  if (text.empty()) throw refuse();
  // Decimal only: strtod would also read hex ("0x10"), "inf" and "nan".
  for (char c : text) {
    const bool ok = (c >= '0' && c <= '9') || c == '-' || c == '+' || (!rule.integer && (c == '.' || c == 'e' || c == 'E'));
    if (!ok) throw refuse();
  }
  errno = 0;
  char* end = nullptr;
  const double x = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || errno == ERANGE || !rule.allows(x)) throw refuse();
  return x;
}

}  // namespace lwm

#include "lwm/data/utf8.h"

#include <unicode/utf8.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace lwm::utf8 {
namespace {

struct Invalid {
  size_t at = std::string_view::npos;  // byte offset of the ill-formed sequence, npos: none
  size_t length = 0;                   // its length as U8_NEXT delimits it
};

// The first ill-formed sequence at or after `from`, read in windows (utf8.h).
Invalid next_invalid(std::string_view s, size_t from, size_t window) {
  window = std::clamp<size_t>(window, U8_MAX_LENGTH, kDefaultWindow);
  size_t base = from;
  while (base < s.size()) {
    const size_t length = std::min(window, s.size() - base);
    const bool last = base + length == s.size();
    const auto* p = reinterpret_cast<const uint8_t*>(s.data() + base);
    const auto n = static_cast<int32_t>(length);
    int32_t i = 0;
    while (i < n) {
      const int32_t start = i;
      UChar32 c;
      U8_NEXT(p, i, n, c);
      if (c < 0) {
        if (!last && n - start < U8_MAX_LENGTH) {
          i = start;  // perhaps cut by the window
          break;
        }
        return {base + static_cast<size_t>(start), static_cast<size_t>(i - start)};
      }
    }
    base += static_cast<size_t>(i);
  }
  return {};
}

bool ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

}  // namespace

size_t first_invalid(std::string_view s, size_t window) {
  return ascii(s) ? std::string_view::npos : next_invalid(s, 0, window).at;
}

std::string encode(int32_t c) {
  uint8_t bytes[U8_MAX_LENGTH];
  int32_t length = 0;
  U8_APPEND_UNSAFE(bytes, length, c);
  return std::string(reinterpret_cast<const char*>(bytes), static_cast<size_t>(length));
}

std::string replace_invalid(std::string_view s, size_t window) {
  std::string out;
  out.reserve(s.size());
  size_t pos = 0;
  for (Invalid bad = next_invalid(s, 0, window); bad.at != std::string_view::npos; bad = next_invalid(s, pos, window)) {
    out.append(s.substr(pos, bad.at - pos));
    out += "\xEF\xBF\xBD";
    pos = bad.at + bad.length;
  }
  out.append(s.substr(pos));
  return out;
}

}  // namespace lwm::utf8

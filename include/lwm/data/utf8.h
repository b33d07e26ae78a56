#pragma once
// The data layer's one UTF-8 check, on ICU's U8_NEXT: well-formed UTF-8 only (no overlong forms, no surrogates,
// nothing above U+10FFFF, no truncated sequence). Used where text enters lwm: dataset files, vocabulary files
// and the texts the byte-level BPE pre-tokenises (PCRE2 in UTF mode needs valid input).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace lwm::utf8 {

// ICU's U8_NEXT indexes with int32_t: a text is read in windows of at most this many bytes (a sequence a window
// cuts is read again at the start of the next), so texts of 2 GiB and more are checked whole. Tests pass small
// windows.
constexpr size_t kDefaultWindow = size_t{1} << 30;

// Byte offset of the first ill-formed sequence in `s`, or std::string_view::npos when `s` is valid.
size_t first_invalid(std::string_view s, size_t window = kDefaultWindow);

inline bool valid(std::string_view s) { return first_invalid(s) == std::string_view::npos; }

// The UTF-8 bytes of code point `c` (U8_APPEND_UNSAFE: `c` must be a valid scalar value).
std::string encode(int32_t c);

// `s` with each ill-formed sequence (as U8_NEXT delimits them) replaced by U+FFFD.
std::string replace_invalid(std::string_view s, size_t window = kDefaultWindow);

}  // namespace lwm::utf8

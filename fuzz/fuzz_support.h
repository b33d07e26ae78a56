#pragma once
// Shared by the libFuzzer targets in fuzz/: a scratch directory for the readers (they take paths), and the
// rule every target checks: bad input may only throw lwm::Error (DataError, UsageError, ModelError, ...);
// any other exception, like a crash, a leak or UB, is a finding.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <typeinfo>
#include <utility>
#include <vector>

#include "lwm/common/error.h"

namespace lwm_fuzz {

// A directory of this process's own, removed at exit (libFuzzer's -fork/-jobs run several processes).
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    std::string templ = (std::filesystem::temp_directory_path() / "lwm-fuzz-XXXXXX").string();
    if (mkdtemp(templ.data()) == nullptr) {
      std::perror("lwm fuzz: mkdtemp");
      std::abort();
    }
    static const std::string keep = templ;
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(keep, ec);
    });
    return std::filesystem::path(templ);
  }();
  return dir;
}

inline std::filesystem::path write_file(const std::string& name, std::string_view bytes) {
  const auto path = scratch_dir() / name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) {
    std::fprintf(stderr, "lwm fuzz: cannot write %s\n", path.c_str());
    std::abort();
  }
  return path;
}

[[noreturn]] inline void finding(const char* what) {
  std::fprintf(stderr, "\nlwm fuzz finding: %s\n", what);
  std::fflush(stderr);
  std::abort();
}

#define LWM_FUZZ_CHECK(cond)                                                      \
  do {                                                                            \
    if (!(cond)) ::lwm_fuzz::finding("invariant failed: " #cond " (" __FILE__ ")"); \
  } while (0)

// Runs `body`; lwm::Error is the documented answer to bad input, anything else aborts (a finding).
template <typename Body>
int guarded(Body&& body) {
  try {
    body();
  } catch (const lwm::Error&) {
  } catch (const std::exception& e) {
    std::string what = std::string("uncaught ") + typeid(e).name() + ": " + e.what();
    finding(what.c_str());
  } catch (...) {
    finding("uncaught exception of a non-std type");
  }
  return 0;
}

inline bool valid_utf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1f) : n == 3 ? (c & 0x0f) : (c & 0x07);
    for (size_t k = 1; k < n; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d >> 6) != 2) return false;
      cp = (cp << 6) | (d & 0x3f);
    }
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += n;
  }
  return true;
}

// Splits the input at the first '\0': two texts (or two files) from one input.
inline std::pair<std::string_view, std::string_view> split_nul(std::string_view in) {
  const size_t nul = in.find('\0');
  if (nul == std::string_view::npos) return {in, {}};
  return {in.substr(0, nul), in.substr(nul + 1)};
}

// A folder of files from one input: the parts between '\0's are the files named in `names`, in order; a
// file whose part is missing (fewer parts) is absent. Returns the folder.
inline std::filesystem::path write_folder(std::string_view in, const std::vector<std::string>& names) {
  const auto dir = scratch_dir() / "folder";
  std::filesystem::create_directories(dir);
  for (const std::string& name : names) {
    if (in.data() == nullptr) {
      std::error_code ec;
      std::filesystem::remove(dir / name, ec);
      continue;
    }
    const size_t nul = in.find('\0');
    write_file("folder/" + name, in.substr(0, nul));
    in = nul == std::string_view::npos ? std::string_view() : in.substr(nul + 1);
  }
  return dir;
}

}  // namespace lwm_fuzz

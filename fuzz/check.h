#pragma once
// Invariant checks for the fuzz targets: a failed check aborts, which libFuzzer reports as a crash and
// saves the input. Unlike assert() it is never compiled out.
#include <cstdio>
#include <cstdlib>
#include <string_view>

#define FUZZ_CHECK(cond)                                                              \
  do {                                                                                \
    if (!(cond)) {                                                                    \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                   \
    }                                                                                 \
  } while (0)

// Texts meant for logs and replies are one line of printable ASCII (log_text::sanitize's promise).
inline bool printable_ascii(std::string_view s) {
  for (char c : s) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

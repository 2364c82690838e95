#pragma once
// Invariant checks for the fuzz targets: a failed check aborts, which libFuzzer reports as a crash and
// saves the input. Unlike assert() it is never compiled out.
#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond)                                                              \
  do {                                                                                \
    if (!(cond)) {                                                                    \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                   \
    }                                                                                 \
  } while (0)

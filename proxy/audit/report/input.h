#pragma once
// Reading audit files: plain or gzip-compressed (zlib reads both; logrotate's `compress` makes the
// second), "-" for standard input. Each good line is handed over as a Record; a bad one is counted and
// named with file:line and why, never fatal. Only a file that cannot be opened or read is an error.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "proxy/audit/report/record.h"

namespace mxguard::audit::report {

struct BadLine {
  std::string file;
  std::uint64_t line = 0;
  std::string why;
};

struct ReadStats {
  std::uint64_t lines = 0;     // every line read, good or bad
  std::uint64_t records = 0;   // good ones
  std::uint64_t bad = 0;
  std::vector<BadLine> bad_lines;   // the first kMaxBadLinesKept of them
  static constexpr std::size_t kMaxBadLinesKept = 100;
};

struct Progress {
  std::string file;
  std::uint64_t lines = 0;            // lines of all files so far
  std::uint64_t file_bytes_read = 0;  // of this file, as stored (compressed bytes for gzip)
  std::uint64_t file_size = 0;        // 0 when unknown (standard input, a pipe)
};

struct ReadOptions {
  std::size_t max_line = 1 << 20;   // a longer line is bad ("longer than ...") and skipped
  // Called every `progress_every` lines and after each file; the caller decides whether to show it.
  std::function<void(const Progress&)> progress;
  std::uint64_t progress_every = 16384;
};

// Reads the files in order. Returns "" or the first file error ("cannot open FILE: ..."); records of the
// files before it have been handed over.
std::string read_audit_files(const std::vector<std::string>& paths, const std::function<void(Record&&)>& on_record,
                             ReadStats& stats, const ReadOptions& options = {});

}  // namespace mxguard::audit::report

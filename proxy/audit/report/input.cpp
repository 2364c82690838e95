#include "proxy/audit/report/input.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace mxguard::audit::report {

namespace {
struct GzCloser {
  void operator()(gzFile f) const { gzclose(f); }
};
using GzFile = std::unique_ptr<std::remove_pointer_t<gzFile>, GzCloser>;

void note_bad(ReadStats& stats, const std::string& file, std::uint64_t line, std::string why) {
  ++stats.bad;
  if (stats.bad_lines.size() < ReadStats::kMaxBadLinesKept) stats.bad_lines.push_back({file, line, std::move(why)});
}

std::string read_one(const std::string& path, const std::function<void(Record&&)>& on_record, ReadStats& stats,
                     const ReadOptions& options) {
  int fd = path == "-" ? ::dup(0) : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "cannot open " + path + ": " + std::strerror(errno);
  Progress progress{path, stats.lines, 0, 0};
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) progress.file_size = static_cast<std::uint64_t>(st.st_size);
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    return "cannot read " + path + ": it is a directory";
  }
  GzFile gz(gzdopen(fd, "rb"));   // owns fd from here on
  if (!gz) {
    ::close(fd);
    return "cannot read " + path + ": out of memory";
  }
  gzbuffer(gz.get(), 128 * 1024);

  std::string line;
  bool overlong = false;
  std::uint64_t number = 0;
  auto finish_line = [&] {
    ++number;
    ++stats.lines;
    if (!overlong && line.find_first_not_of(" \t\r") == std::string::npos) {
      // A blank line (a hand-edited file's last line): nothing to read, nothing wrong.
    } else if (overlong) {
      note_bad(stats, path, number, "longer than " + std::to_string(options.max_line) + " bytes");
    } else {
      auto parsed = parse_record(line);
      if (auto* record = std::get_if<Record>(&parsed)) {
        ++stats.records;
        on_record(std::move(*record));
      } else {
        note_bad(stats, path, number, std::get<std::string>(parsed));
      }
    }
    line.clear();
    overlong = false;
    if (options.progress && options.progress_every > 0 && stats.lines % options.progress_every == 0) {
      progress.lines = stats.lines;
      z_off_t at = gzoffset(gz.get());
      progress.file_bytes_read = at > 0 ? static_cast<std::uint64_t>(at) : 0;
      options.progress(progress);
    }
  };

  std::vector<char> buffer(64 * 1024);
  while (true) {
    int n = gzread(gz.get(), buffer.data(), static_cast<unsigned>(buffer.size()));
    if (n < 0) {
      int code = 0;
      const char* message = gzerror(gz.get(), &code);
      return "cannot read " + path + ": " + (code == Z_ERRNO ? std::strerror(errno) : message);
    }
    if (n == 0) break;
    std::string_view chunk(buffer.data(), static_cast<std::size_t>(n));
    while (!chunk.empty()) {
      std::size_t nl = chunk.find('\n');
      std::string_view part = chunk.substr(0, nl);
      if (!overlong) {
        if (line.size() + part.size() > options.max_line) {
          overlong = true;
          line.clear();
        } else {
          line.append(part);
        }
      }
      if (nl == std::string_view::npos) break;
      finish_line();
      chunk.remove_prefix(nl + 1);
    }
  }
  int code = Z_OK;
  const char* message = gzerror(gz.get(), &code);
  if (code != Z_OK) {
    // A compressed file cut short (logrotate's compress still running, a full disk): what came before is
    // good, the rest is unknown. One bad line says so; the files after it are still read.
    ++stats.lines;
    note_bad(stats, path, number + 1, std::string("the compressed data ends early (") + message + ")");
  } else if (!line.empty() || overlong) {
    // A last line without its newline: the writer's line is always whole (one write(2) per line), so this
    // is a line still being written or a truncated file. It is read if it parses, counted bad otherwise.
    finish_line();
  }
  if (options.progress) {
    progress.lines = stats.lines;
    progress.file_bytes_read = progress.file_size;
    options.progress(progress);
  }
  return {};
}
}  // namespace

std::string read_audit_files(const std::vector<std::string>& paths, const std::function<void(Record&&)>& on_record,
                             ReadStats& stats, const ReadOptions& options) {
  for (const std::string& path : paths) {
    std::string error = read_one(path, on_record, stats, options);
    if (!error.empty()) return error;
  }
  return {};
}

}  // namespace mxguard::audit::report

// The MTA-STS cache file on disk (cache_file.h): load_cache_file and write_cache_file. POSIX calls
// directly, because the guarantees are about them: O_EXCL for the temporary file, fsync before the
// rename, fsync of the directory after it, and a hard link to set a file aside without a gap.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <ctime>
#include <system_error>
#include <utility>

#include "policy/mta_sts/cache_file.h"

namespace mxguard::mta_sts {
namespace {

std::string describe(int err) { return std::generic_category().message(err); }

// "20270131T235959Z": the moment a file was set aside, in UTC.
std::string utc_stamp() {
  std::time_t now = Clock::to_time_t(Clock::now());
  std::tm utc{};
  gmtime_r(&now, &utc);
  char out[32];
  std::size_t n = std::strftime(out, sizeof out, "%Y%m%dT%H%M%SZ", &utc);
  return std::string(out, n);
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 || errno != ENOENT;
}

// "<path>.corrupt-<UTC>", or with ".1", ".2"... when that name is taken (two loads in one second).
std::string aside_name(const std::string& path) {
  const std::string base = path + ".corrupt-" + utc_stamp();
  std::string name = base;
  for (int n = 1; exists(name) && n < 1000; ++n) name = base + "." + std::to_string(n);
  return name;
}

std::string directory_of(const std::string& path) {
  std::size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

struct ReadOutcome {
  enum class Kind { Missing, Read, Unreadable, TooLarge, NotAFile } kind;
  std::string text;    // Read
  std::string error;   // Unreadable
};

ReadOutcome read_whole(const std::string& path) {
  // O_NONBLOCK: opening a FIFO put in the file's place must not hang the start.
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (fd.get() < 0) {
    if (errno == ENOENT) return {ReadOutcome::Kind::Missing, "", ""};
    return {ReadOutcome::Kind::Unreadable, "", describe(errno)};
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return {ReadOutcome::Kind::Unreadable, "", describe(errno)};
  if (!S_ISREG(st.st_mode)) return {ReadOutcome::Kind::NotAFile, "", ""};
  if (static_cast<std::uint64_t>(st.st_size) > kMaxCacheFileBytes) return {ReadOutcome::Kind::TooLarge, "", ""};

  std::string text;
  text.reserve(static_cast<std::size_t>(st.st_size));
  char buffer[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return {ReadOutcome::Kind::Unreadable, "", describe(errno)};
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
    if (text.size() > kMaxCacheFileBytes) return {ReadOutcome::Kind::TooLarge, "", ""};   // it grew
  }
  return {ReadOutcome::Kind::Read, std::move(text), ""};
}

// Renames the file aside; returns the sentence's end for the warning.
std::string rename_aside(const std::string& path) {
  std::string name = aside_name(path);
  if (::rename(path.c_str(), name.c_str()) != 0) {
    return "it could not be set aside as " + name + " (" + describe(errno) + ") and stays in place";
  }
  return "it is set aside as " + name;
}

// Gives the file as it is a second name, so that `path` can then be replaced atomically.
std::string link_aside(const std::string& path) {
  std::string name = aside_name(path);
  if (::link(path.c_str(), name.c_str()) == 0) return "the file as it was is kept as " + name;
  if (::rename(path.c_str(), name.c_str()) == 0) return "the file as it was is set aside as " + name;   // no links here
  return "the file could not be kept as " + name + " (" + describe(errno) + ")";
}

bool write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    text.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

constexpr std::size_t kMaxProblemsLogged = 20;   // a file of a million bad entries is one warning, not a million

}  // namespace

LoadedCache load_cache_file(const std::string& path) {
  LoadedCache out;
  const std::string file = "MTA-STS cache " + path;
  const std::string empty = "; starting without cached policies";
  ReadOutcome read = read_whole(path);
  switch (read.kind) {
    case ReadOutcome::Kind::Missing:
      return out;
    case ReadOutcome::Kind::NotAFile:
      out.warnings.push_back(file + " is not a regular file; it is left alone" + empty);
      return out;
    case ReadOutcome::Kind::Unreadable:
      out.warnings.push_back(file + " cannot be read (" + read.error + "); " + rename_aside(path) + empty);
      return out;
    case ReadOutcome::Kind::TooLarge:
      out.warnings.push_back(file + " is not a cache: it is larger than 64 MiB; " + rename_aside(path) + empty);
      return out;
    case ReadOutcome::Kind::Read:
      break;
  }

  auto parsed = parse_cache(read.text);
  if (auto* error = std::get_if<std::string>(&parsed)) {
    out.warnings.push_back(file + " is not a cache: it " + *error + "; " + rename_aside(path) + empty);
    return out;
  }
  ParsedCache& cache = std::get<ParsedCache>(parsed);
  out.entries = std::move(cache.entries);
  if (cache.problems.empty()) return out;

  for (std::size_t i = 0; i < cache.problems.size() && i < kMaxProblemsLogged; ++i) {
    out.warnings.push_back(file + ": " + cache.problems[i] + "; the entry is left out");
  }
  if (cache.problems.size() > kMaxProblemsLogged) {
    out.warnings.push_back(file + ": " + std::to_string(cache.problems.size() - kMaxProblemsLogged) +
                           " more entries are left out");
  }
  std::string kept = std::to_string(out.entries.size()) + " of " +
                     std::to_string(out.entries.size() + cache.problems.size()) + " entries are kept";
  std::string aside = link_aside(path);
  // Written back at once: until then a restart would read the bad entries again (or, after a rename
  // aside, no file at all).
  std::string error = write_cache_file(path, serialize_cache(out.entries));
  out.warnings.push_back(file + ": " + kept + "; " + aside +
                         (error.empty() ? "; the kept entries are written back" : "; " + error));
  return out;
}

std::string write_cache_file(const std::string& path, std::string_view text) {
  const std::string failed = "cannot write MTA-STS cache " + path + ": ";
  std::string temp;
  int raw = -1;
  for (int n = 0; n < 100 && raw < 0; ++n) {
    // A temporary file left by a crash is never opened again, whatever it holds: O_EXCL takes another name.
    temp = path + ".tmp-" + std::to_string(::getpid()) + (n == 0 ? "" : "-" + std::to_string(n));
    raw = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0600);
    if (raw < 0 && errno != EEXIST) break;
  }
  if (raw < 0) return failed + "cannot create " + temp + ": " + describe(errno);
  Fd fd(raw);
  auto give_up = [&](const char* step) {
    int err = errno;
    if (fd.get() >= 0) ::close(fd.release());
    ::unlink(temp.c_str());
    return failed + step + " " + temp + ": " + describe(err);
  };
  if (!write_all(fd.get(), text)) return give_up("cannot write");
  if (::fsync(fd.get()) != 0) return give_up("cannot fsync");
  if (::close(fd.release()) != 0) return give_up("cannot close");   // NFS reports write errors here
  if (::rename(temp.c_str(), path.c_str()) != 0) return give_up("cannot rename");

  // The rename is durable only once the directory is: a crash now could otherwise bring back the old file.
  const std::string directory = directory_of(path);
  Fd dir(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0) return failed + "written, but cannot open directory " + directory + " to fsync it: " + describe(errno);
  // EINVAL: the filesystem does not sync directories; there is nothing more to do.
  if (::fsync(dir.get()) != 0 && errno != EINVAL) {
    return failed + "written, but cannot fsync directory " + directory + ": " + describe(errno);
  }
  return "";
}

}  // namespace mxguard::mta_sts

#include "proxy/audit/audit_log.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>

namespace mxguard::audit {

std::string rfc3339_now() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms));
  return buf;
}

Event::Event(EventKind event, Direction direction, std::string_view session, std::string_view peer) {
  json_["ts"] = rfc3339_now();
  json_["event"] = to_string(event);
  json_["direction"] = to_string(direction);
  json_["session"] = session;
  json_["peer"] = peer;
}

Event& Event::set(std::string_view key, std::string_view value) {
  json_[std::string(key)] = value;
  return *this;
}

Event& Event::set(std::string_view key, bool value) {
  json_[std::string(key)] = value;
  return *this;
}

Event& Event::set(std::string_view key, std::int64_t value) {
  json_[std::string(key)] = value;
  return *this;
}

Event& Event::set(std::string_view key, const std::vector<std::string>& values) {
  json_[std::string(key)] = values;
  return *this;
}

namespace {
int open_append(const std::string& path) {
  return ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}
}  // namespace

std::variant<std::unique_ptr<Log>, std::string> Log::open(const std::string& path) {
  if (path.empty()) return std::unique_ptr<Log>(new Log(path, -1));
  int fd = open_append(path);
  if (fd < 0) return "cannot open audit log " + path + ": " + std::strerror(errno);
  return std::unique_ptr<Log>(new Log(path, fd));
}

Log::~Log() {
  if (fd_ >= 0) ::close(fd_);
}

namespace {
thread_local Log::ThreadBatch* t_batch = nullptr;
// Each event is one line (its JSON holds no raw newline), so lines count events: counted only when some
// are lost, never on the way to a successful write.
std::size_t lines_in(std::string_view text) {
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}
constexpr std::size_t kBatchBytes = 64 * 1024;
}  // namespace

Log::ThreadBatch::ThreadBatch(Log& log) : log_(log), outer_(t_batch) { t_batch = this; }

Log::ThreadBatch::~ThreadBatch() {
  flush();
  t_batch = outer_;
}

void Log::ThreadBatch::flush() {
  if (lines_.empty()) return;
  log_.write_lines(lines_);
  lines_.clear();
  if (lines_.capacity() > kBatchBytes) lines_.shrink_to_fit();
}

void Log::write(const Event& event) {
  if (path_.empty()) return;
  // Replace invalid UTF-8 (peer-supplied names) rather than throw from the data path.
  std::string line = event.json().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  line.push_back('\n');
  if (ThreadBatch* batch = t_batch; batch && &batch->log_ == this) {
    batch->lines_ += line;
    if (batch->lines_.size() >= kBatchBytes) batch->flush();
    return;
  }
  write_lines(line);
}

void Log::write_lines(std::string_view lines) {
  std::lock_guard lock(mutex_);
  reopen_if_unlinked();
  std::size_t lost = append_locked(lines);
  if (lost == 0) {
    if (failing_) {
      spdlog::warn("audit log {} is writable again; {} event(s) were lost", path_, lost_in_streak_);
      failing_ = false;
      lost_in_streak_ = 0;
    }
    return;
  }
  write_errors_.fetch_add(lost, std::memory_order_relaxed);
  lost_in_streak_ += lost;
  if (!failing_) {
    // Once per streak: a full disk must neither stop mail nor flood the process log.
    spdlog::error("audit log {}: write failed: {}; events are lost until it is writable again", path_,
                  std::strerror(errno));
    failing_ = true;
  }
}

std::size_t Log::append_locked(std::string_view lines) {
  if (fd_ < 0) {
    errno = EBADF;
    return lines_in(lines);
  }
  std::string ended;   // after a fragment that could not be taken back: end it first, so that it stays a
                       // bad line of its own instead of swallowing this event
  if (torn_) ended = "\n" + std::string(lines);
  const std::string_view text = torn_ ? std::string_view(ended) : lines;
  const std::size_t lead = torn_ ? 1 : 0;   // the newline that ends the fragment is not an event
  std::size_t written = 0;
  while (written < text.size()) {
    ssize_t n = ::write(fd_, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int error = n == 0 ? ENOSPC : errno;
      // A full disk takes what fits in the file's last block and refuses the rest. The lines that went in
      // whole stay; left there, the half line after them would run into the next event, and both would be
      // lost to every reader.
      std::string_view done = text.substr(0, written);
      std::size_t last_end = done.rfind('\n');
      std::size_t whole_end = last_end == std::string_view::npos ? 0 : last_end + 1;
      std::size_t whole = lines_in(done);   // the lines ended within what was written
      whole = whole > lead ? whole - lead : 0;
      if (whole_end > 0) torn_ = false;   // the fragment before this write is ended
      if (written > whole_end) take_back(done.substr(whole_end));
      errno = error;
      std::size_t count = lines_in(lines);
      return count - std::min(whole, count);
    }
    written += static_cast<std::size_t>(n);
  }
  torn_ = false;
  return 0;
}

void Log::take_back(std::string_view fragment) {
  // An O_APPEND write leaves the descriptor's offset where its bytes ended. Appends are serialized by
  // mutex_, so that is the file's end, unless another process appends to the same file (a successor
  // during a restart): then the fragment is left in place and ended by the next line.
  struct stat st {};
  const auto size = static_cast<off_t>(fragment.size());
  const off_t end = ::lseek(fd_, 0, SEEK_CUR);
  if (end >= size && ::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == end &&
      ::ftruncate(fd_, end - size) == 0) {
    return;
  }
  torn_ = true;
}

void Log::reopen_if_unlinked() {
  // A file deleted (or moved away by a logrotate without postrotate) would swallow every event until the
  // next SIGHUP. One fstat per event (an event is written about once per session) is the price of never
  // losing the events of the seconds after an operator's `rm`.
  struct stat st {};
  if (fd_ >= 0 && ::fstat(fd_, &st) == 0 && st.st_nlink > 0) return;
  int fd = open_append(path_);
  if (fd < 0) return;   // the write that follows fails and says why
  if (fd_ >= 0) {
    ::close(fd_);
    spdlog::warn("audit log {} was deleted; created it again", path_);
  }
  fd_ = fd;
}

std::string Log::reopen() {
  if (path_.empty()) return {};
  int fd = open_append(path_);
  if (fd < 0) return "cannot reopen audit log " + path_ + ": " + std::strerror(errno);
  std::lock_guard lock(mutex_);
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  return {};
}

}  // namespace mxguard::audit

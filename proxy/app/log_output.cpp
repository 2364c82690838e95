#include "proxy/app/log_output.h"

#include <spdlog/pattern_formatter.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <mutex>
#include <string>
#include <string_view>

namespace mxguard::app {
namespace {

// Flushed early past this, so that a burst of lines still leaves in writes of at most PIPE_BUF.
constexpr std::size_t kBatchBytes = PIPE_BUF - 512;

void write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;   // nowhere to log to (stderr closed, EPIPE): nothing better can be done
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

// Whole lines, at most PIPE_BUF bytes per write (a longer line alone).
void write_lines(int fd, std::string_view text) {
  while (!text.empty()) {
    std::size_t cut = text.size();
    if (cut > PIPE_BUF) {
      std::size_t last = text.rfind('\n', PIPE_BUF - 1);
      cut = last == std::string_view::npos ? text.find('\n') : last + 1;
      if (cut == std::string_view::npos) cut = text.size();
    }
    write_all(fd, text.substr(0, cut));
    text.remove_prefix(cut);
  }
}

class Output;

// What one thread gathers. The formatter is the thread's own copy: spdlog's pattern formatter caches the
// formatted time and is not safe to share without the lock this sink exists to avoid.
struct ThreadLines {
  const Output* owner = nullptr;
  unsigned generation = 0;
  std::unique_ptr<spdlog::formatter> formatter;
  std::string pending;
  int fd = -1;
  int batches = 0;   // LoopLogBatch objects alive on this thread
};
thread_local ThreadLines t_lines;

void flush_thread() {
  if (t_lines.pending.empty()) return;
  write_lines(t_lines.fd, t_lines.pending);
  t_lines.pending.clear();
  if (t_lines.pending.capacity() > 2 * PIPE_BUF) t_lines.pending.shrink_to_fit();
}

class Output final : public spdlog::sinks::sink {
 public:
  explicit Output(int fd) : fd_(fd), formatter_(std::make_unique<spdlog::pattern_formatter>()) {}

  void log(const spdlog::details::log_msg& msg) override {
    ThreadLines& t = t_lines;
    unsigned generation = generation_.load(std::memory_order_acquire);
    if (t.owner != this || t.generation != generation || !t.formatter) {
      if (t.owner && t.owner != this) flush_thread();
      std::lock_guard lock(formatter_mutex_);   // only when the pattern changed or on a thread's first line
      t.formatter = formatter_->clone();
      t.owner = this;
      t.generation = generation;
      t.fd = fd_;
    }
    spdlog::memory_buf_t line;
    t.formatter->format(msg, line);
    t.pending.append(line.data(), line.size());
    if (t.batches == 0 || msg.level >= spdlog::level::err || t.pending.size() >= kBatchBytes) flush_thread();
  }

  // The logger calls this after every line (flush_on): a batching thread's lines wait for its loop.
  void flush() override {
    if (t_lines.batches == 0) flush_thread();
  }

  void set_pattern(const std::string& pattern) override {
    set_formatter(std::make_unique<spdlog::pattern_formatter>(pattern));
  }

  void set_formatter(std::unique_ptr<spdlog::formatter> formatter) override {
    std::lock_guard lock(formatter_mutex_);
    formatter_ = std::move(formatter);
    generation_.fetch_add(1, std::memory_order_release);
  }

 private:
  int fd_;
  std::mutex formatter_mutex_;
  std::unique_ptr<spdlog::formatter> formatter_;
  std::atomic<unsigned> generation_{1};
};

}  // namespace

std::shared_ptr<spdlog::sinks::sink> make_log_output(int fd) { return std::make_shared<Output>(fd); }

LoopLogBatch::LoopLogBatch(uv_loop_t* loop) : before_poll_(loop, [] { flush_thread(); }) { ++t_lines.batches; }

LoopLogBatch::~LoopLogBatch() { close(); }

void LoopLogBatch::close() {
  if (closed_) return;
  closed_ = true;
  --t_lines.batches;
  flush_thread();
  before_poll_.close();
}

}  // namespace mxguard::app

#pragma once
// The audit log: one JSON object per line for every TLS decision (design.md, "Audit log and metrics").
// Shared by all workers; every write(2) is whole lines on an O_APPEND descriptor, so lines never
// interleave. A worker gathers its events in a ThreadBatch and writes them once per loop iteration (before
// its loop polls): an inbound STARTTLS session writes one event, and under load one lock, one fstat and one
// write then serve many sessions instead of one each.
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "proxy/audit/events.h"

namespace mxguard::audit {

// Builds one event. The fixed fields of design.md come first; set() adds the ones that apply
// (domain, mx, policy, policy_source, tls_version, cipher, verdict, reason, ...).
class Event {
 public:
  Event(EventKind event, Direction direction, std::string_view session, std::string_view peer);
  Event& verdict(Verdict v) { return set("verdict", to_string(v)); }
  Event& reason(std::string_view r) { return set("reason", r); }
  Event& set(std::string_view key, std::string_view value);
  // A string literal would otherwise take the bool overload (a standard conversion beats string_view's).
  Event& set(std::string_view key, const char* value) { return set(key, std::string_view(value)); }
  Event& set(std::string_view key, const std::string& value) { return set(key, std::string_view(value)); }
  Event& set(std::string_view key, bool value);
  Event& set(std::string_view key, std::int64_t value);
  // A JSON array of strings (an MTA-STS policy's lines, a DANE decision's TLSA records: TLS-RPT's policy-string).
  Event& set(std::string_view key, const std::vector<std::string>& values);
  const nlohmann::ordered_json& json() const { return json_; }

 private:
  nlohmann::ordered_json json_;
};

class Log {
 public:
  // Opens (creating) the file for appending; "" gives a log that drops events. Error: a message naming it.
  static std::variant<std::unique_ptr<Log>, std::string> open(const std::string& path);
  ~Log();

  // Never blocks mail: a failed write is reported in the process log once per failure streak and
  // counted (write_errors()); the event is lost, the session goes on.
  void write(const Event& event);
  std::uint64_t write_errors() const { return write_errors_.load(std::memory_order_relaxed); }

  // While one exists on a thread, that thread's events for `log` wait in it until flush() (which its owner
  // calls before the thread's loop polls, and the destructor calls last). At most 64 KiB wait: past that,
  // write() flushes at once. Create, use and destroy it on one thread.
  class ThreadBatch {
   public:
    explicit ThreadBatch(Log& log);
    ~ThreadBatch();
    ThreadBatch(const ThreadBatch&) = delete;
    ThreadBatch& operator=(const ThreadBatch&) = delete;
    void flush();

   private:
    friend class Log;
    Log& log_;
    std::string lines_;   // whole lines, one per event
    ThreadBatch* outer_;   // the thread's batch before this one (normally none)
  };
  // Reopens the same path (after logrotate moved the file away). Keeps the old file on failure.
  std::string reopen();
  const std::string& path() const { return path_; }

 private:
  explicit Log(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  void write_lines(std::string_view lines);   // whole lines; takes mutex_; reports failures
  // With mutex_ held: how many of the lines (events) in `lines` were lost (0: all written). A write that
  // fails part-way keeps the lines that were whole and leaves no half line.
  std::size_t append_locked(std::string_view lines);
  void take_back(std::string_view fragment);  // with mutex_ held: the start of a line that did not fit
  void reopen_if_unlinked();                  // with mutex_ held

  std::mutex mutex_;   // guards fd_ against reopen(); writes themselves are atomic appends
  int fd_ = -1;
  bool failing_ = false;                      // inside a failure streak (with mutex_ held)
  bool torn_ = false;                         // the file ends in a fragment that could not be taken back
  std::uint64_t lost_in_streak_ = 0;
  std::atomic<std::uint64_t> write_errors_{0};
};

// RFC 3339 UTC with milliseconds: "2026-11-23T12:34:56.789Z".
std::string rfc3339_now();

}  // namespace mxguard::audit

#pragma once
// The audit log: one JSON object per line for every TLS decision (design.md, "Audit log and metrics").
// Shared by all workers; each event is one write(2) on an O_APPEND descriptor, so lines never interleave.
#include <nlohmann/json.hpp>

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <variant>

namespace mxguard::audit {

// Builds one event. The fixed fields of design.md come first; set() adds the ones that apply
// (domain, mx, policy, policy_source, tls_version, cipher, verdict, reason, ...).
class Event {
 public:
  Event(std::string_view event, std::string_view direction, std::string_view session, std::string_view peer);
  Event& set(std::string_view key, std::string_view value);
  Event& set(std::string_view key, std::int64_t value);
  const nlohmann::ordered_json& json() const { return json_; }

 private:
  nlohmann::ordered_json json_;
};

class Log {
 public:
  // Opens (creating) the file for appending; "" gives a log that drops events. Error: a message naming it.
  static std::variant<std::unique_ptr<Log>, std::string> open(const std::string& path);
  ~Log();

  void write(const Event& event);
  // Reopens the same path (after logrotate moved the file away). Keeps the old file on failure.
  std::string reopen();
  const std::string& path() const { return path_; }

 private:
  explicit Log(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  std::mutex mutex_;   // guards fd_ against reopen(); writes themselves are atomic appends
  int fd_ = -1;
};

// RFC 3339 UTC with milliseconds: "2026-11-23T12:34:56.789Z".
std::string rfc3339_now();

}  // namespace mxguard::audit

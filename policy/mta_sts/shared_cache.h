#pragma once
// The one MTA-STS cache of a running mxguard, shared by every worker loop, and its file on disk.
//
// Why shared and locked rather than per loop: a policy learned by one worker protects mail sent by all
// of them, and "each domain fetched at most once at a time" holds across workers only if they see each
// other's fetches. It is read once per outbound transaction (at its first RCPT), never by inbound
// sessions, so one mutex costs nothing measurable; the lock is never held across I/O.
//
// Persistence: every change marks the cache dirty and wakes one writer thread, which serializes a
// snapshot under the lock and writes it atomically outside it (cache_file.h). Mail never waits for the
// disk; a failed write is reported once per failure streak, counted, and retried every minute, at the
// next change, and at reload() (SIGHUP: an operator who has freed the disk need not wait the minute).
// Until a write succeeds the file is older than the cache: reload() keeps what changed since, so a
// SIGHUP (logrotate sends one every night) never drops a policy the full disk kept from the file.
// The destructor writes what is still dirty, so a clean shutdown loses nothing.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "policy/mta_sts/cache.h"

namespace mxguard::mta_sts {

class SharedCache {
 public:
  using LogFn = std::function<void(const std::string& line)>;   // warnings for the process log; thread-safe

  // `path` "" keeps the cache in memory only (tests, `mxguard policy`). Loads the file now.
  SharedCache(std::string path, Cache::Options options, LogFn warn);
  ~SharedCache();
  SharedCache(const SharedCache&) = delete;
  SharedCache& operator=(const SharedCache&) = delete;

  std::optional<CachedPolicy> in_force(const std::string& domain, Seconds now) const;
  Next after_discovery(const std::string& domain, const Discovery& found, Seconds now) const;
  std::vector<std::string> due_for_refresh(Seconds now) const;
  void store(CachedPolicy policy, std::chrono::seconds refresh_jitter);
  void fetch_failed(const std::string& domain, Seconds now);
  bool erase(const std::string& domain);
  std::vector<CachedPolicy> entries() const;
  std::size_t size() const;

  // Whether the TXT record of `domain` is due for another look (rate limit: at most once per `interval`
  // per domain while a policy is in force); marks it looked at when it is.
  bool take_txt_check(const std::string& domain, Seconds now, std::chrono::seconds interval);

  // At most one fetch per domain at a time across workers. claim() returns true when the caller is now
  // the one fetching; otherwise `on_done` is kept and runs (through whatever the waiter's `on_done`
  // does to get back to its own loop) when the fetch that holds the claim releases it.
  bool claim(const std::string& domain, std::function<void()> on_done);
  void release(const std::string& domain);

  // Replaces the cache with the file's content (SIGHUP, after `mxguard mta-sts purge` edited it), but for
  // the domains changed since the file was last written, which stay as they are here; those are then
  // written again at once.
  void reload();

  std::uint64_t write_errors() const;
  const std::string& path() const { return path_; }

 private:
  void mark_dirty(std::string_view domain = {});   // with mutex_ held; `domain`: the one that changed
  void writer_loop();

  std::string path_;
  LogFn warn_;
  mutable std::mutex mutex_;
  Cache cache_;
  std::map<std::string, Seconds> txt_checked_;
  std::map<std::string, std::vector<std::function<void()>>> claims_;   // domain -> waiters
  Cache::Options options_;
  // Domains stored or erased since the file last took them, each with the generation of its change.
  std::map<std::string, std::uint64_t> unsaved_;
  std::uint64_t generation_ = 0;   // changes so far
  std::uint64_t written_ = 0;      // the generation last written (or attempted)
  std::uint64_t write_errors_ = 0;
  bool failing_ = false;
  bool stopping_ = false;
  std::condition_variable wake_;
  std::thread writer_;
};

}  // namespace mxguard::mta_sts

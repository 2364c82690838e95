#include "policy/mta_sts/shared_cache.h"

#include "policy/mta_sts/cache_file.h"

namespace mxguard::mta_sts {

SharedCache::SharedCache(std::string path, Cache::Options options, LogFn warn)
    : path_(std::move(path)), warn_(std::move(warn)), cache_(options), options_(options) {
  if (!path_.empty()) {
    LoadedCache loaded = load_cache_file(path_);
    for (const std::string& w : loaded.warnings) warn_(w);
    for (CachedPolicy& p : loaded.entries) cache_.store(std::move(p));
    written_ = generation_;
    writer_ = std::thread([this] { writer_loop(); });
  }
}

SharedCache::~SharedCache() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (writer_.joinable()) writer_.join();
}

std::optional<CachedPolicy> SharedCache::in_force(const std::string& domain, Seconds now) const {
  std::lock_guard lock(mutex_);
  const CachedPolicy* p = cache_.in_force(domain, now);
  return p ? std::optional<CachedPolicy>(*p) : std::nullopt;
}

Next SharedCache::after_discovery(const std::string& domain, const Discovery& found, Seconds now) const {
  std::lock_guard lock(mutex_);
  return cache_.after_discovery(domain, found, now);
}

std::vector<std::string> SharedCache::due_for_refresh(Seconds now) const {
  std::lock_guard lock(mutex_);
  return cache_.due_for_refresh(now);
}

void SharedCache::store(CachedPolicy policy, std::chrono::seconds refresh_jitter) {
  std::lock_guard lock(mutex_);
  std::string domain = Cache::key(policy.domain);
  cache_.store(std::move(policy), refresh_jitter);
  mark_dirty(domain);
}

void SharedCache::fetch_failed(const std::string& domain, Seconds now) {
  std::lock_guard lock(mutex_);
  cache_.fetch_failed(domain, now);   // in memory only: a restart may try again at once
}

bool SharedCache::erase(const std::string& domain) {
  std::lock_guard lock(mutex_);
  txt_checked_.erase(domain);
  if (!cache_.erase(domain)) return false;
  mark_dirty(Cache::key(domain));
  return true;
}

std::vector<CachedPolicy> SharedCache::entries() const {
  std::lock_guard lock(mutex_);
  return cache_.entries();
}

std::size_t SharedCache::size() const {
  std::lock_guard lock(mutex_);
  return cache_.size();
}

bool SharedCache::take_txt_check(const std::string& domain, Seconds now, std::chrono::seconds interval) {
  std::lock_guard lock(mutex_);
  auto [it, fresh] = txt_checked_.try_emplace(domain, now);
  if (fresh) return true;
  // A clock that stepped back makes the last check look like the future: look again rather than never.
  if (now >= it->second + interval || now < it->second) {
    it->second = now;
    return true;
  }
  return false;
}

bool SharedCache::claim(const std::string& domain, std::function<void()> on_done) {
  std::lock_guard lock(mutex_);
  auto [it, fresh] = claims_.try_emplace(domain);
  if (fresh) return true;
  if (on_done) it->second.push_back(std::move(on_done));
  return false;
}

void SharedCache::release(const std::string& domain) {
  std::vector<std::function<void()>> waiters;
  {
    std::lock_guard lock(mutex_);
    auto it = claims_.find(domain);
    if (it == claims_.end()) return;
    waiters = std::move(it->second);
    claims_.erase(it);
  }
  for (auto& w : waiters) w();   // outside the lock: a waiter may claim again
}

void SharedCache::reload() {
  if (path_.empty()) return;
  LoadedCache loaded = load_cache_file(path_);
  for (const std::string& w : loaded.warnings) warn_(w);
  std::lock_guard lock(mutex_);
  Cache fresh(options_);
  for (CachedPolicy& p : loaded.entries) fresh.store(std::move(p));
  if (!unsaved_.empty()) {
    // The file is older than these (their write failed, or is under way): memory knows better.
    std::map<std::string, CachedPolicy> current;
    for (CachedPolicy& p : cache_.entries()) current.emplace(p.domain, std::move(p));
    for (const auto& [domain, generation] : unsaved_) {
      auto it = current.find(domain);
      if (it != current.end()) {
        fresh.store(it->second);
      } else {
        fresh.erase(domain);
      }
    }
  }
  cache_ = std::move(fresh);
  txt_checked_.clear();
  // A reload that set a corrupt file aside writes the good entries back; one that kept unsaved changes
  // tries to save them now rather than at the next minute's retry.
  if (!loaded.warnings.empty() || !unsaved_.empty()) mark_dirty();
}

std::uint64_t SharedCache::write_errors() const {
  std::lock_guard lock(mutex_);
  return write_errors_;
}

void SharedCache::mark_dirty(std::string_view domain) {
  ++generation_;
  if (!domain.empty()) unsaved_[std::string(domain)] = generation_;
  if (!path_.empty()) wake_.notify_one();
}

void SharedCache::writer_loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    auto changed = [this] { return stopping_ || generation_ != written_; };
    // After a failed write, try again every minute even without a change: the disk may have room again.
    bool woke = true;
    if (failing_) woke = wake_.wait_for(lock, std::chrono::seconds(60), changed);
    else wake_.wait(lock, changed);
    if (woke && generation_ == written_) return;   // stopping with nothing left to write
    std::uint64_t generation = generation_;
    std::string text = serialize_cache(cache_.entries());
    lock.unlock();
    std::string error = write_cache_file(path_, text);
    lock.lock();
    written_ = generation;
    if (!error.empty()) {
      ++write_errors_;
      // Once per failure streak: a full disk must not fill the process log too.
      if (!failing_) warn_("MTA-STS cache not saved: " + error + " (policies stay in force in memory)");
      failing_ = true;
    } else {
      std::erase_if(unsaved_, [generation](const auto& change) { return change.second <= generation; });
      if (failing_) {
        failing_ = false;
        warn_("MTA-STS cache saved again to " + path_);
      }
    }
    if (stopping_ && generation_ == written_) return;
  }
}

}  // namespace mxguard::mta_sts

// SharedCache and its writer thread against a real file, with writes that fail part-way (RLIMIT_FSIZE:
// EFBIG; a full disk takes the same path with ENOSPC, tests/integration/test_mta_sts.py CacheOnAFullDisk):
// the failure is reported once per streak and counted, the old file stays as it was, a reload (SIGHUP)
// keeps what the file does not have yet and saves it at once, and a purge made in the file still counts.
#include "policy/mta_sts/shared_cache.h"

#include <sys/resource.h>

#include <csignal>
#include <mutex>
#include <thread>

#include "policy/mta_sts/cache_file.h"
#include "policy/mta_sts/tests/cache_test_support.h"
#include "policy/testing/file_size_limit.h"

namespace mxguard::mta_sts {
namespace {

using mxguard::testing::FileSizeLimit;

using namespace std::chrono_literals;
using testing::cached;
using testing::enforce_body;
using testing::read_bytes;
using testing::TempDir;

const Seconds kNow{std::chrono::seconds{1'800'000'000}};

CachedPolicy policy_for(const std::string& domain) {
  return cached(domain, "20270101", kNow.time_since_epoch().count(), enforce_body("mx." + domain));
}

// The warnings the cache logs, from whichever thread.
class Warnings {
 public:
  SharedCache::LogFn fn() {
    return [this](const std::string& line) {
      std::lock_guard lock(mutex_);
      lines_.push_back(line);
    };
  }
  std::vector<std::string> containing(const std::string& words) const {
    std::lock_guard lock(mutex_);
    std::vector<std::string> out;
    for (const auto& l : lines_) {
      if (l.find(words) != std::string::npos) out.push_back(l);
    }
    return out;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> lines_;
};

// Polls `done` (the writer thread works on its own) for up to 10 s.
bool eventually(const std::function<bool()>& done) {
  for (int i = 0; i < 1000; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return done();
}

std::vector<std::string> domains_in(const std::string& path) {
  std::vector<std::string> out;
  for (const CachedPolicy& p : load_cache_file(path).entries) out.push_back(p.domain);
  return out;
}

TEST(SharedCacheFile, AFailedWriteIsSaidOnceAReloadKeepsTheUnsavedPolicyAndSavesItOnceThereIsRoom) {
  TempDir dir;
  const std::string path = dir.file("mta-sts.cache");
  Warnings warnings;
  SharedCache cache(path, {}, warnings.fn());
  cache.store(policy_for("saved.test"), 0s);
  ASSERT_TRUE(eventually([&] { return domains_in(path) == std::vector<std::string>{"saved.test"}; }));
  const std::string old_file = read_bytes(path);

  FileSizeLimit full(old_file.size());   // the new file, one policy longer, does not fit
  ASSERT_TRUE(full.ok());
  cache.store(policy_for("unsaved.test"), 0s);
  ASSERT_TRUE(eventually([&] { return cache.write_errors() == 1; }));
  auto said = warnings.containing("MTA-STS cache not saved");
  ASSERT_EQ(said.size(), 1u);
  EXPECT_NE(said[0].find(path), std::string::npos) << said[0];
  EXPECT_NE(said[0].find("File too large"), std::string::npos) << said[0];
  EXPECT_EQ(read_bytes(path), old_file);
  EXPECT_EQ(dir.names(), std::vector<std::string>{"mta-sts.cache"}) << "a temporary file was left";

  // SIGHUP (logrotate's, say) while the disk is still full: the policy the file lacks stays in force, and
  // the write is tried again at once (it fails again, within the same streak: no second warning).
  cache.reload();
  EXPECT_TRUE(cache.in_force("unsaved.test", kNow));
  EXPECT_TRUE(cache.in_force("saved.test", kNow));
  ASSERT_TRUE(eventually([&] { return cache.write_errors() == 2; }));
  EXPECT_EQ(warnings.containing("MTA-STS cache not saved").size(), 1u);
  EXPECT_EQ(read_bytes(path), old_file);

  full.lift();   // room again; the next SIGHUP saves without waiting for the minute's retry
  cache.reload();
  ASSERT_TRUE(eventually([&] { return domains_in(path) == std::vector<std::string>{"saved.test", "unsaved.test"}; }));
  EXPECT_TRUE(eventually([&] { return warnings.containing("MTA-STS cache saved again to " + path).size() == 1; }));
  EXPECT_EQ(cache.write_errors(), 2u);
}

TEST(SharedCacheFile, AReloadTakesAPurgeMadeInTheFileForPoliciesTheFileHad) {
  TempDir dir;
  const std::string path = dir.file("mta-sts.cache");
  Warnings warnings;
  SharedCache cache(path, {}, warnings.fn());
  cache.store(policy_for("purged.test"), 0s);
  cache.store(policy_for("kept.test"), 0s);
  ASSERT_TRUE(eventually([&] { return domains_in(path).size() == 2; }));
  // What `mxguard mta-sts purge purged.test` does to the file, then SIGHUP.
  ASSERT_EQ(write_cache_file(path, serialize_cache({policy_for("kept.test")})), "");
  cache.reload();
  EXPECT_FALSE(cache.in_force("purged.test", kNow));
  EXPECT_TRUE(cache.in_force("kept.test", kNow));
  EXPECT_EQ(cache.write_errors(), 0u);
}

}  // namespace
}  // namespace mxguard::mta_sts

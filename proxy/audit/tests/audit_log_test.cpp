// audit::Log, the writer: a write that fails part-way (RLIMIT_FSIZE here, EFBIG; a full disk takes the
// same path with ENOSPC: test_logging_gaps.py AuditLogOnAFullDisk) leaves no half line, is counted, and the
// next event that fits is a whole line again.
#include "proxy/audit/audit_log.h"
#include "policy/testing/file_size_limit.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace mxguard::audit {
namespace {

using mxguard::testing::FileSizeLimit;

class TempDir {
 public:
  TempDir() {
    char name[] = "/tmp/mxguard-audit-log-test-XXXXXX";
    path_ = ::mkdtemp(name) ? name : "";
  }
  ~TempDir() {
    if (!path_.empty()) std::filesystem::remove_all(path_);
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

Event event(const std::string& session) {
  Event e(EventKind::Starttls, Direction::Inbound, session, "192.0.2.1:25");
  e.verdict(Verdict::Skipped);
  return e;
}

TEST(AuditLog, AWriteThatFailsHalfWayLeavesNoHalfLineAndTheNextEventIsWhole) {
  TempDir dir;
  const std::string path = dir.file("audit.jsonl");
  auto opened = Log::open(path);
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<Log>>(opened)) << std::get<std::string>(opened);
  Log& log = *std::get<std::unique_ptr<Log>>(opened);

  log.write(event("first"));
  const std::string first = read_all(path);
  ASSERT_FALSE(first.empty());
  ASSERT_EQ(first.back(), '\n');
  {
    FileSizeLimit limit(first.size() + 10);   // 10 bytes of the next line fit, the rest does not
    ASSERT_TRUE(limit.ok());
    log.write(event("second"));
  }
  EXPECT_EQ(log.write_errors(), 1u);
  EXPECT_EQ(read_all(path), first) << "the part of the line that fitted stayed in the file";

  const Event third = event("third");
  log.write(third);
  const std::string all = read_all(path);
  ASSERT_EQ(all.substr(0, first.size()), first);
  EXPECT_EQ(all.substr(first.size()), third.json().dump() + "\n")
      << "the event after the failure is not a line of its own: " << all;
  EXPECT_EQ(log.write_errors(), 1u);
}

TEST(AuditLog, EveryEventLostInAStreakIsCounted) {
  TempDir dir;
  const std::string path = dir.file("audit.jsonl");
  auto opened = Log::open(path);
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<Log>>(opened));
  Log& log = *std::get<std::unique_ptr<Log>>(opened);
  {
    FileSizeLimit limit(0);   // nothing fits: every write fails at once
    ASSERT_TRUE(limit.ok());
    for (int i = 0; i < 3; ++i) log.write(event("lost"));
  }
  EXPECT_EQ(log.write_errors(), 3u);
  EXPECT_EQ(read_all(path), "");
  const Event kept = event("kept");
  log.write(kept);
  EXPECT_EQ(read_all(path), kept.json().dump() + "\n");
}

}  // namespace
}  // namespace mxguard::audit

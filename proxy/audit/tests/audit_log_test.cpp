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
#include <thread>

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

// One audit file in a temporary directory, opened.
class AuditLogFile : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = Log::open(path);
    ASSERT_TRUE(std::holds_alternative<std::unique_ptr<Log>>(opened)) << std::get<std::string>(opened);
    owned_ = std::move(std::get<std::unique_ptr<Log>>(opened));
  }
  Log& log() { return *owned_; }

  TempDir dir;
  const std::string path = dir.file("audit.jsonl");

 private:
  std::unique_ptr<Log> owned_;
};
class AuditLog : public AuditLogFile {};
class AuditLogBatch : public AuditLogFile {};

TEST_F(AuditLog, AWriteThatFailsHalfWayLeavesNoHalfLineAndTheNextEventIsWhole) {

  log().write(event("first"));
  const std::string first = read_all(path);
  ASSERT_FALSE(first.empty());
  ASSERT_EQ(first.back(), '\n');
  {
    FileSizeLimit limit(first.size() + 10);   // 10 bytes of the next line fit, the rest does not
    ASSERT_TRUE(limit.ok());
    log().write(event("second"));
  }
  EXPECT_EQ(log().write_errors(), 1u);
  EXPECT_EQ(read_all(path), first) << "the part of the line that fitted stayed in the file";

  const Event third = event("third");
  log().write(third);
  const std::string all = read_all(path);
  ASSERT_EQ(all.substr(0, first.size()), first);
  EXPECT_EQ(all.substr(first.size()), third.json().dump() + "\n")
      << "the event after the failure is not a line of its own: " << all;
  EXPECT_EQ(log().write_errors(), 1u);
}

TEST_F(AuditLog, EveryEventLostInAStreakIsCounted) {
  {
    FileSizeLimit limit(0);   // nothing fits: every write fails at once
    ASSERT_TRUE(limit.ok());
    for (int i = 0; i < 3; ++i) log().write(event("lost"));
  }
  EXPECT_EQ(log().write_errors(), 3u);
  EXPECT_EQ(read_all(path), "");
  const Event kept = event("kept");
  log().write(kept);
  EXPECT_EQ(read_all(path), kept.json().dump() + "\n");
}

std::string line_of(const Event& e) { return e.json().dump() + "\n"; }

TEST_F(AuditLogBatch, AThreadsEventsWaitForFlushAndLeaveTogetherInOrder) {
  std::string expected;
  {
    Log::ThreadBatch batch(log());
    for (const char* s : {"a", "b", "c"}) {
      const Event e = event(s);   // once: its timestamp is part of the line
      log().write(e);
      expected += line_of(e);
    }
    EXPECT_EQ(read_all(path), "") << "nothing is written before the flush";
    // Another thread has no batch: its event is written at once, ahead of this thread's.
    const Event other_event = event("other");
    std::string other = line_of(other_event);
    std::thread([&] { log().write(other_event); }).join();
    EXPECT_EQ(read_all(path), other);
    expected = other + expected;
    batch.flush();
    EXPECT_EQ(read_all(path), expected);
    const Event d = event("d");
    log().write(d);
    expected += line_of(d);
  }
  EXPECT_EQ(read_all(path), expected) << "the batch's end writes what is left";
  const Event e = event("e");
  log().write(e);
  EXPECT_EQ(read_all(path), expected + line_of(e)) << "without a batch, at once again";
}

TEST_F(AuditLogBatch, ABatchPastItsSizeIsWrittenAtOnce) {
  Log::ThreadBatch batch(log());
  const Event x = event("x");
  const std::string one = line_of(x);
  std::size_t n = 64 * 1024 / one.size() + 2;
  for (std::size_t i = 0; i < n; ++i) log().write(x);
  std::string file = read_all(path);
  EXPECT_GE(file.size(), 64u * 1024) << "64 KiB at most wait";
  EXPECT_EQ(file.size() % one.size(), 0u) << "whole lines only";
  batch.flush();
  EXPECT_EQ(read_all(path).size(), n * one.size());
}

TEST_F(AuditLogBatch, ABatchThatFailsHalfWayKeepsItsWholeLinesAndCountsTheRestLost) {
  const Event second_event = event("second");
  const std::string second = line_of(second_event);
  {
    Log::ThreadBatch batch(log());
    log().write(second_event);
    log().write(event("third"));
    log().write(event("fourth"));
    FileSizeLimit limit(second.size() + 10);   // the first line and 10 bytes of the next fit
    ASSERT_TRUE(limit.ok());
    batch.flush();
  }
  EXPECT_EQ(read_all(path), second) << "the whole line stays, the half line after it is taken back";
  EXPECT_EQ(log().write_errors(), 2u);
  const Event fifth = event("fifth");
  log().write(fifth);
  EXPECT_EQ(read_all(path), second + line_of(fifth));
}

}  // namespace
}  // namespace mxguard::audit

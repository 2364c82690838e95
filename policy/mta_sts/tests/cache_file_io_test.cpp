// The cache file on disk: load_cache_file and write_cache_file in a private temporary directory.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "policy/mta_sts/cache_file.h"
#include "policy/mta_sts/tests/cache_test_support.h"
#include "policy/testing/file_size_limit.h"

namespace mxguard::mta_sts {
namespace {

using testing::cached;
using testing::enforce_body;
using testing::read_bytes;
using testing::TempDir;
using testing::write_bytes;
using Names = std::vector<std::string>;

std::vector<CachedPolicy> some_policies() {
  return {cached("a.example", "id1", 1700000000, enforce_body("mx.a.example")),
          cached("b.example", "id2", 1700000100, enforce_body("*.b.example", 604800))};
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The one name in `dir` that starts with "<file>.corrupt-", or "" (and a failure) when there is not one.
std::string the_corrupt_copy(const TempDir& dir, const std::string& file) {
  std::vector<std::string> found;
  for (const std::string& name : dir.names()) {
    if (name.starts_with(file + ".corrupt-")) found.push_back(name);
  }
  if (found.size() != 1) {
    ADD_FAILURE() << found.size() << " files named " << file << ".corrupt-*";
    return "";
  }
  return dir.file(found[0]);
}

// "<file>.corrupt-" and then YYYYmmddTHHMMSSZ.
bool has_a_utc_stamp(const std::string& path, const std::string& file) {
  std::string stamp = std::filesystem::path(path).filename().string().substr(file.size() + 9);
  if (stamp.size() != 16 || stamp[8] != 'T' || stamp[15] != 'Z') return false;
  for (std::size_t i : {0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14}) {
    if (stamp[i] < '0' || stamp[i] > '9') return false;
  }
  return true;
}

bool running_as_root() { return ::geteuid() == 0; }

TEST(CacheFileLoad, AMissingFileIsAnEmptyCacheWithoutWarning) {
  TempDir dir;
  LoadedCache loaded = load_cache_file(dir.file("mta-sts.cache"));
  EXPECT_TRUE(loaded.entries.empty());
  EXPECT_TRUE(loaded.warnings.empty());
  EXPECT_EQ(dir.names(), Names{});
}

TEST(CacheFileLoad, WhatWasWrittenIsLoaded) {
  TempDir dir;
  const std::string path = dir.file("mta-sts.cache");
  ASSERT_EQ(write_cache_file(path, serialize_cache(some_policies())), "");
  LoadedCache loaded = load_cache_file(path);
  EXPECT_EQ(loaded.entries, some_policies());
  EXPECT_TRUE(loaded.warnings.empty());
  EXPECT_EQ(dir.names(), Names{"mta-sts.cache"});
}

TEST(CacheFileLoad, ACorruptFileIsSetAsideWithItsBytesAndReported) {
  TempDir dir;
  const std::string path = dir.file("mta-sts.cache");
  const std::string garbage = "{\"format\": \"mxguard-mta-sts-cache\", \"version\": 1, \"entries\": [{\"dom";
  write_bytes(path, garbage);
  LoadedCache loaded = load_cache_file(path);
  EXPECT_TRUE(loaded.entries.empty());
  ASSERT_EQ(loaded.warnings.size(), 1u);
  const std::string& warning = loaded.warnings[0];
  EXPECT_TRUE(contains(warning, path)) << warning;
  EXPECT_TRUE(contains(warning, "is not JSON")) << warning;
  EXPECT_TRUE(contains(warning, "starting without cached policies")) << warning;

  EXPECT_FALSE(std::filesystem::exists(path));
  const std::string copy = the_corrupt_copy(dir, "mta-sts.cache");
  EXPECT_TRUE(has_a_utc_stamp(copy, "mta-sts.cache")) << copy;
  EXPECT_TRUE(contains(warning, copy)) << warning;
  EXPECT_EQ(read_bytes(copy), garbage);

  // The next start finds no file: an empty cache, quietly.
  LoadedCache again = load_cache_file(path);
  EXPECT_TRUE(again.entries.empty());
  EXPECT_TRUE(again.warnings.empty());
}

TEST(CacheFileLoad, AnotherFormatOrVersionIsSetAside) {
  TempDir dir;
  const std::string path = dir.file("mta-sts.cache");
  write_bytes(path, R"({"format": "mxguard-mta-sts-cache", "version": 2, "entries": []})");
  LoadedCache loaded = load_cache_file(path);
  ASSERT_EQ(loaded.warnings.size(), 1u);
  EXPECT_TRUE(contains(loaded.warnings[0], "has version 2, not 1")) << loaded.warnings[0];
  EXPECT_FALSE(std::filesystem::exists(path));
  the_corrupt_copy(dir, "mta-sts.cache");
}

TEST(CacheFileLoad, TwoCorruptFilesInOneSecondKeepBothCopies) {
  TempDir dir;
  const std::string path = dir.file("mta-sts.cache");
  write_bytes(path, "first");
  load_cache_file(path);
  write_bytes(path, "second");
  load_cache_file(path);
  Names names = dir.names();
  ASSERT_EQ(names.size(), 2u);
  std::vector<std::string> contents = {read_bytes(dir.file(names[0])), read_bytes(dir.file(names[1]))};
  std::sort(contents.begin(), contents.end());
  EXPECT_EQ(contents, (std::vector<std::string>{"first", "second"}));
}

TEST(CacheFileLoad, OneBadEntryIsLeftOutTheOthersKeptAndTheOldBytesKeptAside) {
  TempDir dir;
  const std::string path = dir.file("mta-sts.cache");
  std::vector<CachedPolicy> entries = some_policies();
  entries.push_back(cached("c.example", "bad id", 1700000000, enforce_body("mx.c.example")));
  const std::string before = serialize_cache(entries);
  write_bytes(path, before);

  LoadedCache loaded = load_cache_file(path);
  EXPECT_EQ(loaded.entries, some_policies());
  ASSERT_EQ(loaded.warnings.size(), 2u);
  EXPECT_TRUE(contains(loaded.warnings[0], path + ": entry 3 (c.example): id \"bad id\"")) << loaded.warnings[0];
  EXPECT_TRUE(contains(loaded.warnings[0], "the entry is left out")) << loaded.warnings[0];
  EXPECT_TRUE(contains(loaded.warnings[1], "2 of 3 entries are kept")) << loaded.warnings[1];

  // The file as it was is kept for the operator; the file itself now holds the good entries.
  const std::string copy = the_corrupt_copy(dir, "mta-sts.cache");
  EXPECT_TRUE(contains(loaded.warnings[1], copy)) << loaded.warnings[1];
  EXPECT_EQ(read_bytes(copy), before);
  LoadedCache again = load_cache_file(path);
  EXPECT_EQ(again.entries, some_policies());
  EXPECT_TRUE(again.warnings.empty());
}

TEST(CacheFileLoad, AFileOfManyBadEntriesIsAFewWarnings) {
  TempDir dir;
  const std::string path = dir.file("mta-sts.cache");
  std::vector<CachedPolicy> entries;
  for (int i = 0; i < 30; ++i) {
    entries.push_back(cached("d" + std::to_string(i) + ".example", "-", 1700000000, enforce_body("mx.example")));
  }
  write_bytes(path, serialize_cache(entries));
  LoadedCache loaded = load_cache_file(path);
  EXPECT_TRUE(loaded.entries.empty());
  ASSERT_EQ(loaded.warnings.size(), 22u);   // 20 entries, "10 more", the summary
  EXPECT_TRUE(contains(loaded.warnings[20], "10 more entries are left out")) << loaded.warnings[20];
  EXPECT_TRUE(contains(loaded.warnings[21], "0 of 30 entries are kept")) << loaded.warnings[21];
}

TEST(CacheFileLoad, AFileLargerThan64MiBIsSetAsideUnread) {
  TempDir dir;
  const std::string path = dir.file("mta-sts.cache");
  write_bytes(path, "{");
  std::filesystem::resize_file(path, kMaxCacheFileBytes + 1);   // sparse: nothing is really written
  LoadedCache loaded = load_cache_file(path);
  EXPECT_TRUE(loaded.entries.empty());
  ASSERT_EQ(loaded.warnings.size(), 1u);
  EXPECT_TRUE(contains(loaded.warnings[0], "larger than 64 MiB")) << loaded.warnings[0];
  EXPECT_FALSE(std::filesystem::exists(path));
  the_corrupt_copy(dir, "mta-sts.cache");
}

TEST(CacheFileLoad, AnUnreadableFileIsSetAside) {
  TempDir dir;
  const std::string path = dir.file("mta-sts.cache");
  // A symbolic link to itself cannot be opened (ELOOP), whoever runs the test.
  ASSERT_EQ(::symlink(path.c_str(), path.c_str()), 0);
  LoadedCache loaded = load_cache_file(path);
  EXPECT_TRUE(loaded.entries.empty());
  ASSERT_EQ(loaded.warnings.size(), 1u);
  EXPECT_TRUE(contains(loaded.warnings[0], path + " cannot be read (")) << loaded.warnings[0];
  EXPECT_TRUE(contains(loaded.warnings[0], "set aside as")) << loaded.warnings[0];
  EXPECT_FALSE(std::filesystem::is_symlink(path));
  the_corrupt_copy(dir, "mta-sts.cache");
}

TEST(CacheFileLoad, AFileWithoutReadPermissionIsSetAside) {
  if (running_as_root()) GTEST_SKIP() << "root reads a file of mode 0000";
  TempDir dir;
  const std::string path = dir.file("mta-sts.cache");
  write_bytes(path, serialize_cache(some_policies()));
  ASSERT_EQ(::chmod(path.c_str(), 0), 0);
  LoadedCache loaded = load_cache_file(path);
  ASSERT_EQ(loaded.warnings.size(), 1u);
  EXPECT_TRUE(contains(loaded.warnings[0], "cannot be read (Permission denied)")) << loaded.warnings[0];
  the_corrupt_copy(dir, "mta-sts.cache");
}

TEST(CacheFileLoad, APathThroughAFileIsReportedNotFatal) {
  TempDir dir;
  write_bytes(dir.file("plain"), "x");
  const std::string path = dir.file("plain") + "/mta-sts.cache";
  LoadedCache loaded = load_cache_file(path);
  EXPECT_TRUE(loaded.entries.empty());
  ASSERT_EQ(loaded.warnings.size(), 1u);
  EXPECT_TRUE(contains(loaded.warnings[0], path + " cannot be read (Not a directory)")) << loaded.warnings[0];
  EXPECT_TRUE(contains(loaded.warnings[0], "could not be set aside")) << loaded.warnings[0];
}

TEST(CacheFileLoad, ADirectoryInPlaceOfTheFileIsReportedAndLeftAlone) {
  TempDir dir;
  const std::string path = dir.file("mta-sts.cache");
  std::filesystem::create_directory(path);
  LoadedCache loaded = load_cache_file(path);
  EXPECT_TRUE(loaded.entries.empty());
  ASSERT_EQ(loaded.warnings.size(), 1u);
  EXPECT_TRUE(contains(loaded.warnings[0], path + " is not a regular file")) << loaded.warnings[0];
  EXPECT_EQ(dir.names(), Names{"mta-sts.cache"});
}

TEST(CacheFileLoad, AFifoInPlaceOfTheFileDoesNotHangTheStart) {
  TempDir dir;
  const std::string path = dir.file("mta-sts.cache");
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  LoadedCache loaded = load_cache_file(path);
  ASSERT_EQ(loaded.warnings.size(), 1u);
  EXPECT_TRUE(contains(loaded.warnings[0], "is not a regular file")) << loaded.warnings[0];
}

TEST(CacheFileWrite, ReplacesTheFileWithMode0600AndLeavesNoTemporaryFile) {
  TempDir dir;
  const std::string path = dir.file("mta-sts.cache");
  write_bytes(path, "old");
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  const std::string text = serialize_cache(some_policies());
  ASSERT_EQ(write_cache_file(path, text), "");
  EXPECT_EQ(read_bytes(path), text);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(dir.names(), Names{"mta-sts.cache"});
}

TEST(CacheFileWrite, ARelativePathIsWrittenInTheWorkingDirectory) {
  TempDir dir;
  const auto previous = std::filesystem::current_path();
  std::filesystem::current_path(dir.path());
  std::string error = write_cache_file("mta-sts.cache", serialize_cache({}));
  std::filesystem::current_path(previous);
  EXPECT_EQ(error, "");
  EXPECT_EQ(dir.names(), Names{"mta-sts.cache"});
}

TEST(CacheFileWrite, AMissingDirectoryIsAnErrorNamingTheFile) {
  TempDir dir;
  const std::string path = dir.file("missing") + "/mta-sts.cache";
  std::string error = write_cache_file(path, serialize_cache({}));
  EXPECT_TRUE(contains(error, "cannot write MTA-STS cache " + path + ": cannot create ")) << error;
  EXPECT_TRUE(contains(error, "No such file or directory")) << error;
}

TEST(CacheFileWrite, APathUnderAFileIsAnErrorNamingTheFile) {
  TempDir dir;
  write_bytes(dir.file("plain"), "x");
  const std::string path = dir.file("plain") + "/mta-sts.cache";
  std::string error = write_cache_file(path, serialize_cache({}));
  EXPECT_TRUE(contains(error, path)) << error;
  EXPECT_TRUE(contains(error, "Not a directory")) << error;
}

TEST(CacheFileWrite, AReadOnlyDirectoryIsAnErrorAndTheOldFileStays) {
  if (running_as_root()) GTEST_SKIP() << "root writes into a directory of mode 0555";
  TempDir dir;
  const std::string path = dir.file("mta-sts.cache");
  write_bytes(path, "old");
  ASSERT_EQ(::chmod(dir.path().c_str(), 0555), 0);
  std::string error = write_cache_file(path, serialize_cache({}));
  ASSERT_EQ(::chmod(dir.path().c_str(), 0700), 0);
  EXPECT_TRUE(contains(error, path)) << error;
  EXPECT_TRUE(contains(error, "Permission denied")) << error;
  EXPECT_EQ(read_bytes(path), "old");
}

TEST(CacheFileWrite, ADirectoryInPlaceOfTheFileIsAnErrorAndNoTemporaryFileStays) {
  TempDir dir;
  const std::string path = dir.file("mta-sts.cache");
  std::filesystem::create_directory(path);
  std::string error = write_cache_file(path, serialize_cache({}));
  EXPECT_TRUE(contains(error, "cannot rename")) << error;
  EXPECT_EQ(dir.names(), Names{"mta-sts.cache"});
}

// A write that fails half-way (here the file size limit, EFBIG; on a full disk ENOSPC takes the same
// path) leaves the old file as it was and no temporary file.
TEST(CacheFileWrite, AFailedWriteKeepsTheOldFileAndRemovesTheTemporaryFile) {
  TempDir dir;
  const std::string path = dir.file("mta-sts.cache");
  write_bytes(path, "old");
  std::string big(100000, ' ');
  mxguard::testing::FileSizeLimit limit(4096);
  ASSERT_TRUE(limit.ok());
  std::string error = write_cache_file(path, big);
  limit.lift();

  EXPECT_TRUE(contains(error, "cannot write MTA-STS cache " + path + ": cannot write ")) << error;
  EXPECT_TRUE(contains(error, "File too large")) << error;
  EXPECT_EQ(read_bytes(path), "old");
  EXPECT_EQ(dir.names(), Names{"mta-sts.cache"});
}

TEST(CacheFileWrite, ATemporaryFileLeftByACrashIsHarmless) {
  TempDir dir;
  const std::string path = dir.file("mta-sts.cache");
  ASSERT_EQ(write_cache_file(path, serialize_cache(some_policies())), "");
  // What a crash between open and rename leaves: this process's own first choice of name, and another's.
  const std::string ours = path + ".tmp-" + std::to_string(::getpid());
  write_bytes(ours, "half a cache {");
  write_bytes(path + ".tmp-1", "{");

  EXPECT_EQ(load_cache_file(path).entries, some_policies());
  const std::vector<CachedPolicy> fewer = {some_policies()[0]};
  ASSERT_EQ(write_cache_file(path, serialize_cache(fewer)), "");
  LoadedCache loaded = load_cache_file(path);
  EXPECT_EQ(loaded.entries, fewer);
  EXPECT_TRUE(loaded.warnings.empty());
  EXPECT_EQ(read_bytes(ours), "half a cache {");   // never opened again: O_EXCL took another name
}

}  // namespace
}  // namespace mxguard::mta_sts

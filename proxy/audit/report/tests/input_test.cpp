#include "proxy/audit/report/input.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace mxguard::audit::report {
namespace {

namespace fs = std::filesystem;

class Input : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("mxguard-audit-input-" + std::to_string(::getpid()) + "-" +
                                        testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write_plain(const std::string& name, const std::string& text) {
    std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  std::string write_gzip(const std::string& name, const std::string& text) {
    std::string path = (dir_ / name).string();
    gzFile f = gzopen(path.c_str(), "wb");
    gzwrite(f, text.data(), static_cast<unsigned>(text.size()));
    gzclose(f);
    return path;
  }
  std::vector<std::string> sessions(const std::vector<std::string>& paths, ReadStats& stats, std::string* error = nullptr,
                                    ReadOptions options = {}) {
    std::vector<std::string> out;
    std::string e = read_audit_files(paths, [&](Record&& r) { out.push_back(r.session); }, stats, options);
    if (error) *error = e;
    else EXPECT_EQ(e, "");
    return out;
  }

  fs::path dir_;
};

std::string line(const std::string& session) {
  return R"({"ts":"2026-11-22T01:00:00Z","event":"starttls","direction":"inbound","session":")" + session +
         R"(","verdict":"skipped"})" + "\n";
}

TEST_F(Input, ReadsPlainAndGzipFilesInOrder) {
  std::string plain = write_plain("audit.jsonl", line("a") + line("b"));
  std::string gz = write_gzip("audit.jsonl.1.gz", line("c") + line("d"));
  ReadStats stats;
  EXPECT_EQ(sessions({plain, gz}, stats), (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(stats.lines, 4u);
  EXPECT_EQ(stats.records, 4u);
  EXPECT_EQ(stats.bad, 0u);
}

TEST_F(Input, BadLinesAreCountedWithFileAndLine) {
  std::string path = write_plain("audit.jsonl", line("a") + "garbage\n" + "\n" + line("b") + "{\"ts\":1}\n");
  ReadStats stats;
  EXPECT_EQ(sessions({path}, stats), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(stats.lines, 5u);   // the blank line is read, and neither good nor bad
  ASSERT_EQ(stats.bad, 2u);
  EXPECT_EQ(stats.bad_lines[0].file, path);
  EXPECT_EQ(stats.bad_lines[0].line, 2u);
  EXPECT_EQ(stats.bad_lines[0].why, "not JSON");
  EXPECT_EQ(stats.bad_lines[1].line, 5u);
}

TEST_F(Input, ALastLineWithoutNewlineIsReadIfWhole) {
  std::string l = line("b");
  l.pop_back();
  std::string truncated = line("c").substr(0, 30);
  ReadStats stats;
  EXPECT_EQ(sessions({write_plain("x", line("a") + l)}, stats), (std::vector<std::string>{"a", "b"}));
  ReadStats stats2;
  EXPECT_EQ(sessions({write_plain("y", line("a") + truncated)}, stats2), (std::vector<std::string>{"a"}));
  EXPECT_EQ(stats2.bad, 1u);
}

TEST_F(Input, OverlongLinesAreBadAndSkippedWhole) {
  std::string huge = "{\"ts\":\"" + std::string(5000, 'x') + "\"}\n";
  ReadOptions options;
  options.max_line = 1000;
  ReadStats stats;
  std::string error;
  EXPECT_EQ(sessions({write_plain("x", line("a") + huge + line("b"))}, stats, &error, options),
            (std::vector<std::string>{"a", "b"}));
  ASSERT_EQ(stats.bad, 1u);
  EXPECT_EQ(stats.bad_lines[0].line, 2u);
  EXPECT_EQ(stats.bad_lines[0].why, "longer than 1000 bytes");
}

TEST_F(Input, AMissingFileIsAnErrorNamingIt) {
  ReadStats stats;
  std::string error;
  std::string good = write_plain("x", line("a"));
  EXPECT_EQ(sessions({good, (dir_ / "missing").string()}, stats, &error), (std::vector<std::string>{"a"}));
  EXPECT_NE(error.find("cannot open " + (dir_ / "missing").string()), std::string::npos) << error;
  sessions({dir_.string()}, stats, &error);
  EXPECT_NE(error.find("is a directory"), std::string::npos) << error;
}

TEST_F(Input, ATruncatedGzipFileIsABadLineNotAnError) {
  std::string text;
  for (int i = 0; i < 300; ++i) text += line(std::to_string(i));
  std::string gz = write_gzip("good.gz", text);
  std::string bytes;
  {
    std::ifstream in(gz, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::string cut = write_plain("cut.gz", bytes.substr(0, bytes.size() / 2));
  std::string after = write_plain("after", line("after"));
  ReadStats stats;
  std::vector<std::string> seen = sessions({cut, after}, stats);
  ASSERT_GT(seen.size(), 2u);
  EXPECT_LT(seen.size(), 301u);
  EXPECT_EQ(seen.back(), "after");
  ASSERT_EQ(stats.bad, 1u);
  EXPECT_EQ(stats.bad_lines[0].file, cut);
  EXPECT_EQ(stats.bad_lines[0].line, seen.size());   // the line after the last whole one
  EXPECT_NE(stats.bad_lines[0].why.find("compressed data ends early"), std::string::npos) << stats.bad_lines[0].why;
}

TEST_F(Input, ProgressIsReported) {
  std::string text;
  for (int i = 0; i < 50; ++i) text += line(std::to_string(i));
  ReadOptions options;
  options.progress_every = 10;
  std::vector<Progress> seen;
  options.progress = [&](const Progress& p) { seen.push_back(p); };
  ReadStats stats;
  std::string path = write_plain("x", text);
  sessions({path}, stats, nullptr, options);
  ASSERT_EQ(seen.size(), 6u);   // every 10 lines, and once at the end of the file
  EXPECT_EQ(seen.back().lines, 50u);
  EXPECT_EQ(seen.back().file, path);
  EXPECT_EQ(seen.back().file_bytes_read, seen.back().file_size);
  EXPECT_EQ(seen.back().file_size, text.size());
}

}  // namespace
}  // namespace mxguard::audit::report

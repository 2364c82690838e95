#include "proxy/smtp/data_filter.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mxguard::smtp {
namespace {

using namespace std::string_literals;   // "...\0..."s keeps NULs

constexpr std::size_t kLine = 1000;
constexpr std::uint64_t kSize = 1 << 20;

// What a session sees after handing the filter a byte stream in pieces: it keeps the unconsumed bytes
// and prepends them to the next piece, and stops feeding at end of data.
struct Outcome {
  std::string out;
  std::string leftover;   // not consumed: a partial line, or what follows the end of data
  bool end_of_data = false;
  DataError error = DataError::None;
  std::uint64_t message_bytes = 0;
  bool normalized = false;
  bool operator==(const Outcome&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Outcome& r) {
  return os << "{out=" << testing::PrintToString(r.out) << " leftover=" << testing::PrintToString(r.leftover)
            << " eod=" << r.end_of_data << " error=" << static_cast<int>(r.error) << " bytes=" << r.message_bytes
            << " normalized=" << r.normalized << "}";
}

Outcome feed_pieces(BareNewlines mode, const std::vector<std::string>& pieces, std::size_t max_line = kLine,
                std::uint64_t max_size = kSize) {
  DataFilter filter(mode, max_line, max_size);
  Outcome run;
  for (const std::string& piece : pieces) {
    run.leftover += piece;
    if (run.end_of_data) continue;
    DataFeed f = filter.feed(run.leftover, run.out);
    EXPECT_LE(f.consumed, run.leftover.size());
    EXPECT_EQ(f.error, filter.error());
    run.leftover.erase(0, f.consumed);
    run.end_of_data = f.end_of_data;
  }
  run.error = filter.error();
  run.message_bytes = filter.message_bytes();
  run.normalized = filter.normalized();
  return run;
}

Outcome feed_all(BareNewlines mode, const std::string& in, std::size_t max_line = kLine, std::uint64_t max_size = kSize) {
  return feed_pieces(mode, {in}, max_line, max_size);
}

Outcome feed_bytes(BareNewlines mode, const std::string& in, std::size_t max_line = kLine,
               std::uint64_t max_size = kSize) {
  std::vector<std::string> pieces;
  for (char c : in) pieces.emplace_back(1, c);
  return feed_pieces(mode, pieces, max_line, max_size);
}

// ------------------------------------------------------------------------------------------ line scan

// What scan_line stands for, written the obvious way.
LineScan scan_line_slowly(std::string_view in, std::size_t pos) {
  std::size_t crlf = in.find("\r\n", pos);
  if (crlf == std::string_view::npos) return {crlf, std::string_view::npos};
  return {crlf, in.substr(pos, crlf - pos).find_first_of(std::string_view("\r\n\0", 3))};
}

TEST(DataFilterScanLine, FindsTheCrlfAndTheFirstAnomalyOfEachKind) {
  constexpr std::size_t npos = std::string_view::npos;
  struct Case {
    std::string in;
    std::size_t pos, crlf, anomaly;
  } cases[] = {
      {"hello\r\n", 0, 5, npos},
      {"\r\n", 0, 0, npos},                  // an empty line
      {"a\r\nb\r\n", 3, 4, npos},            // from a later line
      {"hello", 0, npos, npos},              // no line end yet
      {"hello\r", 0, npos, npos},            // half a line end
      {"he\nllo", 0, npos, npos},            // a bare LF and no CRLF after it
      {"he\nllo\r\n", 0, 6, 2},              // a bare LF: the line runs on to the CRLF
      {"\nx\r\n", 0, 2, 0},                  // a bare LF first
      {"he\rllo\r\n", 0, 6, 2},              // a bare CR
      {"he\r\r\n", 0, 3, 2},                 // a CR just before the CRLF
      {"he\0llo\r\n"s, 0, 6, 2},             // a NUL
      {"a\0b\rc\r\n"s, 0, 5, 1},             // NUL before CR: the NUL is first
      {"a\rb\0c\r\n"s, 0, 5, 1},             // CR before NUL: the CR is first
      {"a\rb\nc\r\n", 0, 5, 1},              // CR before a bare LF
      {"a\0\nc\r\n"s, 0, 4, 1},              // NUL before a bare LF
      {"ab\n\r\n", 0, 3, 2},                 // a bare LF just before the CRLF
      {"x\r\n\n\r\n", 3, 4, 0},              // a line that is a bare LF
  };
  for (const Case& c : cases) {
    LineScan got = scan_line(c.in, c.pos);
    EXPECT_EQ(got.crlf, c.crlf) << testing::PrintToString(c.in);
    if (c.crlf != npos) {
      EXPECT_EQ(got.anomaly, c.anomaly) << testing::PrintToString(c.in);
    }
    LineScan slow = scan_line_slowly(c.in, c.pos);
    EXPECT_EQ(got.crlf, slow.crlf) << testing::PrintToString(c.in);
    if (c.crlf != npos) {
      EXPECT_EQ(got.anomaly, slow.anomaly) << testing::PrintToString(c.in);
    }
  }
}

TEST(DataFilterScanLine, AgreesWithTheObviousScanOnEveryShortInput) {
  // Every string of up to 6 bytes over the alphabet that matters, from every position.
  const std::string alphabet = "\r\n\0x."s;
  std::vector<std::string> inputs{""};
  for (int length = 1; length <= 6; ++length) {
    std::vector<std::string> longer;
    for (const std::string& s : inputs) {
      if (s.size() + 1 != static_cast<std::size_t>(length)) continue;
      for (char c : alphabet) longer.push_back(s + c);
    }
    inputs.insert(inputs.end(), longer.begin(), longer.end());
  }
  ASSERT_EQ(inputs.size(), 1u + 5 + 25 + 125 + 625 + 3125 + 15625);
  for (const std::string& in : inputs) {
    for (std::size_t pos = 0; pos < in.size(); ++pos) {
      LineScan got = scan_line(in, pos), slow = scan_line_slowly(in, pos);
      ASSERT_EQ(got.crlf, slow.crlf) << testing::PrintToString(in) << " from " << pos;
      if (got.crlf != std::string_view::npos) {
        ASSERT_EQ(got.anomaly, slow.anomaly) << testing::PrintToString(in) << " from " << pos;
      }
    }
  }
}

// ------------------------------------------------------------------------------------- clean content

TEST(DataFilter, CleanMessagePassesByteForByteAndEndsAtCrlfDotCrlf) {
  std::string body = "Subject: hi\r\n\r\nhello\r\n";
  Outcome r = feed_all(BareNewlines::Reject, body + ".\r\nQUIT\r\n");
  EXPECT_TRUE(r.end_of_data);
  EXPECT_EQ(r.error, DataError::None);
  EXPECT_EQ(r.out, body + ".\r\n");
  EXPECT_EQ(r.leftover, "QUIT\r\n");
  EXPECT_EQ(r.message_bytes, body.size());
  EXPECT_FALSE(r.normalized);
}

TEST(DataFilter, DotAsFirstLineIsAnEmptyMessage) {
  Outcome r = feed_all(BareNewlines::Reject, ".\r\nNOOP\r\n");
  EXPECT_TRUE(r.end_of_data);
  EXPECT_EQ(r.out, ".\r\n");
  EXPECT_EQ(r.leftover, "NOOP\r\n");
  EXPECT_EQ(r.message_bytes, 0u);
}

TEST(DataFilter, DotStuffedLinesPassUnchanged) {
  std::string body = "..\r\n...\r\n..leading\r\n.x\r\n";
  for (BareNewlines mode : {BareNewlines::Reject, BareNewlines::Normalize}) {
    Outcome r = feed_all(mode, body + ".\r\n");
    EXPECT_TRUE(r.end_of_data);
    EXPECT_EQ(r.out, body + ".\r\n");
    EXPECT_FALSE(r.normalized);
  }
}

TEST(DataFilter, PartialLineIsLeftUnconsumed) {
  DataFilter filter(BareNewlines::Reject, kLine, kSize);
  std::string out;
  DataFeed f = filter.feed("line one\r\nline t", out);
  EXPECT_EQ(f.consumed, 10u);
  EXPECT_FALSE(f.end_of_data);
  EXPECT_EQ(out, "line one\r\n");
  f = filter.feed("line two\r", out);
  EXPECT_EQ(f.consumed, 0u);
  EXPECT_EQ(out, "line one\r\n");
  f = filter.feed("line two\r\n.", out);
  EXPECT_EQ(f.consumed, 10u);
  f = filter.feed(".\r", out);
  EXPECT_EQ(f.consumed, 0u);
  EXPECT_FALSE(f.end_of_data);
  f = filter.feed(".\r\nRSET\r\n", out);
  EXPECT_EQ(f.consumed, 3u);
  EXPECT_TRUE(f.end_of_data);
  EXPECT_EQ(out, "line one\r\nline two\r\n.\r\n");
}

TEST(DataFilter, FeedingAfterEndOfDataConsumesNothing) {
  DataFilter filter(BareNewlines::Reject, kLine, kSize);
  std::string out;
  ASSERT_TRUE(filter.feed(".\r\n", out).end_of_data);
  DataFeed f = filter.feed("more\r\n.\r\n", out);
  EXPECT_EQ(f.consumed, 0u);
  EXPECT_TRUE(f.end_of_data);
  EXPECT_EQ(out, ".\r\n");
}

// ------------------------------------------------------------------------------ near-miss end of data

struct NearMiss {
  const char* name;
  std::string body;            // content, then the real "\r\n.\r\n" is appended by the test
  DataError reject_error;
  std::string normalized;      // what the backend gets in Normalize mode, terminator included
};

const std::vector<NearMiss>& near_misses() {
  static const std::vector<NearMiss> cases = {
      {"LfDotLf", "abc\n.\nMAIL FROM:<x>\r\n", DataError::BareLineEnding,
       "abc\r\n..\r\nMAIL FROM:<x>\r\n.\r\n"},
      {"CrDotCr", "abc\r.\rMAIL FROM:<x>\r\n", DataError::BareLineEnding,
       "abc\r\n..\r\nMAIL FROM:<x>\r\n.\r\n"},
      {"LfDotCrLf", "abc\n.\r\nMAIL FROM:<x>\r\n", DataError::BareLineEnding,
       "abc\r\n..\r\nMAIL FROM:<x>\r\n.\r\n"},
      {"CrLfDotCr", "abc\r\n.\rMAIL FROM:<x>\r\n", DataError::BareLineEnding,
       "abc\r\n\r\nMAIL FROM:<x>\r\n.\r\n"},
      {"CrLfDotCrCrLf", "abc\r\n.\r\r\nMAIL FROM:<x>\r\n", DataError::BareLineEnding,
       "abc\r\n\r\n\r\nMAIL FROM:<x>\r\n.\r\n"},
      {"CrLfDotLf", "abc\r\n.\nMAIL FROM:<x>\r\n", DataError::BareLineEnding,
       "abc\r\n\r\nMAIL FROM:<x>\r\n.\r\n"},
      {"Nul", "abc\r\n.\0\r\nMAIL FROM:<x>\r\n"s, DataError::Nul, "abc\r\n\r\nMAIL FROM:<x>\r\n.\r\n"},
      {"NulBeforeDot", "abc\r\n\0.\r\nx\r\n"s, DataError::Nul, "abc\r\n..\r\nx\r\n.\r\n"},
      {"LfAtStart", "\n.\nx\r\n", DataError::BareLineEnding, "\r\n..\r\nx\r\n.\r\n"},
      {"LfDotLfAtStart", ".\n.\nx\r\n", DataError::BareLineEnding, "\r\n..\r\nx\r\n.\r\n"},
      {"BareCrBeforeCrLf", "abc\r\r\n.\r\r\n", DataError::BareLineEnding, "abc\r\n\r\n\r\n\r\n.\r\n"},
      {"CrNulLf", "a\r\0\nb\r\n"s, DataError::BareLineEnding, "a\r\n\r\nb\r\n.\r\n"},
  };
  return cases;
}

TEST(DataFilter, NearMissesAreContentInNormalizeMode) {
  for (const NearMiss& c : near_misses()) {
    Outcome r = feed_all(BareNewlines::Normalize, c.body + ".\r\nQUIT\r\n");
    EXPECT_TRUE(r.end_of_data) << c.name;
    EXPECT_EQ(r.error, DataError::None) << c.name;
    EXPECT_EQ(r.out, c.normalized) << c.name;
    EXPECT_EQ(r.leftover, "QUIT\r\n") << c.name;
    EXPECT_TRUE(r.normalized) << c.name;
    EXPECT_EQ(r.message_bytes, c.body.size()) << c.name;
  }
}

TEST(DataFilter, NearMissesAreRejectedAndOnlyTheRealEndEndsData) {
  for (const NearMiss& c : near_misses()) {
    Outcome r = feed_all(BareNewlines::Reject, c.body + ".\r\nQUIT\r\n");
    EXPECT_TRUE(r.end_of_data) << c.name;
    EXPECT_EQ(r.error, c.reject_error) << c.name;
    EXPECT_EQ(r.leftover, "QUIT\r\n") << c.name;
    EXPECT_EQ(r.out.find(".\r\n"), std::string::npos) << c.name;   // no terminator after an error
    EXPECT_EQ(r.message_bytes, c.body.size()) << c.name;
  }
}

TEST(DataFilter, NearMissWithoutRealEndNeverEndsData) {
  for (const NearMiss& c : near_misses()) {
    for (BareNewlines mode : {BareNewlines::Reject, BareNewlines::Normalize}) {
      Outcome r = feed_all(mode, c.body);
      EXPECT_FALSE(r.end_of_data) << c.name;
      EXPECT_EQ(r.leftover, "") << c.name;
    }
  }
}

TEST(DataFilter, LfDotLfIsContentNotEndOfData) {
  Outcome r = feed_all(BareNewlines::Normalize, "hi\n.\nRCPT TO:<victim@x>\n");
  EXPECT_FALSE(r.end_of_data);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.leftover, "hi\n.\nRCPT TO:<victim@x>\n");   // not CRLF-framed yet: still one partial line
}

TEST(DataFilter, NormalizeExampleFromTheSpecification) {
  Outcome r = feed_all(BareNewlines::Normalize, "abc\n.\nMAIL FROM:<x>\r\n");
  EXPECT_EQ(r.out, "abc\r\n..\r\nMAIL FROM:<x>\r\n");
  EXPECT_TRUE(r.normalized);
  Outcome dot_cr = feed_all(BareNewlines::Normalize, "x\r\n.\rMAIL\r\n");
  EXPECT_EQ(dot_cr.out, "x\r\n\r\nMAIL\r\n");
}

TEST(DataFilter, NormalizeUnstuffsOnceThenStuffsEachSegment) {
  // The client stuffed ".." (meaning "."), then bare LF, then a line starting with a dot.
  Outcome r = feed_all(BareNewlines::Normalize, "..\n.x\n..y\r\n.\r\n");
  EXPECT_EQ(r.out, "..\r\n..x\r\n...y\r\n.\r\n");
}

TEST(DataFilter, NormalizeRemovesNuls) {
  Outcome r = feed_all(BareNewlines::Normalize, "a\0b\0\r\n\0\0\r\n.\r\n"s);
  EXPECT_EQ(r.out, "ab\r\n\r\n.\r\n");
  EXPECT_TRUE(r.normalized);
}

TEST(DataFilter, RejectStopsOutputAtTheFirstAnomaly) {
  DataFilter filter(BareNewlines::Reject, kLine, kSize);
  std::string out;
  DataFeed f = filter.feed("good\r\nbad\nline\r\nafter\r\n", out);
  EXPECT_EQ(f.error, DataError::BareLineEnding);
  EXPECT_FALSE(f.end_of_data);
  EXPECT_EQ(f.consumed, 23u);   // discarding may consume everything
  EXPECT_EQ(out, "good\r\n");
  f = filter.feed("more\r\n.\r\n", out);
  EXPECT_TRUE(f.end_of_data);
  EXPECT_EQ(f.error, DataError::BareLineEnding);
  EXPECT_EQ(f.consumed, 9u);
  EXPECT_EQ(out, "good\r\n");
}

TEST(DataFilter, FirstErrorIsTheOneReported) {
  Outcome r = feed_all(BareNewlines::Reject, "a\0\nb\r\nc\nd\r\n.\r\n"s);
  EXPECT_EQ(r.error, DataError::Nul);
  Outcome lf_first = feed_all(BareNewlines::Reject, "a\n\0b\r\n.\r\n"s);
  EXPECT_EQ(lf_first.error, DataError::BareLineEnding);
}

TEST(DataFilter, EndOfDataSplitAcrossFeedsIsFoundWhileDiscarding) {
  Outcome r = feed_pieces(BareNewlines::Reject, {"x\ny\r", "\n", ".", "\r", "\nQUIT\r\n"});
  EXPECT_TRUE(r.end_of_data);
  EXPECT_EQ(r.error, DataError::BareLineEnding);
  EXPECT_EQ(r.leftover, "QUIT\r\n");
  EXPECT_EQ(r.out, "");
}

TEST(DataFilter, DiscardingIgnoresNearMisses) {
  Outcome r = feed_all(BareNewlines::Reject, "x\nbad\r\n.\n\r.\r\r\n.\rQUIT\r\nstill content\r\n.\r\nNOOP\r\n");
  EXPECT_TRUE(r.end_of_data);
  EXPECT_EQ(r.leftover, "NOOP\r\n");
}

// ---------------------------------------------------------------------------------------- line length

TEST(DataFilter, LineOfExactlyMaxLineIsAccepted) {
  std::string line = std::string(8, 'a') + "\r\n";
  Outcome r = feed_all(BareNewlines::Reject, line + ".\r\n", 10);
  EXPECT_EQ(r.error, DataError::None);
  EXPECT_EQ(r.out, line + ".\r\n");
}

TEST(DataFilter, LineOneByteOverMaxLineIsTooLong) {
  Outcome r = feed_all(BareNewlines::Reject, "ok\r\n" + std::string(9, 'a') + "\r\nnext\r\n.\r\nQUIT\r\n", 10);
  EXPECT_TRUE(r.end_of_data);
  EXPECT_EQ(r.error, DataError::LineTooLong);
  EXPECT_EQ(r.out, "ok\r\n");
  EXPECT_EQ(r.leftover, "QUIT\r\n");
}

TEST(DataFilter, UnterminatedOverlongLineIsConsumedAndEndFoundLater) {
  DataFilter filter(BareNewlines::Normalize, 10, kSize);
  std::string out;
  DataFeed f = filter.feed(std::string(9, 'a'), out);   // could still be 9 + CR (10 bytes)... no: 11 with CRLF
  EXPECT_EQ(f.error, DataError::LineTooLong);
  EXPECT_EQ(f.consumed, 9u);
  f = filter.feed(std::string(100, 'b') + "\r", out);
  EXPECT_EQ(f.consumed, 101u);
  EXPECT_FALSE(f.end_of_data);
  f = filter.feed("\n.", out);
  EXPECT_EQ(f.consumed, 2u);
  EXPECT_FALSE(f.end_of_data);
  f = filter.feed("\r\nQUIT\r\n", out);
  EXPECT_EQ(f.consumed, 2u);
  EXPECT_TRUE(f.end_of_data);
  EXPECT_EQ(f.error, DataError::LineTooLong);
  EXPECT_EQ(out, "");
  EXPECT_EQ(filter.message_bytes(), 9u + 101u + 1u);
}

TEST(DataFilter, PartialLineBelowTheLimitWaits) {
  DataFilter filter(BareNewlines::Reject, 10, kSize);
  std::string out;
  DataFeed f = filter.feed(std::string(8, 'a'), out);     // 8 + CRLF = 10: may still fit
  EXPECT_EQ(f.consumed, 0u);
  EXPECT_FALSE(filter.failed());
  f = filter.feed(std::string(8, 'a') + "\r", out);        // 8 + CR + LF = 10
  EXPECT_EQ(f.consumed, 0u);
  EXPECT_FALSE(filter.failed());
  f = filter.feed(std::string(9, 'a') + "\r", out);        // 9 + CR + LF = 11
  EXPECT_TRUE(filter.failed());
}

TEST(DataFilter, OverlongLineHidingLfDotLfDoesNotEndData) {
  std::string overlong = std::string(20, 'a') + "\n.\n" + std::string(20, 'b') + "\r\n";
  Outcome r = feed_all(BareNewlines::Normalize, overlong + "c\r\n.\r\nQUIT\r\n", 10);
  EXPECT_TRUE(r.end_of_data);
  EXPECT_EQ(r.error, DataError::LineTooLong);
  EXPECT_EQ(r.leftover, "QUIT\r\n");
}

TEST(DataFilter, EndOfDataRightAfterOverlongLineIsFound) {
  Outcome r = feed_bytes(BareNewlines::Reject, std::string(50, 'a') + "\r\n.\r\nQUIT\r\n", 10);
  EXPECT_TRUE(r.end_of_data);
  EXPECT_EQ(r.error, DataError::LineTooLong);
  EXPECT_EQ(r.leftover, "QUIT\r\n");
  EXPECT_EQ(r.message_bytes, 52u);
}

TEST(DataFilter, NormalizeLimitsTheCrlfFramedLine) {
  // Bare-LF-only content is one CRLF-framed line: it must fit max_line as a whole.
  Outcome r = feed_all(BareNewlines::Normalize, "aaa\nbbb\nccc\r\n.\r\n", 10);
  EXPECT_EQ(r.error, DataError::LineTooLong);
  EXPECT_TRUE(r.end_of_data);
}

// --------------------------------------------------------------------------------------- message size

TEST(DataFilter, MessageOfExactlyMaxSizeIsAccepted) {
  std::string body = "12345678\r\n";   // 10 bytes
  Outcome r = feed_all(BareNewlines::Reject, body + ".\r\n", kLine, 10);
  EXPECT_EQ(r.error, DataError::None);
  EXPECT_EQ(r.message_bytes, 10u);
  EXPECT_EQ(r.out, body + ".\r\n");
}

TEST(DataFilter, MessageOverMaxSizeIsTooBigAndEndStillFound) {
  Outcome r = feed_all(BareNewlines::Reject, "12345678\r\nx\r\nmore\r\n.\r\nQUIT\r\n", kLine, 10);
  EXPECT_TRUE(r.end_of_data);
  EXPECT_EQ(r.error, DataError::MessageTooBig);
  EXPECT_EQ(r.out, "12345678\r\n");
  EXPECT_EQ(r.leftover, "QUIT\r\n");
  EXPECT_EQ(r.message_bytes, 19u);
}

TEST(DataFilter, SizeCountsRawInputNotNormalisedOutput) {
  Outcome r = feed_all(BareNewlines::Normalize, "a\nb\r\n.\r\n", kLine, 5);   // 5 raw bytes, 6 after normalising
  EXPECT_EQ(r.error, DataError::None);
  EXPECT_EQ(r.message_bytes, 5u);
  EXPECT_EQ(r.out, "a\r\nb\r\n.\r\n");
}

TEST(DataFilter, ZeroMaxSizeMeansNoLimit) {
  Outcome r = feed_all(BareNewlines::Reject, std::string(500, 'x') + "\r\n.\r\n", kLine, 0);
  EXPECT_EQ(r.error, DataError::None);
  EXPECT_TRUE(r.end_of_data);
}

// ------------------------------------------------------------------------------------ split invariance

std::vector<std::string> tricky_inputs() {
  std::vector<std::string> inputs = {
      "Subject: x\r\n\r\nbody\r\n..stuffed\r\n.\r\nQUIT\r\n",
      ".\r\n",
      "\r\n.\r\n",
      "a\r\n.\r\r\n.\r\n",
      "x\r\n.\n.\r\n",
      ".\r.\r\n.\r\nRSET\r\n",
      "..\r\n.\r\n",
      "a\r\r\r\n.\r\n",
      "\n\n\r\n.\r\n",
      "\r\r\n.\r\n",
      "aaaaaaaaaaaaaaaaaaaa\r\n.\r\n",
      "aaaaaaaaaaaaaaaaaaaa\n.\naaa\r\n.\r\n",
      "ok\r\naaaaaaaaaaaaaaaaaaaaaaaaaa\r.\r\naaa\r\n.\r\nNOOP\r\n",
      "12345678\r\n1\r\n.\r\n",
      "a\0b\r\n.\r\n"s,
      "\0\r\n.\r\n"s,
      ".\0\r\n.\r\n"s,
      "partial line without end",
      "x\r\n.\r",
      "x\r\n.",
      "x\r\n\r",
  };
  for (const NearMiss& c : near_misses()) inputs.push_back(c.body + ".\r\nQUIT\r\n");
  return inputs;
}

void expect_split_invariant(BareNewlines mode, std::size_t max_line, std::uint64_t max_size) {
  for (const std::string& in : tricky_inputs()) {
    Outcome whole = feed_all(mode, in, max_line, max_size);
    EXPECT_EQ(feed_bytes(mode, in, max_line, max_size), whole) << testing::PrintToString(in);
    for (std::size_t cut = 0; cut <= in.size(); ++cut) {
      Outcome split = feed_pieces(mode, {in.substr(0, cut), in.substr(cut)}, max_line, max_size);
      EXPECT_EQ(split, whole) << testing::PrintToString(in) << " cut at " << cut;
    }
  }
}

TEST(DataFilter, RejectModeGivesTheSameResultForEverySplit) {
  expect_split_invariant(BareNewlines::Reject, kLine, kSize);
  expect_split_invariant(BareNewlines::Reject, 10, 12);
}

TEST(DataFilter, NormalizeModeGivesTheSameResultForEverySplit) {
  expect_split_invariant(BareNewlines::Normalize, kLine, kSize);
  expect_split_invariant(BareNewlines::Normalize, 10, 12);
  expect_split_invariant(BareNewlines::Normalize, 3, 0);
}

TEST(DataFilter, AbsurdlySmallLineLimitStillFindsTheEndOfData) {
  // Every content line is too long, but the end-of-data line is checked first and must still be found.
  expect_split_invariant(BareNewlines::Reject, 2, 0);
  expect_split_invariant(BareNewlines::Normalize, 0, 0);
  Outcome r = feed_bytes(BareNewlines::Reject, ".\r\nQUIT\r\n", 0);
  EXPECT_TRUE(r.end_of_data);
  EXPECT_EQ(r.error, DataError::None);
  EXPECT_EQ(r.leftover, "QUIT\r\n");
}

TEST(DataFilter, OutputHasOnlyCrlfLineEndsAndNoEarlyTerminator) {
  for (BareNewlines mode : {BareNewlines::Reject, BareNewlines::Normalize}) {
    for (const std::string& in : tricky_inputs()) {
      Outcome r = feed_all(mode, in, 10, 0);
      for (std::size_t i = 0; i < r.out.size(); ++i) {
        if (r.out[i] == '\r') {
          EXPECT_TRUE(i + 1 < r.out.size() && r.out[i + 1] == '\n') << testing::PrintToString(in);
        }
        if (r.out[i] == '\n') {
          EXPECT_TRUE(i > 0 && r.out[i - 1] == '\r') << testing::PrintToString(in);
        }
        EXPECT_NE(r.out[i], '\0');
      }
      std::string framed = "\r\n" + r.out;
      std::size_t end = framed.find("\r\n.\r\n");
      if (r.end_of_data && r.error == DataError::None) {
        EXPECT_EQ(end, framed.size() - 5) << testing::PrintToString(in);
      } else {
        EXPECT_EQ(end, std::string::npos) << testing::PrintToString(in);
      }
    }
  }
}

}  // namespace
}  // namespace mxguard::smtp

// Command-line splitting. Checks each result against the contract in line_reader.h, and that a session-like
// reader (next_line, then skip_to_line_end after an unterminated TooLong) sees the same lines and overlong
// events whether the bytes arrive at once or in two pieces.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/check.h"
#include "proxy/smtp/line_reader.h"

using namespace mxguard::smtp;

namespace {

void check_result(const LineResult& r, std::string_view in, std::size_t max_line) {
  FUZZ_CHECK(r.consumed <= in.size());
  std::size_t lf = in.find('\n');
  switch (r.status) {
    case LineStatus::Complete:
      FUZZ_CHECK(lf != std::string_view::npos && r.consumed == lf + 1 && r.consumed <= max_line);
      FUZZ_CHECK(r.line.data() == in.data());
      FUZZ_CHECK(r.line.size() + (r.bare_lf ? 1 : 2) == r.consumed);
      FUZZ_CHECK(r.bare_lf == (lf == 0 || in[lf - 1] != '\r'));
      FUZZ_CHECK(!r.terminated);
      break;
    case LineStatus::NeedMore:
      FUZZ_CHECK(lf == std::string_view::npos && in.size() < max_line && r.consumed == 0);
      break;
    case LineStatus::TooLong:
      FUZZ_CHECK(r.consumed > 0);
      if (r.terminated) {
        FUZZ_CHECK(lf != std::string_view::npos && r.consumed == lf + 1 && r.consumed > max_line);
      } else {
        FUZZ_CHECK(lf == std::string_view::npos && r.consumed == in.size() && in.size() >= max_line);
      }
      break;
  }
}

struct Reader {
  std::string buffer;
  bool skipping = false;
  std::vector<std::string> events;   // "L:<line>", "B:<line>" (bare LF) or "TooLong"

  void add(std::string_view bytes, std::size_t max_line) {
    buffer += bytes;
    while (!buffer.empty()) {
      if (skipping) {
        SkipResult s = skip_to_line_end(buffer);
        FUZZ_CHECK(s.consumed <= buffer.size() && (s.found_end || s.consumed == buffer.size()));
        if (s.found_end) FUZZ_CHECK(buffer[s.consumed - 1] == '\n');
        buffer.erase(0, s.consumed);
        skipping = !s.found_end;
        continue;
      }
      LineResult r = next_line(buffer, max_line);
      check_result(r, buffer, max_line);
      if (r.status == LineStatus::NeedMore) break;
      if (r.status == LineStatus::TooLong) {
        events.emplace_back("TooLong");
        skipping = !r.terminated;
      } else {
        events.push_back((r.bare_lf ? "B:" : "L:") + std::string(r.line));
      }
      buffer.erase(0, r.consumed);
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider fdp(data, size);
  std::size_t max_line = fdp.ConsumeIntegralInRange<std::size_t>(0, 64);
  std::size_t cut = fdp.ConsumeIntegral<std::uint16_t>();
  std::string input = fdp.ConsumeRemainingBytesAsString();
  cut = input.empty() ? 0 : cut % (input.size() + 1);

  Reader whole;
  whole.add(input, max_line);
  Reader split;
  split.add(std::string_view(input).substr(0, cut), max_line);
  split.add(std::string_view(input).substr(cut), max_line);
  FUZZ_CHECK(whole.events == split.events);
  FUZZ_CHECK(whole.buffer == split.buffer && whole.skipping == split.skipping);
  return 0;
}

// The smuggling shield. Checks, for arbitrary bytes, limits and split points:
// - the backend's bytes never hold a bare CR, a bare LF or a NUL, and never "\r\n.\r\n" before the end;
// - the end of data is reported exactly at the client's first <CR><LF>.<CR><LF>, and only there;
// - consumed <= input; an error stops output; clean content passes byte for byte;
// - feeding the bytes in pieces (one at a time, or at random cuts) gives exactly the one-shot result;
// - scan_line finds what the obvious find("\r\n") and find_first_of("\r\n\0") find, from every line start.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/check.h"
#include "proxy/smtp/data_filter.h"

using namespace mxguard::smtp;

namespace {

struct Outcome {
  std::string out;
  std::string leftover;
  std::size_t consumed = 0;
  bool end_of_data = false;
  DataError error = DataError::None;
  std::uint64_t message_bytes = 0;
  bool normalized = false;
  bool operator==(const Outcome&) const = default;
};

// Feeds like the session does: unconsumed bytes are kept and prefixed to the next piece.
Outcome run(BareNewlines mode, std::size_t max_line, std::uint64_t max_size, std::string_view input,
            const std::vector<std::size_t>& cuts) {
  DataFilter filter(mode, max_line, max_size);
  Outcome o;
  std::size_t start = 0;
  std::vector<std::size_t> ends = cuts;
  ends.push_back(input.size());
  for (std::size_t end : ends) {
    o.leftover += input.substr(start, end - start);
    start = end;
    if (o.end_of_data) continue;
    std::size_t out_before = o.out.size();
    bool failed_before = filter.failed();
    DataFeed f = filter.feed(o.leftover, o.out);
    FUZZ_CHECK(f.consumed <= o.leftover.size());
    FUZZ_CHECK(f.error == filter.error());
    if (failed_before) FUZZ_CHECK(o.out.size() == out_before);   // nothing appended once failed
    o.leftover.erase(0, f.consumed);
    o.consumed += f.consumed;
    o.end_of_data = f.end_of_data;
  }
  o.error = filter.error();
  o.message_bytes = filter.message_bytes();
  o.normalized = filter.normalized();
  return o;
}

void check_invariants(const Outcome& o, BareNewlines mode, std::size_t max_line, std::uint64_t max_size,
                      std::string_view input) {
  for (std::size_t i = 0; i < o.out.size(); ++i) {
    FUZZ_CHECK(o.out[i] != '\0');
    if (o.out[i] == '\r') FUZZ_CHECK(i + 1 < o.out.size() && o.out[i + 1] == '\n');
    if (o.out[i] == '\n') FUZZ_CHECK(i > 0 && o.out[i - 1] == '\r');
  }
  // Where the backend would see the end of data (content starts as if after a CRLF).
  std::string backend_view = "\r\n" + o.out;
  std::size_t backend_end = backend_view.find("\r\n.\r\n");
  if (o.end_of_data && o.error == DataError::None) {
    FUZZ_CHECK(backend_end == backend_view.size() - 5);
  } else {
    FUZZ_CHECK(backend_end == std::string::npos);
  }
  // Where the client sent it.
  std::string client_view = "\r\n" + std::string(input);
  std::size_t client_end = client_view.find("\r\n.\r\n");
  FUZZ_CHECK(o.end_of_data == (client_end != std::string::npos));
  if (o.end_of_data) {
    FUZZ_CHECK(o.consumed == client_end + 3);
    FUZZ_CHECK(o.leftover == input.substr(client_end + 3));
    FUZZ_CHECK(o.message_bytes == client_end);
  } else if (o.error != DataError::None) {
    FUZZ_CHECK(o.leftover.empty());   // discarding consumes everything
  } else {
    FUZZ_CHECK(o.leftover.find("\r\n") == std::string::npos);   // only a partial line waits
    FUZZ_CHECK(o.leftover.empty() || o.leftover.size() < max_line || o.leftover == "." || o.leftover == ".\r");
  }
  FUZZ_CHECK(o.consumed + o.leftover.size() == input.size());
  if (mode == BareNewlines::Reject) FUZZ_CHECK(!o.normalized);
  if (mode == BareNewlines::Normalize) {
    FUZZ_CHECK(o.error != DataError::BareLineEnding && o.error != DataError::Nul);
  }
  if (o.error == DataError::MessageTooBig) FUZZ_CHECK(max_size != 0 && o.message_bytes > max_size);
  if (o.error == DataError::None && !o.normalized) {
    FUZZ_CHECK(o.out == input.substr(0, o.consumed));   // byte for byte, stuffing and all
  }
  if (o.error == DataError::None) {
    if (max_size != 0) FUZZ_CHECK(o.message_bytes <= max_size);
    std::string_view content = input.substr(0, o.end_of_data ? client_end : o.consumed);
    for (std::size_t pos = 0; pos < content.size();) {
      std::size_t crlf = content.find("\r\n", pos);
      FUZZ_CHECK(crlf != std::string_view::npos);
      FUZZ_CHECK(crlf + 2 - pos <= max_line);
      pos = crlf + 2;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider fdp(data, size);
  BareNewlines mode = fdp.ConsumeBool() ? BareNewlines::Reject : BareNewlines::Normalize;
  std::size_t max_line = fdp.ConsumeBool() ? fdp.ConsumeIntegralInRange<std::size_t>(0, 40) : 1000;
  std::uint64_t max_size = fdp.ConsumeBool() ? fdp.ConsumeIntegralInRange<std::uint64_t>(0, 200) : 0;
  std::uint32_t seed = fdp.ConsumeIntegral<std::uint32_t>();
  std::string input = fdp.ConsumeRemainingBytesAsString();

  Outcome whole = run(mode, max_line, max_size, input, {});
  check_invariants(whole, mode, max_line, max_size, input);

  std::vector<std::size_t> every_byte;
  for (std::size_t i = 1; i < input.size(); ++i) every_byte.push_back(i);
  FUZZ_CHECK(run(mode, max_line, max_size, input, every_byte) == whole);

  std::vector<std::size_t> cuts;   // a few cuts at pseudo-random, increasing places
  for (std::size_t at = 0; !input.empty();) {
    seed = seed * 1103515245u + 12345u;
    at += 1 + (seed >> 16) % (input.size() / 3 + 1);
    if (at >= input.size()) break;
    cuts.push_back(at);
  }
  FUZZ_CHECK(run(mode, max_line, max_size, input, cuts) == whole);

  for (std::size_t pos = 0; pos < input.size();) {
    LineScan scan = scan_line(input, pos);
    std::size_t crlf = std::string_view(input).find("\r\n", pos);
    FUZZ_CHECK(scan.crlf == crlf);
    if (crlf == std::string_view::npos) break;
    std::string_view line = std::string_view(input).substr(pos, crlf - pos);
    FUZZ_CHECK(scan.anomaly == line.find_first_of(std::string_view("\r\n\0", 3)));
    pos = crlf + 2;
  }
  return 0;
}

// The metrics endpoint's request head (proxy/metrics/http_request.h). Checks that every result fits its
// contract (a Bad head names a status and a printable problem; a Complete one ends at a line end within
// the limit, with a token method and a visible-ASCII target inside the input), that reading more never
// changes a verdict (every prefix of a complete head needs more, every longer input of a bad one is bad
// the same way), that a complete head re-spelt canonically parses to the same request, and that the
// answer to it is a well-formed response that closes.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/check.h"
#include "proxy/metrics/http_request.h"

using namespace mxguard::metrics;

namespace {

bool inside(std::string_view part, std::string_view whole) {
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

bool printable(std::string_view s) {
  for (char c : s) {
    if (c < 0x20 || c >= 0x7f) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider fdp(data, size);
  std::size_t max_head = fdp.ConsumeBool() ? fdp.ConsumeIntegralInRange<std::size_t>(1, 256) : kMaxRequestHead;
  std::size_t cut_pick = fdp.ConsumeIntegral<std::uint16_t>();
  std::string input = fdp.ConsumeRemainingBytesAsString();

  RequestHead h = parse_request_head(input, max_head);
  switch (h.status) {
    case HeadStatus::NeedMore:
      FUZZ_CHECK(input.size() < max_head);
      FUZZ_CHECK(h.error == 0 && h.consumed == 0);
      break;
    case HeadStatus::Bad:
      FUZZ_CHECK(h.error == 400 || h.error == 414 || h.error == 431 || h.error == 505);
      FUZZ_CHECK(!h.problem.empty() && printable(h.problem));
      FUZZ_CHECK(route(h).status == h.error && !route(h).metrics);
      break;
    case HeadStatus::Complete: {
      FUZZ_CHECK(h.consumed > 0 && h.consumed <= input.size() && h.consumed <= max_head);
      FUZZ_CHECK(input[h.consumed - 1] == '\n');
      FUZZ_CHECK(inside(h.method, input) && inside(h.target, input));
      FUZZ_CHECK(!h.method.empty() && !h.target.empty() && printable(h.method) && printable(h.target));
      FUZZ_CHECK(h.method.find(' ') == std::string_view::npos && h.target.find(' ') == std::string_view::npos);
      FUZZ_CHECK(h.minor_version >= 0 && h.minor_version <= 9);
      Decision d = route(h);
      FUZZ_CHECK(d.status == 200 || d.status == 404 || d.status == 405);
      FUZZ_CHECK(d.metrics == (d.status == 200));
      FUZZ_CHECK(!d.metrics || h.method == "GET" || h.method == "HEAD");
      // Re-spelt canonically, it is the same request.
      std::string canonical = std::string(h.method) + " " + std::string(h.target) + " HTTP/1." +
                              std::to_string(h.minor_version) + "\r\nHost: h\r\n\r\n";
      RequestHead again = parse_request_head(canonical);
      FUZZ_CHECK(again.status == HeadStatus::Complete && again.consumed == canonical.size());
      FUZZ_CHECK(again.method == h.method && again.target == h.target && again.minor_version == h.minor_version);
      FUZZ_CHECK(route(again).status == d.status);
      // Bytes after the head are not part of it.
      RequestHead trimmed = parse_request_head(std::string_view(input).substr(0, h.consumed), max_head);
      FUZZ_CHECK(trimmed.status == HeadStatus::Complete && trimmed.consumed == h.consumed);
      // The answer is a response that closes, its length that of its body.
      std::string body(cut_pick % 64, 'b');
      std::string response = http_response(d.status, "text/plain", body, d.head_only);
      FUZZ_CHECK(response.starts_with("HTTP/1.1 " + std::to_string(d.status) + " "));
      FUZZ_CHECK(response.find("\r\nContent-Length: " + std::to_string(body.size()) + "\r\n") != std::string::npos);
      FUZZ_CHECK(response.find("\r\nConnection: close\r\n\r\n") != std::string::npos);
      FUZZ_CHECK(response.ends_with(d.head_only ? std::string("\r\n\r\n") : "\r\n\r\n" + body));
      break;
    }
  }

  // Reading more never changes a verdict: a prefix needs more or is already what the whole input is.
  if (!input.empty()) {
    std::size_t cut = cut_pick % input.size();
    RequestHead prefix = parse_request_head(std::string_view(input).substr(0, cut), max_head);
    if (h.status == HeadStatus::Complete && cut < h.consumed) FUZZ_CHECK(prefix.status == HeadStatus::NeedMore);
    if (prefix.status == HeadStatus::Bad) FUZZ_CHECK(h.status == HeadStatus::Bad && h.error == prefix.error);
    if (prefix.status == HeadStatus::Complete) {
      FUZZ_CHECK(h.status == HeadStatus::Complete && h.consumed == prefix.consumed);
    }
  }
  return 0;
}

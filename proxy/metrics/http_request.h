#pragma once
// The metrics endpoint's HTTP/1.1 (RFC 9112) as pure functions: the request head a scraper sent, what to
// answer it, and the bytes of the answer. No sockets, so every rule is unit-tested and fuzzed alone.
//
// Strict where leniency has been abused (request smuggling, header injection): single spaces in the
// request line, token characters in the method and field names, no space before a field's colon, no
// obs-fold, no NUL or other control byte, no CR that does not end a line, exactly one Host in HTTP/1.1.
// Lenient where clients differ harmlessly: a bare LF ends a line (RFC 9112 §2.2), empty lines before the
// request line are skipped. Bounded: the whole head, request line included, within `max_head` bytes
// (431 beyond, 414 when the request line alone does not fit), at most kMaxFields header fields.
//
// The answer never depends on bytes after the head: there is no body to a GET, and the connection is
// closed after one response (Connection: close), so nothing pipelined behind it is ever read as a request.
#include <cstddef>
#include <string>
#include <string_view>

namespace mxguard::metrics {

inline constexpr std::size_t kMaxRequestHead = 8192;
inline constexpr std::size_t kMaxFields = 64;

enum class HeadStatus { NeedMore, Complete, Bad };

struct RequestHead {
  HeadStatus status = HeadStatus::NeedMore;
  int error = 0;                 // Bad: the status to answer (400, 414, 431, 505)
  std::string_view problem;      // Bad: what was wrong, a fixed text for the log
  std::string_view method;       // Complete: views into the input
  std::string_view target;
  int minor_version = 1;         // HTTP/1.<minor>
  std::size_t consumed = 0;      // Complete: the head's bytes, its blank line included
};

// Looks only at the first `max_head` bytes. NeedMore until a blank line ends the head (or the limit is
// reached); an error in a complete line is reported at once, and reading more never changes it.
RequestHead parse_request_head(std::string_view bytes, std::size_t max_head = kMaxRequestHead);

// What a complete head gets: 200 for GET or HEAD of /metrics (a query string is ignored; the
// absolute form http://host/metrics too), 405 for another method on /metrics, 404 for any other target.
struct Decision {
  int status = 404;
  bool metrics = false;   // 200: the body is the exposition
  bool head_only = false; // HEAD: the headers GET would get, no body
};
Decision route(const RequestHead& head);

// "OK", "Bad Request", "Not Found", ...; "Error" for a status without a phrase here.
std::string_view reason_phrase(int status);

// A complete response that closes the connection: status line, Content-Type, Content-Length (of `body`,
// also for HEAD), Connection: close, Allow for 405; the body unless `head_only`.
std::string http_response(int status, std::string_view content_type, std::string_view body, bool head_only = false);

}  // namespace mxguard::metrics

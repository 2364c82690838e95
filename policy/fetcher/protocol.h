#pragma once
// The fetch protocol between mxguard and mxguard-fetch (design.md, "Policy engine"), spoken over a
// socketpair: mxguard asks for one MTA-STS policy body, mxguard-fetch answers with what the web server
// said. mxguard parses the policy itself; mxguard-fetch never interprets the body.
//
// Framing: every message is a 4-byte big-endian length, then that many bytes: one type byte ('Q' request,
// 'A' answer) and the fields in order. An integer is big-endian (u16, u32); a string is a u32 length and
// its bytes; a list is a u32 count and its strings. A frame over kMaxFrame bytes, an unknown type, a
// field that runs past the frame or bytes left over after the last field are a protocol error: the
// reader stops there (the peer is restarted or the connection dropped, never trusted again).
// Pure: no I/O. Standard library only, so both executables link it.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace mxguard::fetch {

constexpr std::size_t kMaxBody = 64 * 1024;                  // what mxguard-fetch reads of a body
constexpr std::size_t kMaxFrame = kMaxBody + 16 * 1024;      // a body plus every other field, bounded
constexpr std::size_t kMaxAddresses = 64;

struct Request {
  std::uint32_t id = 0;                  // chosen by mxguard, echoed in the answer
  std::string domain;                    // the policy domain; the host is "mta-sts." + domain
  std::uint16_t port = 443;              // [mta_sts] https_port
  std::vector<std::string> addresses;    // IP literals mxguard's resolver found for the host (CURLOPT_RESOLVE)
  std::string ca_file;                   // [mta_sts] ca_file
  std::uint32_t connect_timeout_ms = 10000;
  std::uint32_t total_timeout_ms = 30000;

  friend bool operator==(const Request&, const Request&) = default;
};

// How the fetch ended. Only Http carries a status, content type and body; the others say why there is
// no HTTP answer (`detail` has the library's words).
enum class Outcome : std::uint8_t {
  Http = 1,          // the server answered (any status: mxguard decides what a 301 or 404 means)
  TooLarge = 2,      // the body is over kMaxBody: it was not read further
  Certificate = 3,   // the server's certificate did not verify for the host under ca_file (sts-webpki-invalid)
  Tls = 4,           // the TLS handshake failed for another reason
  Connect = 5,       // no address could be connected to
  Timeout = 6,       // connect or total timeout
  Failed = 7,        // anything else (bad request, the fetcher could not start the transfer)
};
std::string_view to_string(Outcome outcome);

struct Answer {
  std::uint32_t id = 0;
  Outcome outcome = Outcome::Failed;
  std::uint16_t status = 0;          // Http: the HTTP status code
  std::string content_type;          // Http: the Content-Type header's value, as sent ("" if none)
  std::string body;                  // Http: at most kMaxBody bytes
  std::string detail;                // not Http: why, for the log ("SSL certificate problem: ...")

  friend bool operator==(const Answer&, const Answer&) = default;
};

// Whole frames, length prefix included.
std::string encode(const Request& request);
std::string encode(const Answer& answer);

using Message = std::variant<Request, Answer>;

// Collects bytes as they arrive and yields whole messages.
class FrameReader {
 public:
  void feed(std::span<const char> bytes);
  void feed(std::string_view bytes) { feed(std::span<const char>(bytes.data(), bytes.size())); }
  void feed(const std::string& bytes) { feed(std::string_view(bytes)); }
  // The next whole message, or nullopt when more bytes are needed or after an error.
  std::optional<Message> next();
  // Set once the stream is broken (see above); never cleared.
  const std::string& error() const { return error_; }

 private:
  std::string buffer_;
  std::size_t consumed_ = 0;
  std::string error_;
};

// One frame's payload (after the length prefix): the message, or what is wrong with it.
std::variant<Message, std::string> decode_payload(std::string_view payload);

}  // namespace mxguard::fetch

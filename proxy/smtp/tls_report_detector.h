#pragma once
// Whether a message is a TLS report (RFC 8460 §5.3), from the content as it streams through. A session
// that carries a report must not be counted in the next day's reports (RFC 8460 §5.3: "SHOULD NOT
// include this SMTP session in the next report"), or every report about a failing domain would report
// itself. RFC 8460 §5.3 makes the header field TLS-Report-Domain part of every report message, so its
// presence in the message's header section is the mark. Pure: no I/O.
//
// Only the header section counts (up to the first empty line): a message that quotes a report in its
// body is not one. Field names are case-insensitive (RFC 5322 §1.2.2). The scan is bounded: past
// kMaxHeaderBytes of header section, or once the body starts, further content is not looked at.
#include <cstddef>
#include <string>
#include <string_view>

namespace mxguard::smtp {

class TlsReportDetector {
 public:
  static constexpr std::size_t kMaxHeaderBytes = 256 * 1024;
  static constexpr std::size_t kMaxValueBytes = 255;

  // Content bytes in order (dot-stuffed as on the wire, CRLF line ends; a split anywhere is fine).
  void feed(std::string_view bytes);

  bool is_report() const { return found_; }
  // The field's value (the policy domain), whitespace trimmed, at most kMaxValueBytes; "" if none.
  const std::string& report_domain() const { return value_; }

 private:
  void line_done();

  std::string line_;         // the current header line so far (bounded)
  std::size_t seen_ = 0;     // header-section bytes looked at
  bool done_ = false;        // the body started, or the header section was too long
  bool found_ = false;
  std::string value_;
};

}  // namespace mxguard::smtp

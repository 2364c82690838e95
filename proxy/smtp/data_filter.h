#pragma once
// The SMTP smuggling shield for message content (design.md, inbound step 6). Pure: no I/O.
//
// Only <CR><LF>.<CR><LF> ends the message. Content is framed by CRLF alone; a bare CR, a bare LF or a NUL
// inside a line is either an error (Reject) or rewritten (Normalize) so that the backend sees only CRLF
// line ends and correct dot-stuffing, and can never see an end-of-data that the client did not send as
// <CR><LF>.<CR><LF>.
#include "base/bare_newlines.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mxguard::smtp {

using mxguard::BareNewlines;   // base/bare_newlines.h, shared with the configuration

enum class DataError {
  None,
  BareLineEnding,  // a bare CR or LF in Reject mode
  Nul,             // a NUL byte in Reject mode
  LineTooLong,     // a content line longer than max_line (CRLF included)
  MessageTooBig,   // more content bytes than max_message_size
};

std::string_view to_string(DataError e);   // for the process log: "bare CR or LF in content", ...

// Where the content line starting at `pos` ends, and its first anomaly.
struct LineScan {
  std::size_t crlf;      // index in the input of the line's first "\r\n"; npos if the input holds none yet
  std::size_t anomaly;   // the first bare CR, bare LF or NUL, relative to the line; npos if none (or no crlf)
};
// The same as in.find("\r\n", pos) and a find_first_of("\r\n\0") over the line, but a few memchr calls
// per line: libstdc++'s find_first_of calls memchr once per byte, which was the filter's main cost.
LineScan scan_line(std::string_view in, std::size_t pos);

struct DataFeed {
  std::size_t consumed = 0;   // bytes of the input used; the rest stays with the caller for the next feed
  bool end_of_data = false;   // the terminating <CR><LF>.<CR><LF> was consumed (it is in `out` unless error)
  DataError error = DataError::None;  // first error seen; set as soon as it is seen, reported until the end
};

class DataFilter {
 public:
  // max_message_size 0 means no limit (as EhloOffer::max_message_size 0 announces none).
  DataFilter(BareNewlines mode, std::size_t max_line, std::uint64_t max_message_size);

  // Consumes whole content lines from `in` and appends what the backend must receive to `out`:
  // lines without anomalies byte for byte (the client's dot-stuffing kept), normalised lines rewritten,
  // and finally ".\r\n" at end of data. Once an error is seen nothing more is appended and the filter
  // only looks for the end of data (so the session can answer and stay in sync). A partial line at the
  // end of `in` is left unconsumed unless it is already longer than max_line.
  DataFeed feed(std::string_view in, std::string& out);

  bool failed() const { return error_ != DataError::None; }
  DataError error() const { return error_; }
  std::uint64_t message_bytes() const { return message_bytes_; }  // content bytes seen so far
  bool normalized() const { return normalized_; }                 // at least one line was rewritten

 private:
  BareNewlines mode_;
  std::size_t max_line_;
  std::uint64_t max_message_size_;
  std::uint64_t message_bytes_ = 0;
  DataError error_ = DataError::None;
  bool normalized_ = false;
  // Discarding after an error (or inside an overlong line): how much of "\r\n.\r\n" has been matched.
  // 5 once the end of data has been consumed (in either mode); later feeds consume nothing.
  int eod_match_ = 2;   // start of content counts as if a CRLF preceded it
};

}  // namespace mxguard::smtp

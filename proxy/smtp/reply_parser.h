#pragma once
// Parses SMTP replies (RFC 5321 §4.2) from a server. Pure: no I/O.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace mxguard::smtp {

struct Reply {
  int code = 0;                     // 200..599
  std::vector<std::string> lines;   // text of each line, after "NNN-" / "NNN " (may be empty)

  // "NNN-text\r\n" ... "NNN text\r\n"; an empty text gives "NNN\r\n" on the last line.
  std::string serialize() const;
  int klass() const { return code / 100; }  // 2, 3, 4 or 5
};

enum class ReplyStatus {
  Complete,   // `reply` holds one whole reply, `consumed` bytes of the input belong to it
  NeedMore,   // the input ends inside a reply (no bytes consumed)
  Malformed,  // not an SMTP reply: bad code, bad separator, codes differ between lines, control bytes
  TooLong,    // a line longer than max_line, or more than max_lines lines
};

struct ReplyParse {
  ReplyStatus status = ReplyStatus::NeedMore;
  Reply reply;
  std::size_t consumed = 0;
  std::string error;   // Malformed / TooLong: what was wrong, for the log (printable ASCII only)
};

// Lines end with CRLF; a bare LF is accepted too (old servers), the text never keeps the CR.
// Codes must be three digits with the first in 2..5 and the second in 0..5, followed by '-', ' ' or the
// end of the line; every line of a multi-line reply must carry the same code.
ReplyParse parse_reply(std::string_view input, std::size_t max_line = 2048, std::size_t max_lines = 100);

}  // namespace mxguard::smtp

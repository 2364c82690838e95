#pragma once
// Command framing for every SMTP server side of mxguard: bytes in, one of Line / Refuse / NeedMore out.
// Bounded: an overlong line is refused once and the rest of it is skipped, however long it is, without
// ever being buffered. Holds only that one bit of state; no I/O.
#include <cstddef>
#include <string_view>

#include "proxy/smtp/reply_table.h"

namespace mxguard::smtp {

enum class ReadStatus {
  Line,      // `line` is one command line without its CRLF
  Refuse,    // the bytes consumed were not a usable command line: answer `refusal`
  NeedMore,  // no complete line yet; nothing consumed
};

struct CommandRead {
  ReadStatus status = ReadStatus::NeedMore;
  std::string_view line;          // Line: a view into the input
  std::size_t consumed = 0;       // bytes of the input to drop (Line, Refuse, and while skipping)
  ReplyId refusal = ReplyId::LineTooLong;
  bool forbidden_control = false; // Line: holds NUL, a bare CR or another control byte but TAB
};

class CommandReader {
 public:
  explicit CommandReader(std::size_t max_line) : max_line_(max_line) {}

  // The next result for `input`. A result with status NeedMore may still have consumed bytes (the tail
  // of an overlong line being skipped): the caller always erases `consumed` bytes.
  CommandRead next(std::string_view input);

  // Forget a half-skipped overlong line (STARTTLS throws the plaintext input away).
  void reset() { skipping_ = false; }
  bool skipping() const { return skipping_; }

 private:
  std::size_t max_line_;
  bool skipping_ = false;
};

}  // namespace mxguard::smtp

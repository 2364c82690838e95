#pragma once
// Bounded line splitting for the SMTP command phase. Pure: no I/O, no allocation.
#include <cstddef>
#include <string_view>

namespace mxguard::smtp {

enum class LineStatus {
  Complete,  // a line ended by LF was found within the limit
  NeedMore,  // no LF yet and the input is still shorter than the limit
  TooLong,   // the line exceeds the limit; see LineResult::terminated
};

struct LineResult {
  LineStatus status = LineStatus::NeedMore;
  // Complete: the line without its terminator (CRLF or a bare LF). Views into the input.
  std::string_view line;
  // Bytes of the input this result accounts for: the line and its terminator (Complete), everything up to
  // and including the LF (TooLong, terminated) or the whole input (TooLong, not terminated). 0 for NeedMore.
  std::size_t consumed = 0;
  bool bare_lf = false;     // Complete: the line ended with LF not preceded by CR
  bool terminated = false;  // TooLong: the LF that ends the overlong line was found within the input
};

// Finds the first line in `input`. `max_line` counts the terminator too (RFC 5321 §4.5.3.1.4 counts CRLF),
// so a line of max_line-2 characters plus CRLF is Complete and one character more is TooLong.
// A caller that gets TooLong with terminated == false must discard input up to the next LF itself
// (see skip_to_line_end) before calling again.
LineResult next_line(std::string_view input, std::size_t max_line);

// While discarding the rest of an overlong line: how many bytes of `input` to drop, and whether the LF that
// ends the line was among them.
struct SkipResult {
  std::size_t consumed = 0;
  bool found_end = false;
};
SkipResult skip_to_line_end(std::string_view input);

}  // namespace mxguard::smtp

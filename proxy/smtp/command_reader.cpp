#include "proxy/smtp/command_reader.h"

#include "proxy/smtp/command.h"
#include "proxy/smtp/line_reader.h"

namespace mxguard::smtp {

CommandRead CommandReader::next(std::string_view input) {
  CommandRead out;
  if (skipping_) {
    SkipResult skip = skip_to_line_end(input);
    skipping_ = !skip.found_end;
    out.consumed = skip.consumed;
    if (skip.found_end) {
      // The rest of the overlong line is gone; what follows is judged on its own.
      CommandRead rest = next(input.substr(skip.consumed));
      rest.consumed += skip.consumed;
      return rest;
    }
    return out;
  }
  LineResult line = next_line(input, max_line_);
  switch (line.status) {
    case LineStatus::NeedMore:
      return out;
    case LineStatus::TooLong:
      out.status = ReadStatus::Refuse;
      out.refusal = ReplyId::LineTooLong;
      out.consumed = line.consumed;
      skipping_ = !line.terminated;
      return out;
    case LineStatus::Complete:
      break;
  }
  out.consumed = line.consumed;
  if (line.bare_lf) {
    // A bare LF ends the line for some servers and not for others: never pass such a line on.
    out.status = ReadStatus::Refuse;
    out.refusal = ReplyId::BareLfInCommand;
    return out;
  }
  out.status = ReadStatus::Line;
  out.line = line.line;
  out.forbidden_control = has_forbidden_control(line.line);
  return out;
}

}  // namespace mxguard::smtp

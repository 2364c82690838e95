#include "proxy/smtp/line_reader.h"

namespace mxguard::smtp {

LineResult next_line(std::string_view input, std::size_t max_line) {
  LineResult result;
  if (input.empty()) return result;
  std::size_t lf = input.find('\n');
  if (lf == std::string_view::npos) {
    // Without an LF the line will be at least one byte longer than what we hold, so at max_line bytes it
    // is already too long; refusing now keeps the caller's buffer bounded.
    if (input.size() >= max_line) {
      result.status = LineStatus::TooLong;
      result.consumed = input.size();
    }
    return result;
  }
  std::size_t length = lf + 1;
  if (length > max_line) {
    result.status = LineStatus::TooLong;
    result.consumed = length;
    result.terminated = true;
    return result;
  }
  result.status = LineStatus::Complete;
  result.consumed = length;
  result.bare_lf = lf == 0 || input[lf - 1] != '\r';
  result.line = input.substr(0, result.bare_lf ? lf : lf - 1);
  return result;
}

SkipResult skip_to_line_end(std::string_view input) {
  std::size_t lf = input.find('\n');
  if (lf == std::string_view::npos) return {input.size(), false};
  return {lf + 1, true};
}

}  // namespace mxguard::smtp

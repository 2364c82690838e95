#include "proxy/smtp/reply_parser.h"

namespace mxguard::smtp {

std::string Reply::serialize() const {
  std::string code_text = std::to_string(code);
  std::string out;
  if (lines.empty()) return code_text + "\r\n";
  for (std::size_t i = 0; i < lines.size(); ++i) {
    bool last = i + 1 == lines.size();
    out += code_text;
    if (!last || !lines[i].empty()) out += last ? ' ' : '-';
    out += lines[i];
    out += "\r\n";
  }
  return out;
}

namespace {

// TAB is the only control byte RFC 5321 allows in reply text; bytes >= 0x80 are let through because
// SMTPUTF8 servers may echo UTF-8 addresses.
bool is_text_byte(unsigned char c) { return c == '\t' || (c >= 0x20 && c != 0x7f); }

int code_of(std::string_view line) {
  return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
}

// Why `line` (CR of its CRLF already removed) cannot be a reply line, or "" if it can. A partial line is
// checked as far as it goes, so a garbage-talking backend is caught without waiting for an LF.
std::string_view line_error(std::string_view line, bool complete, int expected_code) {
  for (std::size_t i = 0; i < line.size() && i < 3; ++i) {
    char low = i == 0 ? '2' : '0';
    char high = i == 2 ? '9' : '5';
    if (line[i] < low || line[i] > high) return "invalid reply code";
  }
  if (line.size() < 3) return complete ? "invalid reply code" : "";
  if (expected_code != 0 && code_of(line) != expected_code) return "reply code differs between lines";
  if (line.size() == 3) return "";
  if (line[3] != '-' && line[3] != ' ') return "invalid separator after reply code";
  for (char c : line.substr(4)) {
    if (!is_text_byte(static_cast<unsigned char>(c))) return "control byte in reply text";
  }
  return "";
}

ReplyParse failure(ReplyStatus status, std::size_t line_number, std::string_view what) {
  ReplyParse result;
  result.status = status;
  result.error = "line " + std::to_string(line_number) + ": " + std::string(what);
  return result;
}

}  // namespace

ReplyParse parse_reply(std::string_view input, std::size_t max_line, std::size_t max_lines) {
  Reply reply;
  std::size_t pos = 0;
  while (true) {
    std::size_t line_number = reply.lines.size() + 1;
    std::string_view rest = input.substr(pos);
    std::size_t lf = rest.find('\n');
    bool complete = lf != std::string_view::npos;
    std::size_t length = complete ? lf + 1 : rest.size();
    // Without its LF the line is at least one byte longer than what is here.
    if (complete ? length > max_line : length >= max_line) {
      return failure(ReplyStatus::TooLong, line_number, "longer than " + std::to_string(max_line) + " bytes");
    }
    std::string_view line = rest.substr(0, complete ? lf : rest.size());
    // The CR of CRLF (or, for a partial line, a CR that may turn out to be one).
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::string_view error = line_error(line, complete, reply.lines.empty() ? 0 : reply.code);
    if (!error.empty()) return failure(ReplyStatus::Malformed, line_number, error);
    if (!complete) return {};

    reply.code = code_of(line);
    reply.lines.emplace_back(line.size() > 3 ? line.substr(4) : std::string_view());
    pos += length;
    if (line.size() == 3 || line[3] == ' ') {
      ReplyParse result;
      result.status = ReplyStatus::Complete;
      result.reply = std::move(reply);
      result.consumed = pos;
      return result;
    }
    if (reply.lines.size() >= max_lines) {
      return failure(ReplyStatus::TooLong, line_number, "more than " + std::to_string(max_lines) + " lines");
    }
  }
}

}  // namespace mxguard::smtp

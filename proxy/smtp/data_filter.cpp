#include "proxy/smtp/data_filter.h"

#include <algorithm>
#include <cstring>

namespace mxguard::smtp {

std::string_view to_string(DataError e) {
  switch (e) {
    case DataError::BareLineEnding: return "bare CR or LF in content";
    case DataError::Nul: return "NUL in content";
    case DataError::LineTooLong: return "content line too long";
    case DataError::MessageTooBig: return "message too big";
    case DataError::None: break;
  }
  return "none";
}


namespace {

constexpr std::string_view kEndOfData = "\r\n.\r\n";
constexpr int kLineStart = 2;   // matched "\r\n": the next byte starts a line
constexpr int kMatched = 5;

// One step of the "\r\n.\r\n" matcher. The pattern overlaps itself only in its leading CR, so a mismatch
// falls back to 1 on CR and to 0 otherwise.
int advance(int state, char c) {
  if (c == kEndOfData[static_cast<std::size_t>(state)]) return state + 1;
  return c == '\r' ? 1 : 0;
}

// One line of normalised output: NULs dropped, dot-stuffed, CRLF. Stuffing here is what guarantees that no
// rewritten line can read as the end of data.
void emit_segment(std::string_view segment, std::string& out) {
  std::size_t first = segment.find_first_not_of('\0');
  if (first != std::string_view::npos && segment[first] == '.') out += '.';
  for (char c : segment) {
    if (c != '\0') out += c;
  }
  out += "\r\n";
}

// `line` holds a bare CR, a bare LF or a NUL (its CRLF frame excluded). Each bare CR and each bare LF
// becomes a line end of its own: none of them is part of a CRLF pair, since the line ends at the first one.
void normalize(std::string_view line, std::string& out) {
  if (!line.empty() && line.front() == '.') line.remove_prefix(1);   // the client's own stuffing
  while (true) {
    std::size_t end = line.find_first_of("\r\n");
    emit_segment(line.substr(0, end), out);
    if (end == std::string_view::npos) return;
    line.remove_prefix(end + 1);
  }
}

// The first CR or NUL in `s`; npos if none.
std::size_t first_cr_or_nul(std::string_view s) {
  const void* cr = std::memchr(s.data(), '\r', s.size());
  std::size_t before_cr = cr == nullptr ? s.size() : static_cast<std::size_t>(static_cast<const char*>(cr) - s.data());
  const void* nul = std::memchr(s.data(), '\0', before_cr);
  if (nul != nullptr) return static_cast<std::size_t>(static_cast<const char*>(nul) - s.data());
  return cr == nullptr ? std::string_view::npos : before_cr;
}

}  // namespace

LineScan scan_line(std::string_view in, std::size_t pos) {
  constexpr std::size_t npos = std::string_view::npos;
  std::string_view rest = in.substr(pos);
  const void* found = std::memchr(rest.data(), '\n', rest.size());
  if (found == nullptr) return {npos, npos};   // no LF, so no CRLF either
  std::size_t lf = static_cast<std::size_t>(static_cast<const char*>(found) - rest.data());
  if (lf > 0 && rest[lf - 1] == '\r') {
    // The usual line: its CRLF holds the first LF, so the line itself holds no LF.
    return {pos + lf - 1, first_cr_or_nul(rest.substr(0, lf - 1))};
  }
  // A bare LF: the line runs on to the next CRLF, which starts after it, and the LF is an anomaly.
  std::size_t crlf = in.find("\r\n", pos + lf + 1);
  if (crlf == npos) return {npos, npos};
  return {crlf, std::min(first_cr_or_nul(rest.substr(0, lf)), lf)};
}

DataFilter::DataFilter(BareNewlines mode, std::size_t max_line, std::uint64_t max_message_size)
    : mode_(mode), max_line_(max_line), max_message_size_(max_message_size) {}

DataFeed DataFilter::feed(std::string_view in, std::string& out) {
  std::size_t pos = 0;
  while (eod_match_ != kMatched && pos < in.size()) {
    if (failed()) {
      // Only the real terminator matters now; it may straddle feeds, hence the matcher state.
      std::size_t start = pos;
      while (pos < in.size() && eod_match_ != kMatched) eod_match_ = advance(eod_match_, in[pos++]);
      message_bytes_ += pos - start;
      if (eod_match_ == kMatched) message_bytes_ -= 3;   // ".\r\n" ends the content, it is not part of it
      break;
    }

    LineScan scan = scan_line(in, pos);
    if (scan.crlf == std::string_view::npos) {
      std::string_view partial = in.substr(pos);
      // The shortest the line can still turn out to be. The end-of-data line is tested before the length,
      // so a line that may still become it is never too long.
      std::size_t at_least = partial.size() + (partial.back() == '\r' ? 1 : 2);
      if (at_least <= max_line_ || partial == "." || partial == ".\r") break;
      error_ = DataError::LineTooLong;
      eod_match_ = kLineStart;   // discard from the start of this line
      continue;
    }

    std::string_view line = in.substr(pos, scan.crlf - pos);
    pos = scan.crlf + 2;
    if (line == ".") {
      eod_match_ = kMatched;
      out += ".\r\n";
      break;
    }
    std::size_t length = line.size() + 2;
    message_bytes_ += length;
    std::size_t anomaly = scan.anomaly;
    if (length > max_line_) {
      error_ = DataError::LineTooLong;
    } else if (max_message_size_ != 0 && message_bytes_ > max_message_size_) {
      error_ = DataError::MessageTooBig;
    } else if (anomaly == std::string_view::npos) {
      out.append(line.data(), length);   // the line and its CRLF, exactly as the client sent them
    } else if (mode_ == BareNewlines::Reject) {
      error_ = line[anomaly] == '\0' ? DataError::Nul : DataError::BareLineEnding;
    } else {
      normalize(line, out);
      normalized_ = true;
    }
    if (failed()) eod_match_ = kLineStart;   // this line's CRLF was consumed with it
  }

  DataFeed result;
  result.consumed = pos;
  result.end_of_data = eod_match_ == kMatched;
  result.error = error_;
  return result;
}

}  // namespace mxguard::smtp

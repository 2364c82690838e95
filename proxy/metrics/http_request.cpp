#include "proxy/metrics/http_request.h"

namespace mxguard::metrics {
namespace {

// RFC 9110 §5.6.2 tchar.
bool is_tchar(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-': case '.':
    case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!is_tchar(c)) return false;
  }
  return true;
}

bool ascii_iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

RequestHead bad(int status, std::string_view problem) {
  RequestHead h;
  h.status = HeadStatus::Bad;
  h.error = status;
  h.problem = problem;
  return h;
}

// One line without its line end; `ok` false when it holds a CR (bare CR: never a line end here).
struct Line {
  std::string_view text;
  std::size_t next = 0;   // where the following line starts
  bool complete = false;
};

Line next_line(std::string_view bytes, std::size_t at) {
  Line line;
  std::size_t lf = bytes.find('\n', at);
  if (lf == std::string_view::npos) return line;
  std::size_t end = lf > at && bytes[lf - 1] == '\r' ? lf - 1 : lf;
  line.text = bytes.substr(at, end - at);
  line.next = lf + 1;
  line.complete = true;
  return line;
}

// method SP request-target SP HTTP-version (RFC 9112 §3).
RequestHead parse_request_line(std::string_view line) {
  RequestHead h;
  std::size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return bad(400, "request line without spaces");
  std::size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return bad(400, "request line without a version");
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (!is_token(method)) return bad(400, "method is not a token");
  if (target.empty()) return bad(400, "empty request target");
  for (char c : target) {
    if (c <= 0x20 || c >= 0x7f) return bad(400, "request target with a space or a byte outside visible ASCII");
  }
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' || version[5] < '0' ||
      version[5] > '9' || version[7] < '0' || version[7] > '9') {
    return bad(400, "malformed HTTP version");
  }
  if (version[5] != '1') return bad(505, "HTTP major version other than 1");
  h.method = method;
  h.target = target;
  h.minor_version = version[7] - '0';
  return h;
}

// field-name ":" OWS field-value OWS (RFC 9112 §5). Returns the problem, or "" when the line is valid.
std::string_view check_field(std::string_view line, std::string_view& name, std::string_view& value) {
  if (line.front() == ' ' || line.front() == '\t') return "obs-fold (a field line starting with whitespace)";
  std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) return "field line without a colon";
  name = line.substr(0, colon);
  if (!is_token(name)) return "field name is not a token (or whitespace before the colon)";
  value = line.substr(colon + 1);
  for (char c : value) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) return "control byte in a field value";
  }
  return {};
}

std::string_view target_path(std::string_view target) {
  // The absolute form (a proxy's request; RFC 9112 §3.2.2 says to accept it): the path after the authority.
  if (target.size() > 7 && ascii_iequals(target.substr(0, 7), "http://")) {
    std::size_t slash = target.find('/', 7);
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  return target.substr(0, target.find('?'));
}

}  // namespace

RequestHead parse_request_head(std::string_view bytes, std::size_t max_head) {
  bool over = bytes.size() >= max_head;
  bytes = bytes.substr(0, max_head);   // nothing past the limit is looked at: a longer input fails the same way
  // A CR must end a line; anywhere else it is a bare CR, which some parsers take as a line end.
  std::size_t at = 0;
  RequestHead head;
  bool have_request_line = false;
  std::size_t fields = 0;
  std::size_t hosts = 0;
  for (;;) {
    Line line = next_line(bytes, at);
    if (!line.complete) {
      std::string_view rest = bytes.substr(at);
      std::size_t cr = rest.find('\r');
      if (cr != std::string_view::npos && cr + 1 < rest.size()) return bad(400, "bare CR");
      if (rest.find('\0') != std::string_view::npos) return bad(400, "NUL byte");
      if (!over) return head;   // NeedMore
      return have_request_line ? bad(431, "request head over the size limit")
                               : bad(414, "request line over the size limit");
    }
    if (line.text.find('\r') != std::string_view::npos) return bad(400, "bare CR");
    if (line.text.find('\0') != std::string_view::npos) return bad(400, "NUL byte");
    at = line.next;
    if (!have_request_line) {
      if (line.text.empty()) continue;   // RFC 9112 §2.2: empty lines before the request line are ignored
      head = parse_request_line(line.text);
      if (head.status == HeadStatus::Bad) return head;
      have_request_line = true;
      continue;
    }
    if (line.text.empty()) break;   // the blank line: the head is complete
    if (++fields > kMaxFields) return bad(431, "too many header fields");
    std::string_view name, value;
    if (std::string_view problem = check_field(line.text, name, value); !problem.empty()) return bad(400, problem);
    if (ascii_iequals(name, "host")) ++hosts;
  }
  // RFC 9112 §3.2: a 1.1 request without a Host, or with more than one, is answered 400.
  if (head.minor_version >= 1 && hosts != 1) return bad(400, hosts == 0 ? "no Host field" : "more than one Host field");
  if (hosts > 1) return bad(400, "more than one Host field");
  head.status = HeadStatus::Complete;
  head.consumed = at;
  return head;
}

Decision route(const RequestHead& head) {
  Decision d;
  if (head.status != HeadStatus::Complete) {
    d.status = head.error == 0 ? 400 : head.error;
    return d;
  }
  if (target_path(head.target) != "/metrics") {
    d.status = 404;
    return d;
  }
  // Methods are case-sensitive (RFC 9110 §9.1): "get" is not GET.
  if (head.method != "GET" && head.method != "HEAD") {
    d.status = 405;
    return d;
  }
  d.status = 200;
  d.metrics = true;
  d.head_only = head.method == "HEAD";
  return d;
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Error";
  }
}

std::string http_response(int status, std::string_view content_type, std::string_view body, bool head_only) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason_phrase(status)) + "\r\n";
  out += "Content-Type: ";
  out += content_type;
  out += "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  if (status == 405) out += "Allow: GET, HEAD\r\n";
  out += "Connection: close\r\n\r\n";
  if (!head_only) out += body;
  return out;
}

}  // namespace mxguard::metrics

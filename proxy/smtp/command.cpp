#include "proxy/smtp/command.h"

#include "base/ascii.h"

#include <array>
#include <utility>

namespace mxguard::smtp {

namespace {

constexpr std::array<std::pair<Verb, std::string_view>, 17> kVerbs{{
    {Verb::Helo, "HELO"}, {Verb::Ehlo, "EHLO"}, {Verb::Mail, "MAIL"}, {Verb::Rcpt, "RCPT"},
    {Verb::Data, "DATA"}, {Verb::Bdat, "BDAT"}, {Verb::Rset, "RSET"}, {Verb::Noop, "NOOP"},
    {Verb::Quit, "QUIT"}, {Verb::Vrfy, "VRFY"}, {Verb::Expn, "EXPN"}, {Verb::Help, "HELP"},
    {Verb::Starttls, "STARTTLS"}, {Verb::Auth, "AUTH"}, {Verb::Xclient, "XCLIENT"},
    {Verb::Xforward, "XFORWARD"}, {Verb::Etrn, "ETRN"},
}};

using ascii::iequals;

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_utf8(char c) { return static_cast<unsigned char>(c) >= 0x80; }   // SMTPUTF8 (RFC 6531)

// RFC 5322 atext, plus UTF-8 for internationalised local parts.
bool is_atext(char c) {
  return is_alpha(c) || is_digit(c) || is_utf8(c) || std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

// A cursor over the argument; each parse_* consumes what it recognises and says whether it did.
struct Cursor {
  std::string_view s;
  std::size_t i = 0;
  bool done() const { return i >= s.size(); }
  char peek() const { return done() ? '\0' : s[i]; }
  bool take(char c) {
    if (done() || s[i] != c) return false;
    ++i;
    return true;
  }
};

// sub-domain *("." sub-domain), sub-domain = Let-dig [Ldh-str]; U-labels allowed for SMTPUTF8.
bool parse_domain(Cursor& c) {
  std::size_t start = c.i;
  while (true) {
    std::size_t label = c.i;
    while (!c.done() && (is_alpha(c.peek()) || is_digit(c.peek()) || is_utf8(c.peek()) || c.peek() == '-')) ++c.i;
    if (c.i == label || c.s[label] == '-' || c.s[c.i - 1] == '-') return false;
    if (!c.take('.')) break;
  }
  return c.i > start;
}

// "[" dcontent "]": IPv4, "IPv6:..." or a general literal; the exact syntax is the backend's business.
bool parse_address_literal(Cursor& c) {
  if (!c.take('[')) return false;
  std::size_t start = c.i;
  while (!c.done()) {
    unsigned char ch = static_cast<unsigned char>(c.peek());
    if (ch < 33 || ch > 126 || ch == '[' || ch == ']' || ch == '\\') break;
    ++c.i;
  }
  return c.i > start && c.take(']');
}

bool parse_local_part(Cursor& c) {
  if (c.take('"')) {
    while (!c.done() && c.peek() != '"') {
      unsigned char ch = static_cast<unsigned char>(c.peek());
      if (ch == '\\') {   // quoted-pair: backslash and one printable character
        ++c.i;
        if (c.done()) return false;
        ch = static_cast<unsigned char>(c.peek());
        if (ch < 32 || ch > 126) return false;
      } else if (ch < 32 || ch == 127) {
        return false;
      }
      ++c.i;
    }
    return c.take('"');
  }
  // Dot-string, leniently: consecutive or trailing dots occur in real mail and do not hide the domain.
  std::size_t start = c.i;
  while (!c.done() && (is_atext(c.peek()) || c.peek() == '.')) ++c.i;
  return c.i > start;
}

}  // namespace

std::string_view to_string(Verb verb) {
  for (const auto& [v, name] : kVerbs) {
    if (v == verb) return name;
  }
  return "UNKNOWN";
}

Command classify(std::string_view line) {
  Command command;
  // The verb runs up to the first space. A line that starts with a space therefore has an empty verb and is
  // Unknown: servers disagree on whether leading blanks are allowed, and we forward nothing ambiguous.
  std::size_t end = line.find(' ');
  command.verb_text = line.substr(0, end);
  if (end != std::string_view::npos) {
    std::string_view args = line.substr(end);
    std::size_t first = args.find_first_not_of(' ');
    if (first != std::string_view::npos) {
      std::size_t last = args.find_last_not_of(' ');
      command.args = args.substr(first, last - first + 1);
    }
  }
  for (const auto& [v, name] : kVerbs) {
    if (iequals(command.verb_text, name)) {
      command.verb = v;
      break;
    }
  }
  return command;
}

namespace {
// The domain of "<KEYWORD><path> [params]", for MAIL FROM: and RCPT TO:. `allow_null`: "<>" is a path.
std::optional<std::string> path_domain(std::string_view args, std::string_view keyword, bool allow_null) {
  if (args.size() < keyword.size() || !iequals(args.substr(0, keyword.size()), keyword)) return std::nullopt;
  Cursor c{args, keyword.size()};
  while (c.take(' ')) {}   // "FROM: <a@b>" is common enough (and accepted by Postfix) to tolerate
  if (!c.take('<')) return std::nullopt;

  std::string domain;
  if (c.take('>')) {
    if (!allow_null) return std::nullopt;
  } else {
    // A-d-l (RFC 5321 §4.1.2): "@one,@two:" - obsolete, must be accepted, and ignored.
    if (c.peek() == '@') {
      do {
        if (!c.take('@') || !parse_domain(c)) return std::nullopt;
      } while (c.take(','));
      if (!c.take(':')) return std::nullopt;
    }
    if (!parse_local_part(c) || !c.take('@')) return std::nullopt;
    std::size_t start = c.i;
    if (c.peek() == '[' ? !parse_address_literal(c) : !parse_domain(c)) return std::nullopt;
    domain = std::string(args.substr(start, c.i - start));
    if (!c.take('>')) return std::nullopt;
  }
  // Parameters follow after a space; anything glued to the path is not a path.
  if (!c.done() && c.peek() != ' ') return std::nullopt;
  for (char& ch : domain) ch = ascii::lower(ch);
  return domain;
}
}  // namespace

std::optional<std::string> mail_from_domain(std::string_view mail_args) {
  return path_domain(mail_args, "FROM:", /*allow_null=*/true);
}

std::optional<std::string> rcpt_to_domain(std::string_view rcpt_args) {
  // RFC 5321 §4.1.1.3: "<Postmaster>" without a domain is a valid recipient; it has no domain to route to
  // outbound, so it is refused there like any other unroutable path.
  return path_domain(rcpt_args, "TO:", /*allow_null=*/false);
}

bool has_forbidden_control(std::string_view line) {
  for (char c : line) {
    if (static_cast<unsigned char>(c) < 0x20 && c != '\t') return true;
  }
  return false;
}

}  // namespace mxguard::smtp

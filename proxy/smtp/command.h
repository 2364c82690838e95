#pragma once
// Classifies SMTP command lines (RFC 5321 §4.1) coming from a client. Pure: no I/O.
#include <optional>
#include <string>
#include <string_view>

namespace mxguard::smtp {

enum class Verb {
  Helo, Ehlo, Mail, Rcpt, Data, Bdat, Rset, Noop, Quit, Vrfy, Expn, Help, Starttls, Auth,
  Xclient, Xforward, Etrn, Unknown,
};

std::string_view to_string(Verb verb);   // upper-case verb name; "UNKNOWN" for Unknown

struct Command {
  Verb verb = Verb::Unknown;
  std::string_view verb_text;   // the verb as the client wrote it
  std::string_view args;        // everything after the verb and its separating spaces, trailing spaces removed
};

// `line` is one command line without its CRLF. Verbs are case-insensitive. "MAIL FROM:" and "RCPT TO:" are
// recognised by their verb alone; the argument syntax is checked by the parse functions below.
Command classify(std::string_view line);

// The domain of a MAIL FROM:<local@domain> argument (args as classify() returns them, e.g.
// "FROM:<a@Example.COM> SIZE=10"), lower-cased. The null reverse-path <> gives an empty string.
// std::nullopt when the argument is not a syntactically valid reverse-path.
std::optional<std::string> mail_from_domain(std::string_view mail_args);

// The domain of a RCPT TO:<local@domain> argument, lower-cased; std::nullopt for anything else (including
// "<>" and "<Postmaster>", which carry no domain).
std::optional<std::string> rcpt_to_domain(std::string_view rcpt_args);

// True when the line holds a byte a command line may not: NUL, a bare CR, or anything below 0x20 but TAB.
bool has_forbidden_control(std::string_view line);

}  // namespace mxguard::smtp

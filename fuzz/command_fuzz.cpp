// Command classification and the MAIL FROM domain. Checks that classify() returns views into the line
// that fit its contract, and that an extracted domain is lower-case, free of path syntax, and extracted
// again unchanged from a plain path around it.
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/check.h"
#include "proxy/smtp/command.h"

using namespace mxguard::smtp;

namespace {

bool inside(std::string_view part, std::string_view whole) {
  return part.empty() || (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view line(reinterpret_cast<const char*>(data), size);

  Command c = classify(line);
  FUZZ_CHECK(inside(c.verb_text, line) && inside(c.args, line));
  FUZZ_CHECK(c.verb_text.find(' ') == std::string_view::npos);
  FUZZ_CHECK(c.args.empty() || (c.args.front() != ' ' && c.args.back() != ' '));
  if (c.verb != Verb::Unknown) {
    FUZZ_CHECK(iequals(c.verb_text, to_string(c.verb)));
    FUZZ_CHECK(line.substr(0, c.verb_text.size()) == c.verb_text);
  } else {
    FUZZ_CHECK(to_string(c.verb) == "UNKNOWN");
  }
  // The verb plus its args is the line, give or take spaces.
  std::string rebuilt = std::string(c.verb_text) + " " + std::string(c.args);
  Command again = classify(rebuilt);
  FUZZ_CHECK(again.verb == c.verb && again.args == c.args);

  bool forbidden = false;
  for (char ch : line) forbidden |= static_cast<unsigned char>(ch) < 0x20 && ch != '\t';
  FUZZ_CHECK(has_forbidden_control(line) == forbidden);

  for (std::string_view args : {line, c.args}) {
    std::optional<std::string> domain = mail_from_domain(args);
    if (!domain) continue;
    // An address literal's dcontent may hold '<', '>' and '@' ("[tag:a@b]"); a domain name may not.
    bool literal = domain->starts_with('[') && domain->ends_with(']');
    for (char ch : *domain) {
      auto u = static_cast<unsigned char>(ch);
      FUZZ_CHECK(!(ch >= 'A' && ch <= 'Z') && u > 0x20 && u != 0x7f);
      FUZZ_CHECK(literal || (ch != '<' && ch != '>' && ch != '@' && ch != '[' && ch != ']'));
    }
    if (!domain->empty()) {
      FUZZ_CHECK(mail_from_domain("FROM:<x@" + *domain + ">") == domain);
      FUZZ_CHECK(mail_from_domain("from: <\"q@r\"@" + *domain + "> SIZE=1") == domain);
    }
  }
  return 0;
}

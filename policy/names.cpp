#include "policy/names.h"

#include <algorithm>

#include "base/ascii.h"

namespace mxguard::policy {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
using ascii::lower;

// A character as a message shows it: quoted, control characters as \xNN, so that no raw byte from a
// configuration file reaches a log line.
std::string shown(char c) {
  static constexpr char kHex[] = "0123456789abcdef";
  auto byte = static_cast<unsigned char>(c);
  std::string out = "\"";
  if (c == '"' || c == '\\') {
    out += '\\';
    out += c;
  } else if (byte < 0x20 || byte == 0x7f) {
    out += "\\x";
    out += kHex[byte >> 4];
    out += kHex[byte & 0xf];
  } else {
    out += c;
  }
  return out + "\"";
}

std::string_view without_trailing_dot(std::string_view name) {
  if (name.ends_with('.')) name.remove_suffix(1);
  return name;
}

}  // namespace

std::string domain_syntax_problem(std::string_view name, NameSyntax syntax) {
  if (name.empty()) return "it is empty";
  if (name.size() > 253) return "it is longer than 253 characters";
  if (name.back() == '.') return "it must not end with a dot";
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t end = std::min(name.find('.', start), name.size());
    std::string_view label = name.substr(start, end - start);
    if (label.empty()) return "it has an empty label";
    if (label.size() > 63) return "it has a label longer than 63 characters";
    if (label.front() == '-' || label.back() == '-') return "a label starts or ends with '-'";
    for (char c : label) {
      if (static_cast<unsigned char>(c) >= 0x80) return "it is not ASCII: write the A-label (xn--...) form";
      bool ok = is_digit(c) || is_letter(c) || c == '-' || (syntax == NameSyntax::ServiceName && c == '_');
      if (!ok) return "it contains " + shown(c) + " (letters, digits and '-' only)";
    }
    start = end + 1;
  }
  return {};
}

std::string mx_pattern_problem(std::string_view pattern) {
  std::string_view rest = pattern.starts_with("*.") ? pattern.substr(2) : pattern;
  if (rest.find('*') != std::string_view::npos) {
    return "a wildcard is allowed only as the whole left-most label, e.g. \"*.example.org\"";
  }
  if (looks_like_address_literal(pattern)) return "it looks like an IP address: MX records and certificates name hosts by name";
  return domain_syntax_problem(rest);
}

bool looks_like_address_literal(std::string_view name) {
  if (name.find_first_of(":[") != std::string_view::npos) return true;
  name = without_trailing_dot(name);
  std::string_view last = name.substr(name.rfind('.') + 1);
  return !last.empty() && std::all_of(last.begin(), last.end(), is_digit);
}

bool name_matches(std::string_view pattern, std::string_view host) {
  pattern = without_trailing_dot(pattern);
  host = without_trailing_dot(host);
  if (pattern.starts_with("*.")) {
    std::size_t dot = host.find('.');
    if (dot == std::string_view::npos || dot == 0) return false;
    return ascii::iequals(pattern.substr(1), host.substr(dot));
  }
  return ascii::iequals(pattern, host);
}

}  // namespace mxguard::policy

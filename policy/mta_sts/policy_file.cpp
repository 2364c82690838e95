#include "policy/mta_sts/policy_file.h"

#include <optional>
#include <utility>

#include "base/ascii.h"
#include "base/log_text.h"
#include "policy/names.h"

namespace mxguard::mta_sts {
namespace {

constexpr std::size_t kMaxFieldNameLength = 32;   // (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
constexpr std::size_t kMaxAgeDigits = 10;

bool is_wsp(char c) { return c == ' ' || c == '\t'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

std::string_view trim_wsp(std::string_view s) {
  while (!s.empty() && is_wsp(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_wsp(s.back())) s.remove_suffix(1);
  return s;
}

std::string quoted(std::string_view s) { return "\"" + log_text::sanitize(s, 60) + "\""; }
std::string on_line(std::size_t number) { return " on line " + std::to_string(number); }

// Calls `each(line, number)` for every line of `text` without its LF or CRLF; no empty line after a final
// line end. Stops early when `each` returns false.
template <class Each>
void for_each_line(std::string_view text, Each each) {
  std::size_t number = 0;
  while (!text.empty()) {
    std::size_t lf = text.find('\n');
    std::string_view line = text.substr(0, lf);
    text = lf == std::string_view::npos ? std::string_view() : text.substr(lf + 1);
    if (lf != std::string_view::npos && line.ends_with('\r')) line.remove_suffix(1);
    if (!each(line, ++number)) return;
  }
}

// sts-policy-ext-name
bool is_field_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxFieldNameLength || !is_alnum(name.front())) return false;
  for (char c : name) {
    if (!is_alnum(c) && c != '_' && c != '-' && c != '.') return false;
  }
  return true;
}

// The length of the well-formed UTF-8 sequence (RFC 3629 §4: no overlong forms, no surrogates, nothing
// above U+10FFFF) of two to four bytes at the start of `s`, or 0.
std::size_t utf8_sequence_length(std::string_view s) {
  auto at = [&](std::size_t i) { return i < s.size() ? static_cast<unsigned char>(s[i]) : 0u; };
  auto tail = [&](std::size_t i) { return at(i) >= 0x80 && at(i) <= 0xbf; };
  unsigned lead = at(0);
  if (lead >= 0xc2 && lead <= 0xdf) return tail(1) ? 2 : 0;
  if (lead >= 0xe0 && lead <= 0xef) {
    unsigned low = lead == 0xe0 ? 0xa0 : 0x80;
    unsigned high = lead == 0xed ? 0x9f : 0xbf;
    return at(1) >= low && at(1) <= high && tail(2) ? 3 : 0;
  }
  if (lead >= 0xf0 && lead <= 0xf4) {
    unsigned low = lead == 0xf0 ? 0x90 : 0x80;
    unsigned high = lead == 0xf4 ? 0x8f : 0xbf;
    return at(1) >= low && at(1) <= high && tail(2) && tail(3) ? 4 : 0;
  }
  return 0;
}

// What is wrong with `value` as sts-policy-ext-value once the surrounding WSP is gone: visible ASCII,
// spaces, and UTF-8 (RFC 3629); no control characters (tabs included). Empty when fine.
std::string value_problem(std::string_view value) {
  if (value.empty()) return "no value";
  for (std::size_t i = 0; i < value.size();) {
    auto u = static_cast<unsigned char>(value[i]);
    if (u >= 0x20 && u < 0x7f) {
      ++i;
    } else if (u < 0x80) {
      return u == 0 ? "a NUL byte" : "a control character";
    } else if (std::size_t n = utf8_sequence_length(value.substr(i)); n > 0) {
      i += n;
    } else {
      return "bytes that are not UTF-8";
    }
  }
  return {};
}

struct Field {
  std::string_view value;
  std::size_t line = 0;
};

// A line's field, or what is wrong with the line in words that follow "the policy".
std::variant<std::pair<std::string_view, Field>, std::string> read_field(std::string_view line, std::size_t number) {
  std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) {
    std::string problem = value_problem(line);
    if (!problem.empty()) return "has " + problem + on_line(number);
    return "has no ':'" + on_line(number) + " (" + quoted(line) + ")";
  }
  std::string_view name = line.substr(0, colon);
  if (!name.empty() && is_wsp(name.back()) && is_field_name(trim_wsp(name))) {
    return "has whitespace before ':'" + on_line(number);   // "mx : ..." is outside the ABNF
  }
  if (!is_field_name(name)) return "has an invalid field name " + quoted(name) + on_line(number);
  std::string_view value = trim_wsp(line.substr(colon + 1));
  std::string problem = value_problem(value);
  if (!problem.empty()) return "has " + problem + " in " + quoted(name) + on_line(number);
  return std::pair{name, Field{value, number}};
}

std::optional<Mode> mode_named(std::string_view text) {
  if (text == "enforce") return Mode::Enforce;
  if (text == "testing") return Mode::Testing;
  if (text == "none") return Mode::None;
  return std::nullopt;
}

}  // namespace

std::variant<Policy, std::string> parse_policy(std::string_view body) {
  if (body.empty()) return std::string("is empty");
  if (body.size() > kMaxPolicyBytes) return "is larger than " + std::to_string(kMaxPolicyBytes) + " bytes";
  if (body.starts_with("\xef\xbb\xbf")) return std::string("starts with a byte order mark (U+FEFF)");

  std::optional<Field> version, mode, max_age;   // the first of each: RFC 8461 §3.2 ignores the others
  std::vector<Field> mx;
  std::vector<std::pair<std::string_view, std::size_t>> extensions;   // name, line
  std::string problem;
  for_each_line(body, [&](std::string_view line, std::size_t number) {
    if (trim_wsp(line).empty()) return true;   // blank lines are outside the ABNF but carry nothing
    auto read = read_field(line, number);
    if (auto* p = std::get_if<std::string>(&read)) {
      problem = std::move(*p);
      return false;
    }
    auto& [name, field] = std::get<0>(read);
    if (name == "version" && !version) version = field;
    if (name == "mode" && !mode) mode = field;
    if (name == "max_age" && !max_age) max_age = field;
    if (name == "mx") mx.push_back(field);
    if (name != "version" && name != "mode" && name != "max_age" && name != "mx") extensions.emplace_back(name, number);
    return true;   // an extension: ignored
  });
  if (!problem.empty()) return problem;

  // "has no mode", and why when the cause is plain: "Mode: enforce" is an extension (names are %s"...").
  auto missing = [&](std::string_view name, std::string_view why = {}) {
    std::string out = "has no " + std::string(name) + std::string(why);
    for (auto [other, line] : extensions) {
      if (ascii::iequals(other, name)) return out + " (" + quoted(other) + on_line(line) + ": field names are lower-case)";
    }
    return out;
  };

  Policy policy;
  if (!version) return missing("version");
  if (version->value != "STSv1") return "has the version " + quoted(version->value) + ", not STSv1";

  if (!mode) return missing("mode");
  std::optional<Mode> named = mode_named(mode->value);
  if (!named) return "has the mode " + quoted(mode->value) + " (enforce, testing or none)";
  policy.mode = *named;

  if (!max_age) return missing("max_age");
  std::string_view digits = max_age->value;
  bool all_digits = !digits.empty() && digits.size() <= kMaxAgeDigits;
  for (char c : digits) all_digits = all_digits && is_digit(c);
  if (!all_digits) return "has the max_age " + quoted(digits) + ", not 1 to 10 digits";
  std::uint64_t seconds = 0;
  for (char c : digits) seconds = seconds * 10 + static_cast<std::uint64_t>(c - '0');
  if (seconds > kMaxAgeLimit) {
    return "has the max_age " + std::to_string(seconds) + ", over one year (" + std::to_string(kMaxAgeLimit) + ")";
  }
  policy.max_age = static_cast<std::uint32_t>(seconds);

  for (const Field& field : mx) {
    std::string pattern = ascii::lower(field.value);
    if (pattern.ends_with('.')) pattern.pop_back();   // an absolute name means the same host
    std::string wrong = policy::mx_pattern_problem(pattern);
    if (wrong.empty()) {
      policy.mx.push_back(std::move(pattern));
    } else if (policy.mode != Mode::None) {
      return "has the mx " + quoted(field.value) + on_line(field.line) + ", which is not a host name or \"*.\" " +
             "pattern: " + wrong;
    }
  }
  if (policy.mode != Mode::None && policy.mx.empty()) {
    return missing("mx", ", which mode " + std::string(to_string(policy.mode)) + " requires");
  }
  policy.text = std::string(body);
  return policy;
}

bool is_text_plain(std::string_view content_type) {
  std::string_view media_type = trim_wsp(content_type.substr(0, content_type.find(';')));
  return ascii::iequals(media_type, "text/plain");
}

bool mx_allowed(const Policy& policy, std::string_view mx_host) {
  for (const std::string& pattern : policy.mx) {
    if (policy::name_matches(pattern, mx_host)) return true;
  }
  return false;
}

policy::StsPolicyView view(const Policy& policy) { return {policy.mode, policy.mx}; }

std::vector<std::string> policy_lines(std::string_view text) {
  std::vector<std::string> lines;
  for_each_line(text, [&](std::string_view line, std::size_t) {
    lines.emplace_back(line);
    return true;
  });
  return lines;
}

std::string_view to_string(Mode mode) {
  switch (mode) {
    case Mode::Enforce: return "enforce";
    case Mode::Testing: return "testing";
    case Mode::None: return "none";
  }
  return "none";
}

}  // namespace mxguard::mta_sts

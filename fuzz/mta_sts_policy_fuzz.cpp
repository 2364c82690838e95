// The MTA-STS policy file (policy/mta_sts/policy_file.h). The input is a policy body. Checks that an
// accepted policy is one the engine can rely on (enforce and testing have mx patterns, every pattern
// passes mx_pattern_problem and is lower-case without a trailing dot, max_age is within a year, the body
// is kept as fetched and parses again to the same policy, each pattern allows the hosts it names), that
// LF and CRLF line ends and a final line end give the same result, that policy_lines() splits where the
// parser does, that refusals are printable ASCII, and that is_text_plain() of the first line agrees with
// a plain reading of the media type.
#include <cstdint>
#include <string>
#include <string_view>

#include "base/ascii.h"
#include "fuzz/check.h"
#include "policy/mta_sts/policy_file.h"
#include "policy/names.h"

using namespace mxguard;
using namespace mxguard::mta_sts;

namespace {

// Every LF that is not already part of a CRLF becomes CRLF.
std::string to_crlf(std::string_view body) {
  std::string out;
  for (std::size_t i = 0; i < body.size(); ++i) {
    if (body[i] == '\n' && (i == 0 || body[i - 1] != '\r')) out += '\r';
    out += body[i];
  }
  return out;
}

bool same_result(const std::variant<Policy, std::string>& a, const std::variant<Policy, std::string>& b) {
  if (a.index() != b.index()) return false;
  if (auto* pa = std::get_if<Policy>(&a)) {
    const Policy& pb = std::get<Policy>(b);
    return pa->mode == pb.mode && pa->mx == pb.mx && pa->max_age == pb.max_age;
  }
  return std::get<std::string>(a) == std::get<std::string>(b);
}

void check_policy(const Policy& p, std::string_view body) {
  FUZZ_CHECK(body.size() <= kMaxPolicyBytes);
  FUZZ_CHECK(p.max_age <= kMaxAgeLimit);
  FUZZ_CHECK(p.mode == Mode::None || !p.mx.empty());
  FUZZ_CHECK(p.text == body);
  FUZZ_CHECK(to_string(p.mode) == "enforce" || to_string(p.mode) == "testing" || to_string(p.mode) == "none");
  for (const std::string& pattern : p.mx) {
    FUZZ_CHECK(policy::mx_pattern_problem(pattern).empty());
    FUZZ_CHECK(pattern == ascii::lower(pattern) && !pattern.ends_with('.'));
    // The pattern allows the hosts it names, in any case, with or without the root's dot.
    std::string host = pattern.starts_with("*.") ? "x" + pattern.substr(1) : pattern;
    FUZZ_CHECK(mx_allowed(p, host) && mx_allowed(p, ascii::upper(host) + "."));
    if (pattern.starts_with("*.")) FUZZ_CHECK(policy::name_matches(pattern, "a" + pattern.substr(1)));
  }
  policy::StsPolicyView v = view(p);
  FUZZ_CHECK(v.mode == p.mode && v.mx == p.mx);

  auto again = parse_policy(p.text);
  FUZZ_CHECK(std::holds_alternative<Policy>(again) && std::get<Policy>(again) == p);
}

void check_lines(std::string_view body) {
  std::size_t lf = 0;
  for (char c : body) lf += c == '\n';
  std::size_t expected = lf + (!body.empty() && !body.ends_with('\n') ? 1 : 0);
  auto lines = policy_lines(body);
  FUZZ_CHECK(lines.size() == expected);
  std::size_t bytes = 0;
  for (const std::string& line : lines) {
    FUZZ_CHECK(line.find('\n') == std::string::npos);
    bytes += line.size();
  }
  FUZZ_CHECK(bytes <= body.size());
}

// "text/plain", any case, then the end, whitespace or ';' (parameters), after leading whitespace.
void check_content_type(std::string_view value) {
  std::string_view rest = value;
  while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
  bool expected = ascii::istarts_with(rest, "text/plain");
  if (expected) {
    rest.remove_prefix(10);
    while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
    expected = rest.empty() || rest.front() == ';';
  }
  FUZZ_CHECK(is_text_plain(value) == expected);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto parsed = parse_policy(body);
  if (auto* p = std::get_if<Policy>(&parsed)) {
    check_policy(*p, body);
  } else {
    const std::string& problem = std::get<std::string>(parsed);
    FUZZ_CHECK(!problem.empty() && printable_ascii(problem));
  }
  check_lines(body);
  check_content_type(body.substr(0, body.find('\n')));

  // Line ends: LF or CRLF, and a final one or none, make no difference (as long as the body still fits).
  std::string crlf = to_crlf(body);
  if (crlf.size() <= kMaxPolicyBytes) FUZZ_CHECK(same_result(parse_policy(crlf), parsed));
  if (!body.empty() && !body.ends_with('\n') && !body.ends_with('\r') && body.size() < kMaxPolicyBytes) {
    FUZZ_CHECK(same_result(parse_policy(std::string(body) + "\n"), parsed));
  }
  return 0;
}

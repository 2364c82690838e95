#pragma once
// The MTA-STS policy file (RFC 8461 §3.2) served at https://mta-sts.<domain>/.well-known/mta-sts.txt, and
// the MX host check of §4.1. Pure functions over bytes; the fetch itself is mxguard-fetch's job.
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "policy/engine/mta_sts_overlay.h"

namespace mxguard::mta_sts {

using Mode = policy::StsPolicyView::Mode;

constexpr std::uint32_t kMaxAgeLimit = 31557600;   // RFC 8461 §3.2: max_age at most one year
constexpr std::size_t kMaxPolicyBytes = 64 * 1024; // what mxguard reads of a policy body

struct Policy {
  Mode mode = Mode::None;
  std::vector<std::string> mx;   // patterns, lower-case, without a trailing dot, in file order
  std::uint32_t max_age = 0;     // seconds
  std::string text;              // the body as fetched (for the cache file and TLS-RPT's policy-string)

  friend bool operator==(const Policy&, const Policy&) = default;
};

// Strict parse per RFC 8461 §3.2: lines end in LF or CRLF (the last one may lack it); each line is
// "key: value" with optional whitespace after the colon and at the end; unknown keys are ignored; for a
// duplicated key the first wins, except "mx", which may repeat; "version" must be "STSv1"; "mode" one of
// enforce, testing, none; "max_age" 1..10 digits and at most kMaxAgeLimit; at least one valid "mx" unless
// the mode is none (a policy whose only MX line is misspelt "nmx:" is invalid, never "enforce with no
// MX"); every mx value must be a host name or a "*." wildcard over one (policy::mx_pattern_problem).
// Returns the policy or what is wrong, in words that follow "the policy" ("has no max_age").
//
// The details, where the RFC leaves room (each one a named test in tests/policy_file_test.cpp):
// - Keys and the values of version and mode are case-sensitive (the ABNF's %s"..."): "Mode: enforce" is an
//   unknown key (so the policy has no mode), "mode: Enforce" an invalid mode. mx values are host names and
//   compared case-insensitively; they are stored lower-case.
// - Every non-blank line must be a field: a key (1..32 letters, digits, '_', '-', '.', starting with a letter
//   or digit), ':' right after it, optional WSP, a non-empty value, optional WSP. A line that is not (no ':',
//   whitespace before the ':', an empty value, a control character such as NUL, TAB inside the value or a
//   bare CR, bytes that are not UTF-8) makes the whole policy invalid, whatever its key: a file we cannot
//   read as the ABNF is not one whose mx list we should trust to be complete. Unknown keys with a valid
//   value are ignored.
// - Blank (empty or all-WSP) lines are skipped: they carry nothing, and the ABNF as published lists
//   sts-policy-term among the fields (where sts-policy-mx was meant), so some read it as allowing them.
// - A leading UTF-8 byte order mark is refused (with its own message): the first key would not be "version".
// - The first of a duplicated version, mode or max_age wins even when it is invalid and a later one is
//   valid (RFC 8461 §3.2: "all entries except for the first SHALL be ignored").
// - max_age: 1..10 digits (leading zeros count as digits), value 0..kMaxAgeLimit; "+1", "-1", "1e6",
//   "1 000" and an empty value are invalid.
// - mx: one trailing dot is dropped ("mx.example.com." is the same host). A value that fails
//   mx_pattern_problem (an IP literal, "*mx.example.com", "mx.*.example.com", "*", an empty label) makes
//   an enforce or testing policy invalid. In mode none such a value is dropped instead: mode none is how
//   a domain withdraws its policy (RFC 8461 §8.3), and refusing it over an mx line nobody will use would
//   keep the older enforce policy in force.
// - A body larger than kMaxPolicyBytes, or an empty one, is invalid.
std::variant<Policy, std::string> parse_policy(std::string_view body);

// Whether an HTTP Content-Type is text/plain (RFC 8461 §3.2): media type compared case-insensitively,
// parameters such as "; charset=utf-8" allowed (and not checked), surrounding whitespace ignored. An empty
// or missing Content-Type is not text/plain.
bool is_text_plain(std::string_view content_type);

// Whether `mx_host` (as the MX record named it) is one the policy allows (RFC 8461 §4.1): some pattern
// matches it, a "*." wildcard standing for exactly one left-most label, case-insensitively, a trailing
// dot on the host ignored.
bool mx_allowed(const Policy& policy, std::string_view mx_host);

// The policy as the engine's overlay reads it.
policy::StsPolicyView view(const Policy& policy);

// The body's lines without their line ends (LF or CRLF), in order, blank lines included, no empty line
// after a final line end (RFC 8460 §4.4 "policy-string").
std::vector<std::string> policy_lines(std::string_view text);

std::string_view to_string(Mode mode);   // "enforce", "testing", "none"

}  // namespace mxguard::mta_sts

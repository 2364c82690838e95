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
std::variant<Policy, std::string> parse_policy(std::string_view body);

// Whether an HTTP Content-Type is text/plain (RFC 8461 §3.3): media type compared case-insensitively,
// parameters such as "; charset=utf-8" allowed, surrounding whitespace ignored.
bool is_text_plain(std::string_view content_type);

// Whether `mx_host` (as the MX record named it) is one the policy allows (RFC 8461 §4.1): some pattern
// matches it, a "*." wildcard standing for exactly one left-most label, case-insensitively, a trailing
// dot on the host ignored.
bool mx_allowed(const Policy& policy, std::string_view mx_host);

// The policy as the engine's overlay reads it.
policy::StsPolicyView view(const Policy& policy);

// The body's lines without their line ends, in order (RFC 8460 §4.4 "policy-string").
std::vector<std::string> policy_lines(std::string_view text);

std::string_view to_string(Mode mode);   // "enforce", "testing", "none"

}  // namespace mxguard::mta_sts

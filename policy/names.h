#pragma once
// DNS names as the policy sees them: syntax, case, and the one-label wildcard of certificates (RFC 6125
// §6.4.3) and MTA-STS "mx" patterns (RFC 8461 §4.1). Pure; ASCII only (internationalised names are
// compared in their A-label form, "xn--...").
#include <string>
#include <string_view>

namespace mxguard::policy {

enum class NameSyntax {
  Dns,           // letters, digits and '-' (RFC 1035 §2.3.1, RFC 5321 §4.1.2)
  ServiceName,   // also '_': container runtimes resolve service names such as "legacy_mta"
};

// What is wrong with `name` as a host or domain name, in words that follow "it" ("it has an empty
// label"); empty when the name is fine. Labels of 1..63 characters, at most 253 in all, no trailing dot
// (configuration spells names without the root).
std::string domain_syntax_problem(std::string_view name, NameSyntax syntax = NameSyntax::Dns);

// What is wrong with an MX host name or pattern ("mx.example.org", "*.example.org"); empty when fine.
// The wildcard may only be the whole left-most label, and an IP address is not a host name: MX records
// and certificates name hosts.
std::string mx_pattern_problem(std::string_view pattern);

// Whether a resolver would take `name` as an address rather than a name: it has a ':' or '[' (IPv6), or
// its last label is all digits (no top-level domain is numeric, RFC 1123 §2.1), e.g. "192.0.2.1".
bool looks_like_address_literal(std::string_view name);



// `pattern` is a host name or "*.<name>", where "*" stands for exactly one non-empty left-most label:
// "*.example.com" matches "mx.example.com" but neither "a.b.example.com" nor "example.com". Case-insensitive;
// a trailing dot on either side is ignored. Any other '*' is an ordinary character (no partial wildcards).
bool name_matches(std::string_view pattern, std::string_view host);

}  // namespace mxguard::policy

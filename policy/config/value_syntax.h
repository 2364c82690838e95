#pragma once
// The syntax of the values a configuration holds: addresses, networks, durations, names. Each check
// returns what is wrong (empty when the value is fine); the caller adds the key and where it is.
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "policy/config/config.h"

namespace mxguard::config {

constexpr std::int64_t kNoMax = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kOneDay = 86400;            // no phase of an SMTP session should wait longer
constexpr std::int64_t kMaxLine = 1024 * 1024;     // a line buffer larger than this is a memory hazard
constexpr std::int64_t kMaxCount = 1000000;

bool is_ipv4(std::string_view s);
bool is_ipv6(std::string_view s);

// Host names of endpoints may also carry '_' because container runtimes resolve service names like
// "legacy_mta"; domains never do.
std::string name_problem(std::string_view name, bool allow_underscore);
std::string domain_problem(std::string_view name);

std::optional<std::uint16_t> parse_port(std::string_view s);

enum class HostKind { NameOrAddress, AddressOnly };

// "1.2.3.4:25", "[::1]:25", "mx.example.org:25" into `out`. The port is always required: a silent default
// port is how a listener ends up somewhere nobody expects.
std::string endpoint_problem(std::string_view text, HostKind kind, Endpoint& out);

// "192.0.2.0/24", "2001:db8::/32". Bits set after the prefix are refused: "10.0.0.1/8" is usually a typo,
// and the message names the network that was probably meant.
std::string cidr_problem(std::string_view text);

// Whole seconds: "30s", "5m", "1h". Finer units are refused rather than rounded, so nobody believes a
// "500ms" timeout is in effect.
std::optional<std::int64_t> parse_duration(std::string_view text);

// "between 1s and 86400s", "at least 1024"
std::string range_text(std::int64_t min, std::int64_t max, std::string_view unit = {});

std::string machine_hostname();

// Checks for the elements of string arrays: each may rewrite the value (lower-casing) and returns the
// whole message ("\"x\" is not a domain name: ...") or an empty string.
std::string check_domain(std::string& value);
std::string check_mx_pattern(std::string& value);
std::string check_cidr(std::string& value);

}  // namespace mxguard::config

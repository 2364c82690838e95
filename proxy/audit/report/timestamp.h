#pragma once
// Times as the audit log writes them (RFC 3339, UTC) and as an operator types them on the command line
// (RFC 3339 or a bare YYYY-MM-DD). Pure: no clock, no time zone database, no locale.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace mxguard::audit::report {

using Time = std::chrono::sys_time<std::chrono::milliseconds>;
using Day = std::chrono::sys_days;

// "2026-11-23T12:34:56.789Z", "2026-11-23T12:34:56Z", "2026-11-23t13:34:56+01:00" (RFC 3339 §5.6: any
// number of fraction digits, 't'/'z' in either case, a numeric offset). nullopt for anything else,
// including impossible dates (February 30), hours past 23 and leap seconds (60: no audit event has one).
std::optional<Time> parse_rfc3339(std::string_view text);

// "2026-11-23": that UTC day.
std::optional<Day> parse_day(std::string_view text);

// The start of the UTC day a time falls on.
inline Day day_of(Time t) { return std::chrono::floor<std::chrono::days>(t); }

std::string format_day(Day day);                   // "2026-11-23"
std::string format_rfc3339_seconds(std::chrono::sys_seconds t);   // "2026-11-23T00:00:00Z"
std::string format_rfc5322(std::chrono::sys_seconds t);   // "Mon, 23 Nov 2026 00:00:00 +0000" (an email's Date)

}  // namespace mxguard::audit::report

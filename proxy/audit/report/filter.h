#pragma once
// Which records `mxguard audit` looks at: --since, --until, --domain, --direction.
#include <optional>
#include <string>
#include <string_view>

#include "proxy/audit/report/record.h"

namespace mxguard::audit::report {

struct Filter {
  std::optional<Time> since;            // inclusive
  std::optional<Time> until;            // exclusive
  std::string domain;                   // lower-case, no trailing dot; "" = any. Records without a domain
                                        // (an inbound session's starttls) do not match a domain
  std::optional<Direction> direction;

  bool matches(const Record& r) const;
};

// The command line's --since: an RFC 3339 time, or YYYY-MM-DD for the start of that UTC day.
std::optional<Time> parse_since(std::string_view text);
// --until: an RFC 3339 time (exclusive), or YYYY-MM-DD for the end of that UTC day (the day included),
// so that `--since D --until D` is the whole day D.
std::optional<Time> parse_until(std::string_view text);

}  // namespace mxguard::audit::report

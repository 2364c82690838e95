#pragma once
// One audit log line (docs/architecture.md, "Audit log") as a typed record, for `mxguard audit`.
//
// Tolerant where the log may grow: unknown fields are ignored, an event name this build does not know
// is kept (kind nullopt) and skipped by the aggregations. Strict where a wrong value would be counted
// wrongly: a line that is not a JSON object, lacks ts/event/direction, has a ts that is not RFC 3339, a
// direction that is not inbound/outbound, or a known field of the wrong JSON type, is a bad line, with
// the reason. Never throws.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "proxy/audit/events.h"
#include "proxy/audit/report/timestamp.h"

namespace mxguard::audit::report {

struct Record {
  Time ts{};
  std::string ts_text;                  // as written, for listings
  std::string event;                    // as written
  std::optional<EventKind> kind;        // nullopt: an event this build does not know
  Direction direction = Direction::Inbound;
  std::string session;
  std::string peer;
  std::optional<Verdict> verdict;       // nullopt when absent or not one of ours
  std::string verdict_text;
  // The fields that apply to some events ("" or empty when absent).
  std::string domain, mx, mx_address, sending_ip, policy, policy_source, policy_id, tls_version, cipher, sni,
      reason, detail, id, mode, report_domain;
  std::optional<std::int64_t> transaction;
  bool plaintext_retry = false;
  bool implicit_tls = false;
  bool changed = false;
  bool cached_policy_in_force = false;
  std::vector<std::string> policy_lines;
  std::vector<std::string> tlsa;        // tls-policy under DANE: the TLSA records, presentation format
};

// One line without its line end (read_audit_files skips blank lines before they get here).
std::variant<Record, std::string> parse_record(std::string_view line);

}  // namespace mxguard::audit::report

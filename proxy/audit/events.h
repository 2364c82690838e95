#pragma once
// The audit log's vocabulary (design.md, "Audit log and metrics"): event names, directions and verdicts
// as enums with one spelling each, so a typo is a compile error and `mxguard audit` can rely on the words.
#include <optional>
#include <string_view>

namespace mxguard::audit {

enum class Direction { Inbound, Outbound };

enum class EventKind {
  Starttls,            // inbound: the session's one TLS verdict
  PlaintextInjection,  // bytes pipelined after STARTTLS, discarded
  DowngradeAttempt,    // a require_tls_from sender over plaintext
  ReplyUndelivered,    // the far side answered a message, but the client was gone and never heard it
  SessionRefused,      // refused before any SMTP (not allowed to use the listener)
  TlsPolicy,           // outbound: the TLS decision about one MX (delivered, refused, allowed-testing)
  ExceptionLapsed,     // an operator's [policy.domain] exception passed its expiry date
  MtaStsFetch,         // outbound: what fetching a domain's MTA-STS policy came to (fetched, or why not)
  TlsReportRelayed,    // outbound: a transaction carried a TLS report (RFC 8460 §5.3); reports leave it out
};

enum class Verdict {
  Established,
  Failed,
  Skipped,
  Discarded,
  Refused,
  Delivered,
  AllowedTesting,
  Lapsed,
  Fetched,
};

std::string_view to_string(Direction d);
std::string_view to_string(EventKind e);
std::string_view to_string(Verdict v);

// The other way round, for `mxguard audit` reading the log back: nullopt for a word that is not one of
// ours (a newer mxguard's event, a typo in a hand-edited file).
std::optional<Direction> direction_from(std::string_view text);
std::optional<EventKind> event_kind_from(std::string_view text);
std::optional<Verdict> verdict_from(std::string_view text);

}  // namespace mxguard::audit

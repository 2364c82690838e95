#pragma once
// The audit log's vocabulary (design.md, "Audit log and metrics"): event names, directions and verdicts
// as enums with one spelling each, so a typo is a compile error and `mxguard audit` can rely on the words.
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
  DeliveryUnknown,     // the far side had a whole message and its verdict never came: maybe delivered, and
                       // the client (told 4xx, or gone) will send it again (RFC 1047)
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
  Unknown,
};

std::string_view to_string(Direction d);
std::string_view to_string(EventKind e);
std::string_view to_string(Verdict v);

}  // namespace mxguard::audit

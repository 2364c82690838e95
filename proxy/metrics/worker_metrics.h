#pragma once
// Everything one worker counts, in one block of memory that only that worker's loop thread writes
// (instruments.h). The scrape adds up every worker's block; nothing here is shared between workers, so
// counting costs a session no lock and no cache line another core writes (the block is cache-line
// aligned, and each worker allocates its own).
//
// Labels are fixed enums, never peer-supplied text: every series is known in advance (most are exposed
// as 0 from the start, so rate() and increase() see their first event).
#include <array>
#include <cstddef>
#include <string_view>

#include "policy/tls_level.h"
#include "policy/verdict.h"
#include "proxy/audit/events.h"
#include "proxy/metrics/instruments.h"
#include "proxy/session/observer.h"

namespace mxguard::metrics {

template <typename E>
constexpr std::size_t ix(E e) { return static_cast<std::size_t>(e); }

inline constexpr std::size_t kDirections = 2;   // audit::Direction: inbound, outbound

// The TLS state of a session (inbound) or of a connection to an MX (outbound).
enum class TlsState { Established, Failed, None };
inline constexpr std::size_t kTlsStates = 3;
std::string_view to_string(TlsState s);   // "established", "failed", "none"

// What an outbound policy decision came to (the tls-policy audit event's verdict).
enum class PolicyVerdict { Delivered, Refused, AllowedTesting };
inline constexpr std::size_t kPolicyVerdicts = 3;
std::string_view to_string(PolicyVerdict v);   // "delivered", "refused", "allowed-testing"

// mta_sts::FetchReport::Result, in the same order.
enum class StsFetch { Fetched, FetchError, PolicyInvalid, WebPkiInvalid };
inline constexpr std::size_t kStsFetches = 4;
std::string_view to_string(StsFetch f);   // "fetched", "sts-policy-fetch-error", "sts-policy-invalid", "sts-webpki-invalid"

inline constexpr std::size_t kLevels = 7;        // policy::TlsLevel, none .. dane-only
inline constexpr std::size_t kSources = 3;       // policy::PolicySource
inline constexpr std::size_t kResultTypes = 12;  // policy::ResultType, None included

// Session lifetimes run from milliseconds (a refused client) to the minutes of a large message or a slow
// sender; handshakes from a fraction of a millisecond on loopback to the seconds of a far, slow peer.
inline constexpr std::array<double, 12> kSessionBuckets = {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};
inline constexpr std::array<double, 13> kHandshakeBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                             0.1, 0.25, 0.5, 1, 2.5, 5};

template <typename T, std::size_t... N>
struct Table;
template <typename T, std::size_t N>
struct Table<T, N> {
  using type = std::array<T, N>;
};
template <typename T, std::size_t N, std::size_t... M>
struct Table<T, N, M...> {
  using type = std::array<typename Table<T, M...>::type, N>;
};
template <std::size_t... N>
using Counters = typename Table<Counter, N...>::type;

struct alignas(64) WorkerMetrics {
  // Sessions. Inbound: a remote client's session, by the TLS its client got. Outbound: one connection
  // to a remote MX that reached a TLS decision, by the TLS it had.
  Counters<kDirections, kTlsStates> sessions;
  std::array<Gauge, kDirections> active;     // mxguard's sessions with their clients, now
  std::array<Histogram<kSessionBuckets>, kDirections> session_seconds;
  Counters<kDirections> relayed_bytes;       // message content written to the far side

  // STARTTLS. Inbound: offered in our EHLO reply, attempted (the client's STARTTLS accepted), the
  // handshake done. Outbound: offered by the MX, attempted (we sent it), the handshake done.
  Counters<kDirections> starttls_offered, starttls_attempted, starttls_succeeded;
  Counters<kDirections, session::kHandshakeFailures> handshake_failures;
  std::array<Histogram<kHandshakeBuckets>, kDirections> handshake_seconds;   // completed handshakes

  Counter downgrades_refused;   // inbound: a require_tls_from sender in plaintext
  Counters<kDirections, session::kLimiterVerdicts> refused_at_door;   // 421 before the session began, by verdict
  Counters<kDirections> abuse_penalties;                           // penalties begun (limits.abuse_penalty)

  // Outbound policy: every TLS decision about an MX, and what was wrong when it refused or would have.
  Counters<kLevels, kSources, kPolicyVerdicts> policy_verdicts;
  Counters<2, kResultTypes> policy_failures;   // [0] refused, [1] allowed-testing; by RFC 8460 result type

  Counters<kStsFetches> sts_fetches;
};

}  // namespace mxguard::metrics

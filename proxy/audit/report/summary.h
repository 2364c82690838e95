#pragma once
// What `mxguard audit` tells a postmaster: sessions by direction, the share encrypted, the STARTTLS
// success rate, handshake failures by reason, MTA-STS fetch results and every downgrade attempt. Built
// one record at a time (the caller filters), so memory grows with the downgrade attempts listed and
// the distinct names counted, not with the log.
//
// The definitions (also in docs/operations.md):
// - inbound: one `starttls` event per session. Encrypted share = established / sessions; STARTTLS
//   success rate = established / (established + failed): of the clients that tried, how many got TLS.
// - outbound: one `tls-policy` event per MX decision (a connection, or an MX skipped for the policy's mx
//   patterns). Deliveries are `delivered` and `allowed-testing` decisions; encrypted share = deliveries
//   over TLS / deliveries. STARTTLS success rate = decisions with TLS established / decisions where TLS
//   was attempted (TLS established, or a TLS failure other than starttls-not-supported on a connection
//   that was made, not counting plaintext retries).
// - handshake failures by reason: inbound `failed` reasons; outbound the RFC 8460 reason of every
//   decision that has one (a plaintext retry repeats its attempt's reason and is not counted again).
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "proxy/audit/report/record.h"

namespace mxguard::audit::report {

struct DowngradeAttempt {
  std::string kind;   // refused | allowed-testing | tls-failed | starttls-missing | starttls-failed |
                      // plaintext-injection | downgrade-attempt
  Time ts{};
  std::string ts_text, direction, session, peer, domain, mx, reason, detail;
};

struct HourCounts {
  std::uint64_t inbound_sessions = 0, inbound_encrypted = 0;
  std::uint64_t outbound_deliveries = 0, outbound_encrypted = 0;
};

struct Summary {
  struct Inbound {
    std::uint64_t sessions = 0, established = 0, failed = 0, skipped = 0, implicit_tls = 0;
    std::map<std::string, std::uint64_t> failures_by_reason;
    std::map<std::string, std::uint64_t> tls_versions;
  } inbound;
  struct Outbound {
    std::uint64_t decisions = 0, sessions = 0;
    std::uint64_t delivered_tls = 0, delivered_plaintext = 0, allowed_testing = 0, refused = 0, tls_failed = 0;
    std::uint64_t tls_attempted = 0, tls_established = 0;
    std::uint64_t reports_relayed = 0;   // tls-report-relayed
    std::map<std::string, std::uint64_t> failures_by_reason;
    std::map<std::string, std::uint64_t> failures_by_mx;      // decisions with a reason, by MX host
    std::map<std::string, std::uint64_t> tls_versions;
  } outbound;
  struct Fetches {
    std::uint64_t fetched = 0, changed = 0, failed = 0;
    std::map<std::string, std::uint64_t> failures_by_reason;
    std::map<std::string, std::uint64_t> failures_by_domain;
  } mta_sts;
  std::vector<DowngradeAttempt> downgrades;                    // in the order read
  std::map<std::pair<std::string, std::string>, std::uint64_t> downgrades_by_domain_reason;   // (domain, reason)
  std::map<std::string, std::uint64_t> events;                 // every matched event by name, unknown ones too
  std::map<std::int64_t, HourCounts> hours;                    // by hours since the epoch, for charts
  std::uint64_t records = 0;                                   // records that matched the filter
  std::optional<Time> first, last;
};

// Shares and rates as fractions; nullopt when the denominator is 0 ("no data", never 0 % or 100 %).
std::optional<double> ratio(std::uint64_t part, std::uint64_t whole);

class SummaryBuilder {
 public:
  void add(const Record& r);
  Summary finish();

 private:
  void add_starttls(const Record& r);
  void add_tls_policy(const Record& r);
  void add_fetch(const Record& r);
  void note_downgrade(const Record& r, std::string kind, std::string reason);

  Summary s_;
  std::set<std::string> outbound_sessions_;
};

}  // namespace mxguard::audit::report

#pragma once
// What a DNS lookup tells mxguard, as plain values. The resolver produces them; mx_plan, the engine and the
// MTA-STS and DANE code consume them without any I/O, so they are tested with literal values.
//
// The one rule every consumer relies on: a lookup that could not be completed (SERVFAIL, timeout,
// REFUSED, an unreachable server, an unreadable answer) is never reported as "no such record". Treating
// a temporary failure as NoData would turn an attacker's dropped packet into "this domain has no MTA-STS
// policy" or "this domain has no MX, deliver to its A record": exactly the downgrade mxguard prevents.
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "policy/tlsa.h"

namespace mxguard::dns {

enum class Status {
  Ok,          // at least one record of the asked type (after the server followed CNAMEs)
  NoData,      // the name exists and has no record of that type (NOERROR, empty answer)
  NxDomain,    // the name does not exist (NXDOMAIN)
  Temporary,   // no answer that can be trusted either way: SERVFAIL, REFUSED, timeout, network error
  Malformed,   // the name cannot be asked (bad syntax) or the answer cannot be parsed
};

std::string_view to_string(Status s);

struct MxRecord {
  std::uint16_t preference = 0;
  std::string host;   // as the answer spelled it, without the trailing dot; "" is the root (null MX, RFC 7505)

  friend bool operator==(const MxRecord&, const MxRecord&) = default;
};

// `authenticated_data` is the AD bit of the answer's header: the resolver that answered says it validated
// the answer with DNSSEC. It is only worth what that resolver and the path to it are worth; deciding
// whether to trust it ([dns] trust_ad, loopback resolvers) is the caller's job. Always false unless
// `status` is Ok, NoData or NxDomain (an authenticated denial is meaningful too, e.g. for DANE).
struct MxResult {
  Status status = Status::Temporary;
  std::vector<MxRecord> records;   // non-empty exactly when status == Ok; in the answer's order
  bool authenticated_data = false;
  // Why, when status is Temporary or Malformed ("the DNS server answered SERVFAIL", "no answer from the
  // DNS server (timeout)"), for the log line and the 451's text; "" otherwise.
  std::string failure{};
};

struct AddressResult {
  Status status = Status::Temporary;
  // AF_INET6 and AF_INET socket addresses (port 0): every IPv6 address first, then every IPv4 one, each
  // family in the answer's order. Non-empty exactly when status == Ok.
  std::vector<sockaddr_storage> addresses;
  bool authenticated_data = false;
};

struct TxtResult {
  Status status = Status::Temporary;
  // One entry per TXT record; a record made of several character-strings is their concatenation with
  // nothing in between (RFC 7208 §3.3 and RFC 8461 §3.1 both read multi-string records that way).
  // Bytes are kept as they are: the record parsers decide what is valid.
  std::vector<std::string> records;
  bool authenticated_data = false;
};

// TLSA records of "_<port>._tcp.<host>" (RFC 6698 §3), for DANE. NoData and NxDomain both mean "no
// records"; with the AD bit that is an authenticated denial, which DANE needs to tell apart from an
// answer that was merely not signed (RFC 7672 §2.2).
struct TlsaResult {
  Status status = Status::Temporary;
  std::vector<policy::TlsaRecord> records;   // non-empty exactly when status == Ok; in the answer's order
  bool authenticated_data = false;
};

}  // namespace mxguard::dns

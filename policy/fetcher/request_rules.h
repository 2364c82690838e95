#pragma once
// What a Request means to mxguard-fetch, before any network: whether mxguard broke the protocol by
// sending it, whether it can be fetched at all, and the URL and CURLOPT_RESOLVE entry it becomes.
// Pure; no libcurl.
//
// Two kinds of bad request, answered differently:
// - A violation is something only a broken or hostile peer sends: mxguard's own resolver produced the
//   addresses, its configuration the port, CA file and timeouts, and it chose the id. mxguard-fetch
//   logs it and exits with status 2 (mxguard restarts it); it never guesses what was meant.
// - A refusal is a request that is well formed but cannot be fetched (no addresses, or a domain that is
//   no host name, which a recipient address can carry): it is answered Failed, and the other fetches go on.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "policy/fetcher/protocol.h"

namespace mxguard::fetch {

// Why `request` violates the protocol ("" if it does not): port 0, an address that is not an IPv4 or
// IPv6 literal (no brackets, no zone), an empty CA file or one with a NUL byte, a zero timeout.
// (An id already in flight is a violation too; only the server knows what is in flight.)
std::string request_violation(const Request& request);

// Why `request` is answered Failed without a fetch ("" if it can be fetched): no addresses, or
// "mta-sts." + domain is not a DNS host name (letters, digits, '-', labels of 1..63, at most 253).
std::string request_refusal(const Request& request);

// "mta-sts." + domain (RFC 8461 §3.3).
std::string policy_host(std::string_view domain);

// https://mta-sts.<domain>[:port]/.well-known/mta-sts.txt (":443" left out, as a browser would).
std::string policy_url(std::string_view domain, std::uint16_t port);

// "mta-sts.<domain>:<port>:<a1>,<a2>,..." with IPv6 literals in brackets: curl connects only to these.
std::string resolve_entry(std::string_view domain, std::uint16_t port, std::span<const std::string> addresses);

// Whether two requests ask the same question (everything but the id): such requests share one transfer.
bool same_question(const Request& a, const Request& b);

}  // namespace mxguard::fetch

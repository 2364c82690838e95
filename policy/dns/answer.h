#pragma once
// Raw DNS answers (as c-ares hands them to an ares_send callback) to the values of records.h. Pure: no
// channel, no I/O, so every status mapping is tested with hand-built messages.
//
// c-ares's parse helpers (ares_parse_mx_reply and friends) read the records but drop the header, and the
// header carries what they cannot tell: the RCODE (NXDOMAIN versus an empty NOERROR) and the AD bit. So
// the header is read here, the records by the helpers, from the same buffer.
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "policy/dns/records.h"

namespace mxguard::dns {

// RFC 1035 §4.1.1, the fields mxguard uses.
struct Header {
  std::uint16_t id = 0;
  bool response = false;        // QR
  bool truncated = false;       // TC
  bool authenticated = false;   // AD (RFC 4035 §3.2.3)
  int rcode = 0;                // 0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED, ...
  std::uint16_t qdcount = 0;
  std::uint16_t ancount = 0;
};

std::optional<Header> parse_header(std::span<const unsigned char> message);

namespace detail {
// What a message says before its records are read, shared by every parser (answer.cpp, tlsa_answer.cpp):
// a failed exchange, an unreadable or truncated header, NXDOMAIN or another RCODE decide alone; `records`
// is true for a NOERROR whose answer section decides between Ok and NoData. `ad` is the header's AD bit.
struct HeaderVerdict {
  Status status = Status::Temporary;
  bool ad = false;
  bool records = false;
  std::string_view failure{};   // why, for a Temporary or Malformed status (a static string)
};
HeaderVerdict examine(int ares_status, std::span<const unsigned char> answer);
}  // namespace detail

// `ares_status` is the status an ares_send callback received; `answer` the buffer it received (empty
// unless the status is ARES_SUCCESS).
MxResult parse_mx_answer(int ares_status, std::span<const unsigned char> answer);
TxtResult parse_txt_answer(int ares_status, std::span<const unsigned char> answer);
// `family` is AF_INET (an A query) or AF_INET6 (AAAA).
AddressResult parse_address_answer(int ares_status, std::span<const unsigned char> answer, int family);

// The A and the AAAA answer for one host, as one result:
// - any addresses -> Ok with all of them (IPv6 first), even if the other family failed: a host that
//   can be reached is usable now, and the other family adds nothing a retry would need;
// - otherwise both Malformed -> Malformed (the name cannot be asked);
// - otherwise a Temporary or Malformed one -> Temporary (one family unknown: the host may have addresses);
// - otherwise NxDomain if either said NXDOMAIN, else NoData.
// The AD bit is set only if both answers carried it: "these are all the host's addresses, validated".
AddressResult combine_addresses(const AddressResult& v6, const AddressResult& v4);

}  // namespace mxguard::dns

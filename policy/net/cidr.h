#pragma once
// IP networks as the configuration writes them ("192.0.2.0/24", "2001:db8::/32"): one parser for the
// configuration's checks and the matchers built from it, so that what the loader accepts is exactly what
// the outbound listener enforces. Pure; addresses are parsed with inet_pton (no host names, no zone ids).
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mxguard::policy {

enum class IpFamily { V4, V6 };

struct IpAddress {
  IpFamily family = IpFamily::V4;
  std::array<std::uint8_t, 16> bytes{};   // network byte order; IPv4 uses the first 4, the rest stay zero

  bool operator==(const IpAddress&) const = default;
};

// A literal address, "192.0.2.1" or "2001:db8::1"; std::nullopt for anything else.
std::optional<IpAddress> parse_ip(std::string_view text);

// The IPv4 address inside an IPv4-mapped IPv6 address (::ffff:a.b.c.d, RFC 4291 §2.5.5.2), which is how
// a dual-stack socket shows an IPv4 peer; std::nullopt for every other address.
std::optional<IpAddress> unmapped_ipv4(const IpAddress& address);

// 127.0.0.0/8, ::1, and 127.0.0.0/8 in its IPv4-mapped form: the machine itself.
bool is_loopback(const IpAddress& address);

struct Cidr {
  IpAddress network;     // with every bit after the prefix cleared
  unsigned prefix = 0;   // 0..32 or 0..128

  bool operator==(const Cidr&) const = default;
};

enum class CidrError {
  None,
  MissingPrefix,   // no '/': a bare address is refused rather than read as /32, so the intent is written
  BadAddress,      // the part before '/' is not an IPv4 or IPv6 literal
  BadPrefix,       // not a decimal number within the family's bits
  HostBitsSet,     // "10.0.0.1/8": usually a typo, so refused; `cidr` then holds what was probably meant
};

struct CidrParse {
  CidrError error = CidrError::None;
  // Valid for None, and for HostBitsSet (the network with the host bits cleared). For BadPrefix only
  // cidr.network is set: the address, whose family says how long a prefix may be.
  Cidr cidr;
};

CidrParse parse_cidr(std::string_view text);

// "192.0.2.0/24", "2001:db8::/32" (the address as inet_ntop spells it)
std::string to_string(const Cidr& cidr);
std::string to_string(const IpAddress& address);

// An IPv6 network inside ::ffff:0:0/96 with a prefix of at least 96 names IPv4 addresses only: it is
// returned as that IPv4 network ("::ffff:10.0.0.0/104" -> "10.0.0.0/8"). Every other network unchanged.
Cidr ipv4_form(const Cidr& network);

// The network of `prefix` bits that holds `address` (a prefix past the family's length is the address
// itself, /32 or /128).
Cidr network_of(const IpAddress& address, unsigned prefix);

// Whether `address` is in `network`; addresses of the other family never are (see AllowList for the
// IPv4-mapped form).
bool contains(const Cidr& network, const IpAddress& address);

}  // namespace mxguard::policy

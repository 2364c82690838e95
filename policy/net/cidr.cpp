#include "policy/net/cidr.h"

#include <arpa/inet.h>

#include <algorithm>

namespace mxguard::policy {
namespace {

unsigned bits_of(IpFamily family) { return family == IpFamily::V4 ? 32 : 128; }

bool bit(const IpAddress& a, unsigned i) { return (a.bytes[i / 8] >> (7 - i % 8)) & 1u; }

void clear_after(IpAddress& a, unsigned prefix) {
  for (unsigned i = prefix; i < bits_of(a.family); ++i) {
    a.bytes[i / 8] &= static_cast<std::uint8_t>(~(0x80u >> (i % 8)));
  }
}

}  // namespace

std::optional<IpAddress> parse_ip(std::string_view text) {
  // inet_pton needs a terminated string; the copy also stops it at an embedded NUL.
  std::string terminated(text);
  if (terminated.size() != text.size() || terminated.find('\0') != std::string::npos) return std::nullopt;
  IpAddress a;
  if (inet_pton(AF_INET, terminated.c_str(), a.bytes.data()) == 1) return a;
  a.family = IpFamily::V6;
  if (inet_pton(AF_INET6, terminated.c_str(), a.bytes.data()) == 1) return a;
  return std::nullopt;
}

std::optional<IpAddress> unmapped_ipv4(const IpAddress& address) {
  static constexpr std::array<std::uint8_t, 12> kMappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (address.family != IpFamily::V6) return std::nullopt;
  if (!std::equal(kMappedPrefix.begin(), kMappedPrefix.end(), address.bytes.begin())) return std::nullopt;
  IpAddress v4;
  std::copy(address.bytes.begin() + 12, address.bytes.end(), v4.bytes.begin());
  return v4;
}

bool is_loopback(const IpAddress& address) {
  if (auto v4 = unmapped_ipv4(address)) return v4->bytes[0] == 127;
  if (address.family == IpFamily::V4) return address.bytes[0] == 127;
  static constexpr std::array<std::uint8_t, 16> kLoopback6 = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return address.bytes == kLoopback6;
}

CidrParse parse_cidr(std::string_view text) {
  CidrParse out;
  std::size_t slash = text.find('/');
  if (slash == std::string_view::npos) return {CidrError::MissingPrefix, {}};
  std::optional<IpAddress> address = parse_ip(text.substr(0, slash));
  if (!address) return {CidrError::BadAddress, {}};
  std::string_view length = text.substr(slash + 1);
  bool digits = !length.empty() && length.size() <= 3 &&
                std::all_of(length.begin(), length.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits) return {CidrError::BadPrefix, Cidr{*address, 0}};
  unsigned prefix = 0;
  for (char c : length) prefix = prefix * 10 + static_cast<unsigned>(c - '0');
  if (prefix > bits_of(address->family)) return {CidrError::BadPrefix, Cidr{*address, 0}};

  out.cidr = Cidr{*address, prefix};
  clear_after(out.cidr.network, prefix);
  if (out.cidr.network != *address) out.error = CidrError::HostBitsSet;
  return out;
}

std::string to_string(const IpAddress& address) {
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(address.family == IpFamily::V4 ? AF_INET : AF_INET6, address.bytes.data(), text, sizeof text);
  return text;
}

std::string to_string(const Cidr& cidr) { return to_string(cidr.network) + "/" + std::to_string(cidr.prefix); }

Cidr ipv4_form(const Cidr& network) {
  if (network.network.family != IpFamily::V6 || network.prefix < 96) return network;
  std::optional<IpAddress> v4 = unmapped_ipv4(network.network);
  if (!v4) return network;
  return Cidr{*v4, network.prefix - 96};
}

Cidr network_of(const IpAddress& address, unsigned prefix) {
  Cidr out{address, std::min(prefix, bits_of(address.family))};
  clear_after(out.network, out.prefix);
  return out;
}

bool contains(const Cidr& network, const IpAddress& address) {
  if (network.network.family != address.family) return false;
  for (unsigned i = 0; i < network.prefix; ++i) {
    if (bit(network.network, i) != bit(address, i)) return false;
  }
  return true;
}

}  // namespace mxguard::policy

#include "proxy/smtp/proxy_header.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdint>
#include <optional>

namespace mxguard::smtp {

namespace {

// One endpoint reduced to what the headers carry. An IPv4-mapped IPv6 address (a dual-stack listener's
// view of an IPv4 client) becomes plain IPv4, so the backend sees the address the client really has.
struct Endpoint {
  int family = AF_UNSPEC;
  policy::IpAddress ip;     // network order; 4 or 16 bytes used
  std::uint16_t port = 0;   // host order
};

Endpoint endpoint(const sockaddr_storage& ss) {
  Endpoint e;
  std::optional<policy::IpAddress> ip = policy::client_ip_address(ss);
  if (!ip) return e;
  e.ip = *ip;
  e.family = e.ip.family == policy::IpFamily::V4 ? AF_INET : AF_INET6;
  e.port = ss.ss_family == AF_INET ? ntohs(reinterpret_cast<const sockaddr_in&>(ss).sin_port)
                                   : ntohs(reinterpret_cast<const sockaddr_in6&>(ss).sin6_port);
  return e;
}

std::string text(const Endpoint& e) { return e.family == AF_UNSPEC ? "?" : policy::to_string(e.ip); }

std::size_t address_size(int family) { return family == AF_INET ? 4 : 16; }

// RFC 3461 §4 xtext: everything outside "!".."~", and the '+' and '=' that xtext and XCLIENT use, as +XX.
std::string xtext(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : value) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 33 || c > 126 || c == '+' || c == '=') {
      out += '+';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += ch;
    }
  }
  return out;
}

}  // namespace

int address_port(const sockaddr_storage& addr) { return endpoint(addr).port; }

void set_address_port(sockaddr_storage& addr, std::uint16_t port) {
  if (addr.ss_family == AF_INET) reinterpret_cast<sockaddr_in&>(addr).sin_port = htons(port);
  if (addr.ss_family == AF_INET6) reinterpret_cast<sockaddr_in6&>(addr).sin6_port = htons(port);
}

std::string address_with_port(const sockaddr_storage& addr) {
  std::string host = address_text(addr);
  if (addr.ss_family == AF_INET6) host = "[" + host + "]";
  return host + ":" + std::to_string(address_port(addr));
}

std::string proxy_v1_header(const sockaddr_storage& client, const sockaddr_storage& local) {
  Endpoint src = endpoint(client);
  Endpoint dst = endpoint(local);
  if (src.family == AF_UNSPEC || src.family != dst.family) return "PROXY UNKNOWN\r\n";
  return std::string("PROXY ") + (src.family == AF_INET ? "TCP4 " : "TCP6 ") + text(src) + " " + text(dst) + " " +
         std::to_string(src.port) + " " + std::to_string(dst.port) + "\r\n";
}

std::string proxy_v2_header(const sockaddr_storage& client, const sockaddr_storage& local) {
  static constexpr char kSignature[] = "\x0D\x0A\x0D\x0A\x00\x0D\x0A\x51\x55\x49\x54\x0A";
  std::string out(kSignature, 12);
  Endpoint src = endpoint(client);
  Endpoint dst = endpoint(local);
  if (src.family == AF_UNSPEC || src.family != dst.family) {
    // Version 2, LOCAL; family UNSPEC, no address block: the backend uses the connection's own endpoints.
    out.append({'\x20', '\x00', '\x00', '\x00'});
    return out;
  }
  std::size_t size = address_size(src.family);
  auto length = static_cast<std::uint16_t>(2 * size + 4);
  out += '\x21';                                           // version 2, PROXY
  out += src.family == AF_INET ? '\x11' : '\x21';          // TCP over IPv4 / IPv6
  out += static_cast<char>(length >> 8);
  out += static_cast<char>(length & 0xff);
  out.append(reinterpret_cast<const char*>(src.ip.bytes.data()), size);
  out.append(reinterpret_cast<const char*>(dst.ip.bytes.data()), size);
  for (std::uint16_t port : {src.port, dst.port}) {
    out += static_cast<char>(port >> 8);
    out += static_cast<char>(port & 0xff);
  }
  return out;
}

std::string xclient_command(const XclientInfo& info) {
  constexpr std::string_view kUnavailable = "[UNAVAILABLE]";
  std::string addr(kUnavailable);
  std::string port(kUnavailable);
  if (info.client) {
    Endpoint e = endpoint(*info.client);
    if (e.family != AF_UNSPEC) {
      addr = (e.family == AF_INET6 ? "IPV6:" : "") + text(e);
      port = std::to_string(e.port);
    }
  }
  auto value = [&](std::string_view v) { return v.empty() ? std::string(kUnavailable) : xtext(v); };
  return "XCLIENT ADDR=" + xtext(addr) + " PORT=" + port + " PROTO=" + (info.esmtp ? "ESMTP" : "SMTP") +
         " HELO=" + value(info.helo) + " NAME=" + value(info.name) + "\r\n";
}

}  // namespace mxguard::smtp

#include "bench/common/loopback.h"

#include <arpa/inet.h>

#include <charconv>

namespace mxguard::bench {

std::optional<sockaddr_in> parse_loopback(std::string_view text, std::string& error) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    error = "expected 127.x.y.z:PORT, got \"" + std::string(text) + "\"";
    return std::nullopt;
  }
  std::string_view port_text = text.substr(colon + 1);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 || port > 65535) {
    error = "bad port in \"" + std::string(text) + "\"";
    return std::nullopt;
  }
  std::optional<sockaddr_in> addr = parse_loopback_host(text.substr(0, colon), error);
  if (addr) addr->sin_port = htons(static_cast<uint16_t>(port));
  return addr;
}

std::optional<sockaddr_in> parse_loopback_host(std::string_view text, std::string& error) {
  std::string host(text);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    error = "\"" + host + "\" is not an IPv4 address";
    return std::nullopt;
  }
  if ((ntohl(addr.sin_addr.s_addr) >> 24) != 127) {
    error = "\"" + host + "\" is not a loopback address: the benchmark tools only talk to 127.0.0.0/8";
    return std::nullopt;
  }
  return addr;
}

}  // namespace mxguard::bench

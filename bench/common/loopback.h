#pragma once
// The benchmark tools only ever talk to 127.0.0.0/8: a load generator with flood modes must not be one
// typo away from hammering a real mail server. Every address a tool is given goes through this check.
#include <netinet/in.h>

#include <optional>
#include <string>
#include <string_view>

namespace mxguard::bench {

// "127.0.0.1:2525" -> the address; nullopt (with `error` set) for anything else, including other hosts.
std::optional<sockaddr_in> parse_loopback(std::string_view text, std::string& error);
// "127.0.0.2" -> the address with port 0 (a local address to bind to); the same check.
std::optional<sockaddr_in> parse_loopback_host(std::string_view host, std::string& error);

}  // namespace mxguard::bench

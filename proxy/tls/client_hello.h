#pragma once
// Reads what certificate selection needs from a raw ClientHello's parts. Pure; fuzzed alone.
#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace mxguard::tls {

// The host_name from a server_name extension body (RFC 6066 §3), lower-cased; nullopt when absent/invalid.
std::optional<std::string> parse_server_name(std::span<const uint8_t> extension);

struct ClientCapabilities {
  bool ecdsa = false;   // an ECDSA certificate can be used with this client
  bool rsa = false;     // an RSA certificate can be used with this client
};

// `signature_algorithms` / `supported_versions` are extension bodies (empty when the client sent none),
// `cipher_suites` the raw cipher suite list.
ClientCapabilities parse_capabilities(std::span<const uint8_t> signature_algorithms,
                                      std::span<const uint8_t> supported_versions,
                                      std::span<const uint8_t> cipher_suites);

// Certificate names are matched against the SNI with policy::name_matches (policy/names.h).

}  // namespace mxguard::tls

#pragma once
// A self-signed certificate for first starts without a configured one, so STARTTLS works out of the box
// (opportunistic senders don't verify inbound certificates; an operator replaces it with a real one).
#include <string>
#include <variant>

namespace mxguard::tls {

struct SelfSigned {
  std::string cert_path;
  std::string key_path;
  bool generated = false;   // false: an earlier start's files were reused
};

// Reuses `<dir>/selfsigned-<hostname>.{crt,key}` if both exist, else creates them (EC P-256, 3 years,
// SAN = hostname, key mode 0600). Returns an error message on failure.
std::variant<SelfSigned, std::string> ensure_self_signed(const std::string& dir, const std::string& hostname);

}  // namespace mxguard::tls

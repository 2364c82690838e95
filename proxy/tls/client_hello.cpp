#include "proxy/tls/client_hello.h"

#include "base/ascii.h"

#include "policy/names.h"

namespace mxguard::tls {
namespace {

// A big-endian cursor that never reads past its end.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> s) : s_(s) {}
  bool u8(uint8_t& v) {
    if (s_.size() < 1) return false;
    v = s_[0];
    s_ = s_.subspan(1);
    return true;
  }
  bool u16(uint16_t& v) {
    if (s_.size() < 2) return false;
    v = static_cast<uint16_t>((s_[0] << 8) | s_[1]);
    s_ = s_.subspan(2);
    return true;
  }
  bool bytes(std::size_t n, std::span<const uint8_t>& out) {
    if (s_.size() < n) return false;
    out = s_.first(n);
    s_ = s_.subspan(n);
    return true;
  }
  bool empty() const { return s_.empty(); }

 private:
  std::span<const uint8_t> s_;
};

bool is_ecdsa_scheme(uint16_t scheme) {
  // ecdsa_secp256r1_sha256, _secp384r1_sha384, _secp521r1_sha512, ecdsa_sha1
  return scheme == 0x0403 || scheme == 0x0503 || scheme == 0x0603 || scheme == 0x0203;
}

bool is_rsa_scheme(uint16_t scheme) {
  // rsa_pkcs1_sha256/384/512, rsa_pss_rsae_sha256/384/512, rsa_pkcs1_sha1
  return scheme == 0x0401 || scheme == 0x0501 || scheme == 0x0601 || scheme == 0x0804 || scheme == 0x0805 ||
         scheme == 0x0806 || scheme == 0x0201;
}

bool is_ecdsa_suite(uint16_t suite) {
  switch (suite) {
    case 0xC009: case 0xC00A: case 0xC023: case 0xC024: case 0xC02B: case 0xC02C: case 0xCCA9:
      return true;
    default:
      return false;
  }
}

}  // namespace

std::optional<std::string> parse_server_name(std::span<const uint8_t> extension) {
  Reader r(extension);
  uint16_t list_len = 0;
  std::span<const uint8_t> list;
  if (!r.u16(list_len) || !r.bytes(list_len, list) || !r.empty()) return std::nullopt;
  Reader names(list);
  while (!names.empty()) {
    uint8_t type = 0;
    uint16_t len = 0;
    std::span<const uint8_t> name;
    if (!names.u8(type) || !names.u16(len) || !names.bytes(len, name)) return std::nullopt;
    if (type != 0) continue;   // only host_name is defined
    if (name.empty() || name.size() > 255) return std::nullopt;
    std::string host;
    for (uint8_t c : name) {
      if (c <= 0x20 || c >= 0x7f) return std::nullopt;
      host.push_back(static_cast<char>(c));
    }
    return ascii::lower(host);
  }
  return std::nullopt;
}

ClientCapabilities parse_capabilities(std::span<const uint8_t> signature_algorithms,
                                      std::span<const uint8_t> supported_versions,
                                      std::span<const uint8_t> cipher_suites) {
  bool tls13 = false;
  {
    Reader r(supported_versions);
    uint8_t len = 0;
    std::span<const uint8_t> list;
    if (r.u8(len) && r.bytes(len, list)) {
      Reader v(list);
      uint16_t version = 0;
      while (v.u16(version)) tls13 = tls13 || version == 0x0304;
    }
  }
  // Without the extension a TLS 1.2 client accepts ECDSA with SHA-1 whenever it offers ECDSA suites.
  bool ecdsa_signature = signature_algorithms.empty();
  bool rsa_signature = signature_algorithms.empty();
  {
    Reader r(signature_algorithms);
    uint16_t len = 0;
    std::span<const uint8_t> list;
    if (r.u16(len) && r.bytes(len, list)) {
      Reader s(list);
      uint16_t scheme = 0;
      while (s.u16(scheme)) {
        ecdsa_signature = ecdsa_signature || is_ecdsa_scheme(scheme);
        rsa_signature = rsa_signature || is_rsa_scheme(scheme);
      }
    }
  }
  bool ecdsa_suite = false;
  {
    Reader r(cipher_suites);
    uint16_t suite = 0;
    while (r.u16(suite)) ecdsa_suite = ecdsa_suite || is_ecdsa_suite(suite);
  }
  // TLS 1.3 suites are independent of the key type; TLS 1.2 needs an ECDHE_ECDSA suite.
  return ClientCapabilities{.ecdsa = ecdsa_signature && (tls13 || ecdsa_suite), .rsa = rsa_signature};
}

}  // namespace mxguard::tls

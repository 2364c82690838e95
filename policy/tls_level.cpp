#include "policy/tls_level.h"

#include <array>

namespace mxguard::policy {
namespace {

constexpr std::array<TlsLevelName, 7> kNames = {{
    {TlsLevel::None, "none"},
    {TlsLevel::May, "may"},
    {TlsLevel::Encrypt, "encrypt"},
    {TlsLevel::Verify, "verify"},
    {TlsLevel::MtaSts, "mta-sts"},
    {TlsLevel::Dane, "dane"},
    {TlsLevel::DaneOnly, "dane-only"},
}};

}  // namespace

std::span<const TlsLevelName> tls_level_names() { return kNames; }

std::optional<TlsLevel> parse_tls_level(std::string_view name) {
  for (const TlsLevelName& entry : kNames) {
    if (entry.name == name) return entry.level;
  }
  return std::nullopt;
}

std::string_view to_string(TlsLevel level) {
  for (const TlsLevelName& entry : kNames) {
    if (entry.level == level) return entry.name;
  }
  return "unknown";
}

bool requires_tls(TlsLevel level) { return level >= TlsLevel::Encrypt; }
bool requires_authentication(TlsLevel level) { return level >= TlsLevel::Verify; }
bool falls_back_to_plaintext(TlsLevel level) { return level == TlsLevel::May; }

}  // namespace mxguard::policy

// The TOML configuration loader (policy/config): any text gives either a Config or one ConfigError, never
// an exception or a crash. An error names a line inside the text (or none), says what is wrong in
// printable words, and names a key when it has a line; a Config that loads keeps the invariants later
// code relies on without checking again (ports in range, lower-case domains, non-empty listen lists
// only with valid endpoints).
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "fuzz/check.h"
#include "policy/config/config_loader.h"

using namespace mxguard::config;

namespace {

// Our own messages may quote RFC sections ("§"): UTF-8 is fine, control bytes are not.
bool no_control_bytes(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

bool lower_case(std::string_view s) {
  for (char c : s) {
    if (c >= 'A' && c <= 'Z') return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  LoadResult result = parse_config(text, "fuzz.toml");
  if (const auto* error = std::get_if<ConfigError>(&result)) {
    FUZZ_CHECK(!error->message.empty());
    FUZZ_CHECK(error->file == "fuzz.toml");
    std::size_t lines = 1;
    for (char c : text) lines += c == '\n';
    FUZZ_CHECK(error->line >= 0 && static_cast<std::size_t>(error->line) <= lines);
    if (!no_control_bytes(error->to_string())) std::fprintf(stderr, "message: %s\n", error->to_string().c_str());
    FUZZ_CHECK(no_control_bytes(error->to_string()));
    return 0;
  }
  const Config& config = std::get<Config>(result);
  for (const auto& [domain, entry] : config.policy.domains) {
    FUZZ_CHECK(!domain.empty() && lower_case(domain));
    for (const std::string& mx : entry.mx) FUZZ_CHECK(lower_case(mx));
  }
  for (const auto& [domain, endpoint] : config.outbound.routes) {
    FUZZ_CHECK(!domain.empty() && lower_case(domain));
    FUZZ_CHECK(endpoint.port != 0);
  }
  for (const Endpoint& e : config.outbound.listen) FUZZ_CHECK(e.port != 0 && !e.host.empty());
  for (const Endpoint& e : config.dns.servers) FUZZ_CHECK(e.port != 0 && !e.host.empty());
  FUZZ_CHECK(config.mta_sts.https_port != 0);
  FUZZ_CHECK(config.mta_sts.fetch_timeout.count() >= 1);
  for (const std::string& w : config.warnings) FUZZ_CHECK(no_control_bytes(w));
  return 0;
}

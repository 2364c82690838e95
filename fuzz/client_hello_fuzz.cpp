// The ClientHello fields certificate selection reads (SNI, signature algorithms, versions, suites) come
// from the internet before any authentication. Checks that parsing never reads out of bounds and that a
// parsed host name is printable, lower-case and of a valid length.
#include <fuzzer/FuzzedDataProvider.h>

#include <cctype>
#include <cstdint>
#include <vector>

#include "fuzz/check.h"
#include "policy/names.h"
#include "proxy/tls/client_hello.h"

using namespace mxguard::tls;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider fdp(data, size);
  auto take = [&] { return fdp.ConsumeBytes<std::uint8_t>(fdp.ConsumeIntegralInRange<std::size_t>(0, 300)); };
  std::vector<std::uint8_t> sni = take(), sigalgs = take(), versions = take();
  std::vector<std::uint8_t> suites = fdp.ConsumeRemainingBytes<std::uint8_t>();

  if (auto host = parse_server_name(sni)) {
    FUZZ_CHECK(!host->empty() && host->size() <= 255);
    for (char c : *host) {
      FUZZ_CHECK(c > 0x20 && c < 0x7f);
      FUZZ_CHECK(!std::isupper(static_cast<unsigned char>(c)));
    }
    FUZZ_CHECK(mxguard::policy::name_matches(*host, *host));
  }
  ClientCapabilities caps = parse_capabilities(sigalgs, versions, suites);
  // No extension at all means TLS 1.2 defaults: RSA is always acceptable then.
  if (sigalgs.empty()) FUZZ_CHECK(caps.rsa);
  return 0;
}

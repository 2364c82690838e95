// The EHLO offer. Builds a backend reply from the input (any code, any lines) and checks that the client
// is never offered STARTTLS under TLS, never AUTH before it, never a framing or identity extension, gets
// STARTTLS exactly once when it should, one SIZE line within the limit, and a reply that serialises to
// bytes the reply parser reads back unchanged.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/check.h"
#include "proxy/smtp/ehlo_rewriter.h"

using namespace mxguard::smtp;

namespace {

std::string keyword(std::string_view line) {
  std::string k(line.substr(0, line.find(' ')));
  for (char& c : k) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
  }
  return k;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider fdp(data, size);
  EhloOffer offer;
  offer.tls_active = fdp.ConsumeBool();
  offer.starttls_available = fdp.ConsumeBool();
  offer.max_message_size = fdp.ConsumeBool() ? 0 : fdp.ConsumeIntegral<std::uint64_t>();
  Reply backend;
  // Codes as the reply parser lets them through: 2..5, 0..5, 0..9.
  backend.code = fdp.ConsumeBool() ? 250
                                   : fdp.ConsumeIntegralInRange<int>(2, 5) * 100 +
                                         fdp.ConsumeIntegralInRange<int>(0, 5) * 10 + fdp.ConsumeIntegralInRange<int>(0, 9);
  while (fdp.remaining_bytes() > 0 && backend.lines.size() < 64) {
    std::string line = fdp.ConsumeRandomLengthString(64);
    // Reply lines from the parser never carry CR, LF, DEL or other controls but TAB.
    line.erase(std::remove_if(line.begin(), line.end(),
                              [](char c) { return (static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f; }),
               line.end());
    backend.lines.push_back(line);
  }

  Reply out = rewrite_ehlo(backend, offer);
  if (backend.klass() != 2) {
    FUZZ_CHECK(out.code == backend.code && out.lines == backend.lines);
    return 0;
  }
  FUZZ_CHECK(out.code == backend.code && !out.lines.empty());
  if (!backend.lines.empty()) FUZZ_CHECK(out.lines.front() == backend.lines.front());

  static const std::vector<std::string> kAllowed = {"SIZE", "PIPELINING", "8BITMIME", "DSN",
                                                    "ENHANCEDSTATUSCODES", "SMTPUTF8", "VRFY", "ETRN",
                                                    "HELP", "DELIVERBY", "MT-PRIORITY", "STARTTLS"};
  std::vector<std::string> seen;
  int starttls = 0;
  int sizes = 0;
  for (std::size_t i = 1; i < out.lines.size(); ++i) {
    std::string k = keyword(out.lines[i]);
    FUZZ_CHECK(std::find(seen.begin(), seen.end(), k) == seen.end());   // each keyword once
    seen.push_back(k);
    bool tls_only = k == "AUTH" || k.starts_with("AUTH=") || k == "REQUIRETLS";
    FUZZ_CHECK(std::find(kAllowed.begin(), kAllowed.end(), k) != kAllowed.end() || (tls_only && offer.tls_active));
    if (k == "STARTTLS") ++starttls;
    if (k == "SIZE") {
      ++sizes;
      if (offer.max_message_size != 0) {
        std::string_view value = std::string_view(out.lines[i]).substr(4);
        FUZZ_CHECK(value.size() > 1 && value[0] == ' ');
        std::uint64_t n = std::stoull(std::string(value.substr(1)));
        FUZZ_CHECK(n > 0 && n <= offer.max_message_size);
      }
    }
  }
  FUZZ_CHECK(starttls == (offer.starttls_available && !offer.tls_active ? 1 : 0));
  if (offer.max_message_size != 0) FUZZ_CHECK(sizes == 1);

  std::string wire = out.serialize();
  ReplyParse parsed = parse_reply(wire, wire.size() + 1, out.lines.size() + 1);
  FUZZ_CHECK(parsed.status == ReplyStatus::Complete && parsed.consumed == wire.size());
  FUZZ_CHECK(parsed.reply.lines == out.lines);
  return 0;
}

// What the backend is told about the client. Checks that arbitrary HELO/NAME values cannot add
// attributes or lines to XCLIENT (and decode back to themselves), and that the PROXY headers are
// well-formed for arbitrary socket addresses.
#include <fuzzer/FuzzedDataProvider.h>
#include <netinet/in.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "fuzz/check.h"
#include "proxy/smtp/proxy_header.h"

using namespace mxguard::smtp;

namespace {

sockaddr_storage make_address(FuzzedDataProvider& fdp) {
  sockaddr_storage ss{};
  std::string raw = fdp.ConsumeBytesAsString(sizeof ss);
  std::memcpy(&ss, raw.data(), raw.size());
  const sa_family_t families[] = {AF_INET, AF_INET6, AF_UNIX, AF_UNSPEC};
  ss.ss_family = families[fdp.ConsumeIntegralInRange<int>(0, 3)];
  if (ss.ss_family == AF_INET6 && fdp.ConsumeBool()) {   // IPv4-mapped
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    std::memset(sin6->sin6_addr.s6_addr, 0, 10);
    sin6->sin6_addr.s6_addr[10] = 0xff;
    sin6->sin6_addr.s6_addr[11] = 0xff;
  }
  return ss;
}

int hex(char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1; }

std::string xtext_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '+') {
      FUZZ_CHECK(s[i] > 32 && s[i] < 127 && s[i] != '=');
      out += s[i];
      continue;
    }
    FUZZ_CHECK(i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0);
    out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
    i += 2;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider fdp(data, size);
  sockaddr_storage client = make_address(fdp);
  sockaddr_storage local = make_address(fdp);
  std::string helo = fdp.ConsumeRandomLengthString(300);
  std::string name = fdp.ConsumeRemainingBytesAsString();

  std::string cmd = xclient_command({.client = &client, .helo = helo, .name = name, .esmtp = true});
  FUZZ_CHECK(cmd.starts_with("XCLIENT ADDR=") && cmd.ends_with("\r\n"));
  std::string_view body(cmd);
  body.remove_suffix(2);
  FUZZ_CHECK(body.find_first_of("\r\n") == std::string_view::npos);
  std::string_view attributes[5];
  const char* const kNames[5] = {"ADDR=", "PORT=", "PROTO=", "HELO=", "NAME="};
  body.remove_prefix(8);
  for (int i = 0; i < 5; ++i) {
    std::size_t space = body.find(' ');
    FUZZ_CHECK((space == std::string_view::npos) == (i == 4));
    std::string_view attr = body.substr(0, space);
    FUZZ_CHECK(attr.starts_with(kNames[i]));
    attributes[i] = attr.substr(std::strlen(kNames[i]));
    body.remove_prefix(space == std::string_view::npos ? body.size() : space + 1);
  }
  FUZZ_CHECK(helo.empty() ? attributes[3] == "[UNAVAILABLE]" : xtext_decode(attributes[3]) == helo);
  FUZZ_CHECK(name.empty() ? attributes[4] == "[UNAVAILABLE]" : xtext_decode(attributes[4]) == name);

  std::string v1 = proxy_v1_header(client, local);
  FUZZ_CHECK(v1.size() <= 107 && v1.starts_with("PROXY ") && v1.ends_with("\r\n"));
  std::string v2 = proxy_v2_header(client, local);
  FUZZ_CHECK(v2.size() >= 16 && v2.compare(0, 12, std::string("\r\n\r\n\0\r\nQUIT\n", 12)) == 0);
  std::size_t length = static_cast<unsigned char>(v2[14]) * 256u + static_cast<unsigned char>(v2[15]);
  FUZZ_CHECK(v2.size() == 16 + length);
  FUZZ_CHECK((v1 == "PROXY UNKNOWN\r\n") == (v2[12] == 0x20));
  return 0;
}

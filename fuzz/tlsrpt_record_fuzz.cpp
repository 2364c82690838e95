// The _smtp._tls TXT record of TLS-RPT (proxy/audit/report/tlsrpt_record.h). The input is a TXT answer:
// records separated by 0x01. Checks that an accepted record begins with v=TLSRPTv1 and has a rua, that
// every mailto address is one local part '@' a domain with no byte that could break an email header,
// that every https destination starts with https://, that the canonical spelling of an accepted record
// gives the same destinations, that discover_tlsrpt() follows RFC 8460 §3's selection (count the records
// that begin with v=TLSRPTv1, then parse the one), that unrelated records change nothing, that a failed
// lookup is never None, and that every message is printable ASCII.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/check.h"
#include "proxy/audit/report/tlsrpt_record.h"

using namespace mxguard;
using namespace mxguard::audit::report;

namespace {

bool printable(std::string_view s) {
  for (char c : s) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

std::vector<std::string> split(std::string_view input, char separator) {
  std::vector<std::string> out;
  while (true) {
    std::size_t at = input.find(separator);
    out.emplace_back(input.substr(0, at));
    if (at == std::string_view::npos) return out;
    input.remove_prefix(at + 1);
  }
}

std::string encoded_address(const std::string& address) {
  std::string out;
  for (char c : address) {
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '@' ||
                 c == '.' || c == '-' || c == '_';
    if (!plain) {
      static constexpr char kHex[] = "0123456789ABCDEF";
      out += '%';
      out += kHex[(static_cast<unsigned char>(c) >> 4) & 15];
      out += kHex[static_cast<unsigned char>(c) & 15];
    } else {
      out += c;
    }
  }
  return out;
}

void check_record(const std::string& text) {
  auto parsed = parse_tlsrpt_record(text);
  if (auto* problem = std::get_if<std::string>(&parsed)) {
    FUZZ_CHECK(!problem->empty() && printable(*problem));
    return;
  }
  const TlsrptRecord& r = std::get<TlsrptRecord>(parsed);
  FUZZ_CHECK(begins_with_tlsrpt_version(text));
  FUZZ_CHECK(text.find("rua=") != std::string::npos);
  FUZZ_CHECK(!r.mailto.empty() || !r.https.empty() || !r.unsupported.empty());
  for (const std::string& a : r.mailto) {
    std::size_t at = a.find('@');
    FUZZ_CHECK(at != std::string::npos && at > 0 && at + 1 < a.size() && a.find('@', at + 1) == std::string::npos);
    for (char c : a) FUZZ_CHECK(c > 0x20 && c < 0x7f && c != '<' && c != '>');
  }
  for (const std::string& u : r.https) {
    FUZZ_CHECK(u.size() > 8 && (u[0] == 'h' || u[0] == 'H'));
    FUZZ_CHECK(printable(u) && u.find(' ') == std::string::npos);
  }
  // The canonical spelling of the same destinations parses to the same record.
  std::string canonical = "v=TLSRPTv1; rua=";
  bool first = true;
  auto add = [&](const std::string& uri) {
    canonical += (first ? "" : ",") + uri;
    first = false;
  };
  for (const std::string& a : r.mailto) add("mailto:" + encoded_address(a));
  for (const std::string& u : r.https) add(u);
  for (const std::string& u : r.unsupported) add(u);
  auto again = parse_tlsrpt_record(canonical);
  FUZZ_CHECK(std::holds_alternative<TlsrptRecord>(again));
  const TlsrptRecord& same = std::get<TlsrptRecord>(again);
  FUZZ_CHECK(same.mailto == r.mailto && same.https == r.https && same.unsupported == r.unsupported);
}

TlsrptDiscovery discover_records(dns::Status status, std::vector<std::string> records) {
  dns::TxtResult answer;
  answer.status = status;
  answer.records = std::move(records);
  return discover_tlsrpt(answer);
}

TlsrptDiscovery::Kind expected_kind(const std::vector<std::string>& records) {
  const std::string* selected = nullptr;
  std::size_t count = 0;
  for (const std::string& r : records) {
    if (r.starts_with("v=TLSRPTv1") && (r.size() == 10 || r[10] == ';' || r[10] == ' ' || r[10] == '\t')) {
      ++count;
      selected = &r;
    }
  }
  if (count == 0) return TlsrptDiscovery::Kind::None;
  if (count > 1) return TlsrptDiscovery::Kind::Invalid;
  auto parsed = parse_tlsrpt_record(*selected);
  if (!std::holds_alternative<TlsrptRecord>(parsed)) return TlsrptDiscovery::Kind::Invalid;
  const TlsrptRecord& r = std::get<TlsrptRecord>(parsed);
  return r.mailto.empty() && r.https.empty() ? TlsrptDiscovery::Kind::Invalid : TlsrptDiscovery::Kind::Published;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> records = split(input, '\x01');
  for (const std::string& r : records) check_record(r);

  TlsrptDiscovery found = discover_records(dns::Status::Ok, records);
  FUZZ_CHECK(printable(found.detail));
  FUZZ_CHECK(found.kind == expected_kind(records));
  FUZZ_CHECK((found.kind == TlsrptDiscovery::Kind::Invalid) == !found.detail.empty());

  std::vector<std::string> with_others = records;
  with_others.insert(with_others.begin(), "v=spf1 -all");
  with_others.push_back("v=STSv1; id=20260101");
  TlsrptDiscovery others = discover_records(dns::Status::Ok, with_others);
  FUZZ_CHECK(others.kind == found.kind && others.record == found.record);

  std::vector<std::string> doubled = records;
  doubled.insert(doubled.end(), records.begin(), records.end());
  TlsrptDiscovery twice = discover_records(dns::Status::Ok, doubled);
  FUZZ_CHECK(twice.kind == (found.kind == TlsrptDiscovery::Kind::None ? TlsrptDiscovery::Kind::None
                                                                       : TlsrptDiscovery::Kind::Invalid));

  for (dns::Status s : {dns::Status::Temporary, dns::Status::Malformed}) {
    TlsrptDiscovery d = discover_records(s, records);
    FUZZ_CHECK(d.kind == TlsrptDiscovery::Kind::Temporary && printable(d.detail));
  }
  return 0;
}

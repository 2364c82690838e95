#include "proxy/audit/report/tlsrpt_record.h"

#include <gtest/gtest.h>

namespace mxguard::audit::report {
namespace {

TlsrptRecord good(std::string_view text) {
  auto parsed = parse_tlsrpt_record(text);
  EXPECT_TRUE(std::holds_alternative<TlsrptRecord>(parsed)) << text << ": " << std::get<std::string>(parsed);
  return std::holds_alternative<TlsrptRecord>(parsed) ? std::get<TlsrptRecord>(parsed) : TlsrptRecord{};
}

std::string bad(std::string_view text) {
  auto parsed = parse_tlsrpt_record(text);
  EXPECT_TRUE(std::holds_alternative<std::string>(parsed)) << text;
  return std::holds_alternative<std::string>(parsed) ? std::get<std::string>(parsed) : "";
}

TEST(TlsrptRecord, TheRfcExamples) {
  EXPECT_EQ(good("v=TLSRPTv1;rua=mailto:reports@example.com").mailto, std::vector<std::string>{"reports@example.com"});
  EXPECT_EQ(good("v=TLSRPTv1; rua=https://reporting.example.com/v1/tlsrpt").https,
            std::vector<std::string>{"https://reporting.example.com/v1/tlsrpt"});
}

TEST(TlsrptRecord, SeveralDestinationsAndSpacing) {
  TlsrptRecord r = good("v=TLSRPTv1 ;  rua=mailto:a@example.com , https://r.example.net/x?y=1, mailto:b@example.org ;");
  EXPECT_EQ(r.mailto, (std::vector<std::string>{"a@example.com", "b@example.org"}));
  EXPECT_EQ(r.https, std::vector<std::string>{"https://r.example.net/x?y=1"});
  EXPECT_TRUE(r.unsupported.empty());
}

TEST(TlsrptRecord, MailtoIsDecodedAndHeaderFieldsIgnored) {
  EXPECT_EQ(good("v=TLSRPTv1; rua=mailto:tls%2Breports@example.com?subject=hi").mailto,
            std::vector<std::string>{"tls+reports@example.com"});
  // An encoded comma is RFC 6068's list of addresses.
  EXPECT_EQ(good("v=TLSRPTv1; rua=mailto:a@example.com%2Cb@example.com").mailto,
            (std::vector<std::string>{"a@example.com", "b@example.com"}));
  EXPECT_EQ(good("v=TLSRPTv1; rua=MAILTO:a@example.com").mailto, std::vector<std::string>{"a@example.com"});
}

TEST(TlsrptRecord, UnknownFieldsAreIgnoredAndOtherSchemesListed) {
  TlsrptRecord r = good("v=TLSRPTv1; ext.1=value-x; rua=ftp://x.example/y,mailto:a@example.com");
  EXPECT_EQ(r.unsupported, std::vector<std::string>{"ftp://x.example/y"});
  EXPECT_EQ(r.mailto, std::vector<std::string>{"a@example.com"});
}

TEST(TlsrptRecord, MalformedRecordsSayWhy) {
  EXPECT_EQ(bad("v=TLSRPTv1"), "has no field after v=TLSRPTv1");
  EXPECT_EQ(bad("v=TLSRPTv1;"), "has no field after v=TLSRPTv1");
  EXPECT_EQ(bad("v=TLSRPTv1; ext=1"), "has no rua field");
  EXPECT_EQ(bad("V=TLSRPTv1; rua=mailto:a@example.com"), "does not begin with v=TLSRPTv1");
  EXPECT_EQ(bad("v=TLSRPTv10; rua=mailto:a@example.com"), "does not begin with v=TLSRPTv1");
  EXPECT_EQ(bad("v=TLSRPTv1; rua=mailto:a@example.com; rua=mailto:b@example.com"), "has two rua fields");
  EXPECT_EQ(bad("v=TLSRPTv1; RUA=mailto:a@example.com"), "has no rua field");   // an extension; no rua
  EXPECT_EQ(bad("v=TLSRPTv1; rua="), "has an empty rua URI");
  EXPECT_EQ(bad("v=TLSRPTv1; rua=mailto:a@example.com,"), "has an empty rua URI");
  EXPECT_EQ(bad("v=TLSRPTv1; rua=reports@example.com"), "has a rua URI without a scheme: reports@example.com");
  EXPECT_EQ(bad("v=TLSRPTv1; rua=mailto:"), "has a rua URI with nothing after its scheme: mailto:");
  EXPECT_EQ(bad("v=TLSRPTv1; rua=mailto:a!b@example.com"), "has a rua URI with an unencoded ',' '!' or ';': mailto:a!b@example.com");
  EXPECT_EQ(bad("v=TLSRPTv1; rua=mailto:a@example.com%2"), "has a rua URI with a broken %-escape: mailto:a@example.com%2");
  EXPECT_EQ(bad("v=TLSRPTv1; rua=mailto:not-an-address"), "has a mailto URI that is not an address: mailto:not-an-address");
  EXPECT_EQ(bad("v=TLSRPTv1; rua=mailto:a@@example.com"), "has a mailto URI that is not an address: mailto:a@@example.com");
  EXPECT_EQ(bad("v=TLSRPTv1; rua=mailto:a%0Ab@example.com"),
            "has a mailto URI with characters an address cannot have: mailto:a%0Ab@example.com")
      << "a decoded line end must never reach an email header";
  EXPECT_EQ(bad("v=TLSRPTv1; rua=mailto:a@example.com x"), "has a rua URI with a character URIs do not have: mailto:a@example.com x");
  EXPECT_EQ(bad("v=TLSRPTv1; rua=mailto:a@example.com; junk"), "has a field without '=': junk");
  EXPECT_EQ(bad("v=TLSRPTv1; rua=mailto:a@example.com; x=a=b"), "has a field that is not name=value: x=a=b");
  EXPECT_EQ(bad("v=TLSRPTv1 rua=mailto:a@example.com"), "has text where a ';' belongs:  rua=mailto:a@example.com");
  EXPECT_EQ(bad("v=TLSRPTv1; v=TLSRPTv1; rua=mailto:a@example.com"), "has a second v field");
  bad(std::string("v=TLSRPTv1; rua=mailto:a@exa\0mple.com", 36));
}

dns::TxtResult answer(std::vector<std::string> records, dns::Status status = dns::Status::Ok) {
  dns::TxtResult r;
  r.status = status;
  r.records = std::move(records);
  return r;
}

TEST(TlsrptDiscovery, SelectionOfRfc8460Section3) {
  TlsrptDiscovery d = discover_tlsrpt(answer({"v=spf1 -all", "v=TLSRPTv1; rua=mailto:r@example.com"}));
  EXPECT_EQ(d.kind, TlsrptDiscovery::Kind::Published);
  EXPECT_EQ(d.record.mailto, std::vector<std::string>{"r@example.com"});
  EXPECT_EQ(discover_tlsrpt(answer({"v=spf1 -all"})).kind, TlsrptDiscovery::Kind::None);
  EXPECT_EQ(discover_tlsrpt(answer({}, dns::Status::NxDomain)).kind, TlsrptDiscovery::Kind::None);
  EXPECT_EQ(discover_tlsrpt(answer({}, dns::Status::NoData)).kind, TlsrptDiscovery::Kind::None);
  EXPECT_EQ(discover_tlsrpt(answer({}, dns::Status::Temporary)).kind, TlsrptDiscovery::Kind::Temporary);
  TlsrptDiscovery two =
      discover_tlsrpt(answer({"v=TLSRPTv1; rua=mailto:a@example.com", "v=TLSRPTv1; rua=mailto:b@example.com"}));
  EXPECT_EQ(two.kind, TlsrptDiscovery::Kind::Invalid);
  EXPECT_EQ(two.detail, "2 records begin with v=TLSRPTv1");
  TlsrptDiscovery broken = discover_tlsrpt(answer({"v=TLSRPTv1; rua=reports@example.com"}));
  EXPECT_EQ(broken.kind, TlsrptDiscovery::Kind::Invalid);
  EXPECT_NE(broken.detail.find("the record has a rua URI"), std::string::npos) << broken.detail;
  TlsrptDiscovery ftp = discover_tlsrpt(answer({"v=TLSRPTv1; rua=ftp://x.example/"}));
  EXPECT_EQ(ftp.kind, TlsrptDiscovery::Kind::Invalid);
  EXPECT_EQ(ftp.detail, "the record names no mailto: or https: destination");
}

}  // namespace
}  // namespace mxguard::audit::report

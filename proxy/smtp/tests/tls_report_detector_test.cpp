#include "proxy/smtp/tls_report_detector.h"

#include <gtest/gtest.h>

#include <string>

namespace mxguard::smtp {
namespace {

const std::string kReport =
    "From: tlsrpt@mx.sender.test\r\n"
    "To: reports@example.test\r\n"
    "Subject: Report Domain: example.test Submitter: mx.sender.test Report-ID: <x@y>\r\n"
    "TLS-Report-Domain: example.test\r\n"
    "TLS-Report-Submitter: mx.sender.test\r\n"
    "Content-Type: multipart/report; report-type=\"tlsrpt\"; boundary=\"b\"\r\n"
    "\r\n"
    "--b\r\n";

TlsReportDetector fed(const std::string& content) {
  TlsReportDetector d;
  d.feed(content);
  return d;
}

TEST(TlsReportDetector, FindsTheFieldInTheHeaderSection) {
  TlsReportDetector d = fed(kReport);
  EXPECT_TRUE(d.is_report());
  EXPECT_EQ(d.report_domain(), "example.test");
}

TEST(TlsReportDetector, SplitAnywhereGivesTheSameAnswer) {
  for (std::size_t cut = 0; cut <= kReport.size(); ++cut) {
    TlsReportDetector d;
    d.feed(kReport.substr(0, cut));
    d.feed(kReport.substr(cut));
    EXPECT_TRUE(d.is_report()) << cut;
    EXPECT_EQ(d.report_domain(), "example.test") << cut;
  }
  TlsReportDetector bytewise;
  for (char c : kReport) bytewise.feed(std::string_view(&c, 1));
  EXPECT_TRUE(bytewise.is_report());
}

TEST(TlsReportDetector, FieldNameIsCaseInsensitiveAndValueTrimmed) {
  TlsReportDetector d = fed("tls-report-DOMAIN:   example.test \t\r\n\r\n");
  EXPECT_TRUE(d.is_report());
  EXPECT_EQ(d.report_domain(), "example.test");
}

TEST(TlsReportDetector, OrdinaryMailIsNotAReport) {
  EXPECT_FALSE(fed("From: a@b\r\nSubject: TLS-Report-Domain: in a subject\r\n\r\nbody\r\n").is_report());
  EXPECT_FALSE(fed("").is_report());
}

TEST(TlsReportDetector, TheBodyDoesNotCount) {
  // A message that quotes a report (a forward, a bounce) is not itself one.
  EXPECT_FALSE(fed("From: a@b\r\n\r\nTLS-Report-Domain: example.test\r\n").is_report());
}

TEST(TlsReportDetector, BareLfLineEndsWork) {
  EXPECT_TRUE(fed("From: a@b\nTLS-Report-Domain: example.test\n\nbody\n").is_report());
}

TEST(TlsReportDetector, ScanIsBounded) {
  // The field after more header bytes than the bound is not looked for (nor kept in memory).
  std::string huge = "X-Filler: " + std::string(TlsReportDetector::kMaxHeaderBytes, 'a') + "\r\n";
  EXPECT_FALSE(fed(huge + "TLS-Report-Domain: example.test\r\n\r\n").is_report());
  // An overlong value is cut, not stored whole.
  TlsReportDetector d = fed("TLS-Report-Domain: " + std::string(5000, 'x') + "\r\n\r\n");
  EXPECT_TRUE(d.is_report());
  EXPECT_EQ(d.report_domain().size(), TlsReportDetector::kMaxValueBytes);
}

}  // namespace
}  // namespace mxguard::smtp

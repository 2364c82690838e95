#include "proxy/audit/report/tlsrpt_report.h"

#include <gtest/gtest.h>

#include "proxy/audit/report/filter.h"
#include "proxy/audit/report/gzip.h"
#include "proxy/audit/report/input.h"
#include "proxy/audit/report/tests/golden.h"
#include "proxy/audit/report/tlsrpt_email.h"

namespace mxguard::audit::report {
namespace {

using testing_golden::expect_golden;
using testing_golden::golden_path;

const ReportIdentity kWho{"Sender Example Ltd", "tlsrpt@sender.example", "mx.sender.example"};

std::vector<DomainReport> reports(const Filter& filter = {}, const PolicyTexts& more = {}, std::uint64_t* excluded = nullptr) {
  TlsrptBuilder builder;
  ReadStats stats;
  EXPECT_EQ(read_audit_files({golden_path("two_days.jsonl")}, [&](Record&& r) { builder.add(r, filter.matches(r)); },
                             stats),
            "");
  auto out = builder.finish(more);
  if (excluded) *excluded = builder.excluded_as_reports();
  return out;
}

const DomainReport* find(const std::vector<DomainReport>& all, const std::string& domain, const std::string& day) {
  for (const DomainReport& r : all) {
    if (r.domain == domain && format_day(r.day) == day) return &r;
  }
  return nullptr;
}

TEST(Tlsrpt, OneReportPerDomainPerUtcDay) {
  std::uint64_t excluded = 0;
  std::vector<DomainReport> all = reports({}, {}, &excluded);
  std::vector<std::string> names;
  for (const DomainReport& r : all) names.push_back(format_day(r.day) + " " + r.domain);
  // legacy.example (level none) is never reported.
  EXPECT_EQ(names, (std::vector<std::string>{"2026-11-22 example.com", "2026-11-22 plain.net", "2026-11-22 testing.org",
                                             "2026-11-23 example.com"}));
  EXPECT_EQ(excluded, 1u) << "the transaction that carried a TLS report";
}

TEST(Tlsrpt, StsPolicyCounts) {
  std::vector<DomainReport> all = reports();
  const DomainReport* r = find(all, "example.com", "2026-11-22");
  ASSERT_NE(r, nullptr);
  ASSERT_EQ(r->policies.size(), 1u);
  const PolicyReport& p = r->policies[0];
  EXPECT_EQ(p.type, "sts");
  EXPECT_EQ(p.policy_id, "20261101T000000");
  // Learned from a fetch three weeks before the day reported.
  EXPECT_EQ(p.policy_lines.front(), "version: STSv1");
  EXPECT_EQ(p.mx_patterns, (std::vector<std::string>{"mx1.example.com", "*.backup.example.com"}));
  EXPECT_EQ(p.successful, 3u);   // the fourth delivery carried a TLS report: not counted
  EXPECT_EQ(p.failed, 2u);
  ASSERT_EQ(p.failures.size(), 2u);
}

// DANE decisions (issue 17): policy-type tlsa with the TLSA records as policy-string and the MX as
// mx-host; a domain with DANE on one MX and MTA-STS on the other gets one entry each, every decision
// counted once.
Record dane_record(const std::string& line) {
  auto parsed = parse_record(line);
  EXPECT_TRUE(std::holds_alternative<Record>(parsed)) << std::get<std::string>(parsed);
  return std::get<Record>(std::move(parsed));
}

TEST(Tlsrpt, DaneDecisionsAreTlsaPolicies) {
  TlsrptBuilder builder;
  const std::string head = R"({"ts":"2026-11-22T10:00:00.000Z","event":"tls-policy","direction":"outbound","session":"s1","peer":"127.0.0.1:1","domain":"both.example",)";
  builder.add(dane_record(head + R"("mx":"mx1.both.example","mx_address":"192.0.2.1:25","policy":"dane","policy_source":"dane","tlsa":["3 1 1 aabb"],"verdict":"delivered"})"), true);
  builder.add(dane_record(head + R"("mx":"mx1.both.example","mx_address":"192.0.2.1:25","policy":"dane","policy_source":"dane","tlsa":["3 1 1 aabb"],"verdict":"refused","reason":"tlsa-invalid"})"), true);
  builder.add(dane_record(head + R"("mx":"mx2.both.example","mx_address":"192.0.2.2:25","policy":"mta-sts","policy_source":"mta-sts","policy_id":"abc","verdict":"delivered"})"), true);
  std::vector<DomainReport> all = builder.finish({{{"both.example", "abc"}, {"version: STSv1", "mode: enforce", "mx: mx2.both.example", "max_age: 86400"}}});
  ASSERT_EQ(all.size(), 1u);
  ASSERT_EQ(all[0].policies.size(), 2u);
  const PolicyReport& sts = all[0].policies[0];
  const PolicyReport& tlsa = all[0].policies[1];
  EXPECT_EQ(sts.type, "sts");
  EXPECT_EQ(sts.successful + sts.failed, 1u);
  EXPECT_EQ(tlsa.type, "tlsa");
  EXPECT_EQ(tlsa.policy_lines, (std::vector<std::string>{"3 1 1 aabb"}));
  EXPECT_EQ(tlsa.mx_patterns, (std::vector<std::string>{"mx1.both.example"}));
  EXPECT_EQ(tlsa.successful, 1u);
  EXPECT_EQ(tlsa.failed, 1u);
  ASSERT_EQ(tlsa.failures.size(), 1u);
  EXPECT_EQ(tlsa.failures[0].result_type, "tlsa-invalid");
  auto json = report_json(all[0], kWho);
  EXPECT_EQ(json["policies"][1]["policy"]["policy-type"], "tlsa");
  EXPECT_EQ(json["policies"][1]["policy"]["policy-string"][0], "3 1 1 aabb");
}

TEST(Tlsrpt, NoPolicyFoundCountsTheRetryOnce) {
  std::vector<DomainReport> all = reports();
  const DomainReport* r = find(all, "plain.net", "2026-11-22");
  ASSERT_NE(r, nullptr);
  ASSERT_EQ(r->policies.size(), 1u);
  EXPECT_EQ(r->policies[0].type, "no-policy-found");
  EXPECT_EQ(r->policies[0].successful, 0u);
  EXPECT_EQ(r->policies[0].failed, 2u);   // STARTTLS missing once, a TLS attempt failed once (its retry not counted)
}

TEST(Tlsrpt, TheFilterChoosesTheDay) {
  Filter day;
  day.since = parse_since("2026-11-23");
  day.until = parse_until("2026-11-23");
  std::vector<DomainReport> all = reports(day);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].domain, "example.com");
  EXPECT_EQ(all[0].policies[0].successful, 1u);
  EXPECT_FALSE(all[0].policies[0].missing_text) << "the fetch event lies outside the filter, and still counts";
}

TEST(Tlsrpt, APolicyTextFromTheCacheFileWhenTheLogHasNone) {
  // testing.org's fetch event is in the log; pretend the cache knew a different id's text.
  PolicyTexts more{{{"example.com", "20261101T000000"}, {"version: STSv1", "mode: none", "max_age: 1"}}};
  std::vector<DomainReport> all = reports({}, more);
  const DomainReport* r = find(all, "example.com", "2026-11-22");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->policies[0].policy_lines[1], "mode: enforce") << "the audit log's own text comes first";
}

TEST(Tlsrpt, GoldenJson) {
  for (const DomainReport& r : reports()) {
    expect_golden("two_days." + format_day(r.day) + "." + r.domain + ".tlsrpt.json", report_json(r, kWho).dump(2) + "\n");
  }
}

TEST(Tlsrpt, NamesAndIds) {
  std::vector<DomainReport> all = reports();
  const DomainReport* r = find(all, "example.com", "2026-11-22");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(report_id(*r, kWho), "2026-11-22.example.com@mx.sender.example");
  std::string name = report_file_name(*r, kWho);
  // 2026-11-22T00:00:00Z is 1795305600; the end is the day's last second.
  EXPECT_TRUE(name.starts_with("mx.sender.example!example.com!1795305600!1795391999!")) << name;
  EXPECT_TRUE(name.ends_with(".json.gz")) << name;
  EXPECT_EQ(name, report_file_name(*r, kWho)) << "the same report, the same name";
}

TEST(Tlsrpt, GzipRoundTripsAndIsDeterministic) {
  std::string text = report_json(reports()[0], kWho).dump();
  std::string gz = gzip_compress(text);
  EXPECT_EQ(gz, gzip_compress(text));
  ASSERT_GE(gz.size(), 18u);
  EXPECT_EQ(static_cast<unsigned char>(gz[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>(gz[1]), 0x8b);
  bool ok = false;
  EXPECT_EQ(gzip_decompress(gz, ok), text);
  EXPECT_TRUE(ok);
  gzip_decompress(gz.substr(0, gz.size() / 2), ok);
  EXPECT_FALSE(ok);
}

TEST(Tlsrpt, Base64) {
  EXPECT_EQ(base64_lines(""), "");
  EXPECT_EQ(base64_lines("f"), "Zg==\n");
  EXPECT_EQ(base64_lines("fo"), "Zm8=\n");
  EXPECT_EQ(base64_lines("foobar"), "Zm9vYmFy\n");
  std::string lines = base64_lines(std::string(100, 'x'));
  EXPECT_EQ(lines.find('\n'), 76u);
}

TEST(Tlsrpt, GoldenEmail) {
  std::vector<DomainReport> all = reports();
  const DomainReport* r = find(all, "example.com", "2026-11-22");
  ASSERT_NE(r, nullptr);
  ReportEmail e;
  e.from = "tlsrpt@sender.example";
  e.to = {"reports@example.com", "tls@rua.example.net"};
  e.policy_domain = r->domain;
  e.submitter = kWho.submitter;
  e.report_id = report_id(*r, kWho);
  e.file_name = report_file_name(*r, kWho);
  // Fixed bytes rather than zlib's output, which may differ between zlib versions: the email is the test.
  static constexpr char kStandIn[] = "\x1f\x8b\x08\x00 stands in for the report's gzip file\n";
  e.gzipped_report = std::string(kStandIn, sizeof kStandIn - 1);   // the NUL inside is part of it
  e.human_summary = "This is an aggregate TLS report (RFC 8460) for example.com.";
  e.date = std::chrono::sys_seconds{std::chrono::sys_days{std::chrono::year{2026} / 11 / 23}} + std::chrono::hours(1);
  expect_golden("two_days.2026-11-22.example.com.eml", render_report_email(e));
  // Header values can never start a new header field.
  e.from = "x@y\nBcc: victim@example.org";
  std::string mail = render_report_email(e);
  EXPECT_EQ(mail.find("\nBcc:"), std::string::npos);
}

}  // namespace
}  // namespace mxguard::audit::report

#include "proxy/audit/report/record.h"

#include <gtest/gtest.h>

namespace mxguard::audit::report {
namespace {

const Record& good(const std::variant<Record, std::string>& parsed) {
  EXPECT_TRUE(std::holds_alternative<Record>(parsed)) << std::get<std::string>(parsed);
  static Record empty;
  return std::holds_alternative<Record>(parsed) ? std::get<Record>(parsed) : empty;
}

std::string bad(std::string_view line) {
  auto parsed = parse_record(line);
  EXPECT_TRUE(std::holds_alternative<std::string>(parsed)) << line;
  return std::holds_alternative<std::string>(parsed) ? std::get<std::string>(parsed) : "";
}

TEST(Record, ReadsATlsPolicyEvent) {
  auto parsed = parse_record(
      R"({"ts":"2026-11-22T04:00:00.000Z","event":"tls-policy","direction":"outbound","session":"b1","peer":"127.0.0.1:5",)"
      R"("domain":"example.com","policy":"mta-sts","policy_source":"mta-sts","policy_id":"abc","transaction":2,)"
      R"("mx":"mx1.example.com","mx_address":"198.51.100.1:25","sending_ip":"192.0.2.10","verdict":"refused",)"
      R"("reason":"certificate-expired","detail":"expired","plaintext_retry":true})");
  const Record& r = good(parsed);
  EXPECT_EQ(r.kind, EventKind::TlsPolicy);
  EXPECT_EQ(r.direction, Direction::Outbound);
  EXPECT_EQ(r.verdict, Verdict::Refused);
  EXPECT_EQ(r.domain, "example.com");
  EXPECT_EQ(r.policy_id, "abc");
  EXPECT_EQ(r.transaction, 2);
  EXPECT_EQ(r.sending_ip, "192.0.2.10");
  EXPECT_EQ(r.mx_address, "198.51.100.1:25");
  EXPECT_EQ(r.reason, "certificate-expired");
  EXPECT_TRUE(r.plaintext_retry);
  EXPECT_EQ(r.session, "b1");
}

TEST(Record, ReadsPolicyLines) {
  auto parsed = parse_record(
      R"({"ts":"2026-11-01T08:00:00Z","event":"mta-sts-fetch","direction":"outbound","session":"-","peer":"-",)"
      R"("verdict":"fetched","id":"x1","policy_lines":["version: STSv1","mode: enforce"],"max_age":86400})");
  const Record& r = good(parsed);
  EXPECT_EQ(r.kind, EventKind::MtaStsFetch);
  EXPECT_EQ(r.policy_lines, (std::vector<std::string>{"version: STSv1", "mode: enforce"}));
  EXPECT_EQ(r.id, "x1");
}

TEST(Record, ToleratesUnknownFieldsAndEvents) {
  auto parsed = parse_record(
      R"({"ts":"2026-11-22T10:30:00Z","event":"future-event","direction":"outbound","new":{"a":[1,2]},"verdict":"pondered"})");
  const Record& r = good(parsed);
  EXPECT_FALSE(r.kind.has_value());
  EXPECT_EQ(r.event, "future-event");
  EXPECT_FALSE(r.verdict.has_value());
  EXPECT_EQ(r.verdict_text, "pondered");
  good(parse_record(R"({"ts":"2026-11-22T10:30:00Z","event":"starttls","direction":"inbound","reply":250,"bytes":3})"));
  good(parse_record("{\"ts\":\"2026-11-22T10:30:00Z\",\"event\":\"starttls\",\"direction\":\"inbound\"}\r"));
}

TEST(Record, BadLinesSayWhy) {
  EXPECT_EQ(bad(""), "not JSON");
  EXPECT_EQ(bad("{\"ts\":"), "not JSON");
  EXPECT_EQ(bad("[1,2]"), "not a JSON object");
  EXPECT_EQ(bad(R"({"event":"starttls","direction":"inbound"})"), "no \"ts\"");
  EXPECT_EQ(bad(R"({"ts":"2026-11-22T10:30:00Z","direction":"inbound"})"), "no \"event\"");
  EXPECT_EQ(bad(R"({"ts":"2026-11-22T10:30:00Z","event":"starttls"})"), "no \"direction\"");
  EXPECT_EQ(bad(R"({"ts":"yesterday","event":"starttls","direction":"inbound"})"),
            "\"ts\" is not an RFC 3339 time: yesterday");
  EXPECT_EQ(bad(R"({"ts":"2026-11-22T10:30:00Z","event":"starttls","direction":"sideways"})"),
            "unknown direction sideways");
  EXPECT_EQ(bad(R"({"ts":5,"event":"starttls","direction":"inbound"})"), "\"ts\" is not a string");
  EXPECT_EQ(bad(R"({"ts":"2026-11-22T10:30:00Z","event":"tls-policy","direction":"outbound","transaction":"one"})"),
            "\"transaction\" is not an integer");
  EXPECT_EQ(bad(R"({"ts":"2026-11-22T10:30:00Z","event":"x","direction":"outbound","plaintext_retry":1})"),
            "\"plaintext_retry\" is not true or false");
  EXPECT_EQ(bad(R"({"ts":"2026-11-22T10:30:00Z","event":"x","direction":"outbound","policy_lines":["a",1]})"),
            "\"policy_lines\" is not a list of strings");
  EXPECT_EQ(bad(R"({"ts":"2026-11-22T10:30:00Z","event":"x","direction":"outbound","domain":["a"]})"),
            "\"domain\" is not a string");
  // Broken UTF-8 and deep nesting are bad lines, not crashes.
  bad("{\"ts\":\"\xff\xfe\",\"event\":\"x\"}");
  bad(std::string(100000, '[') + std::string(100000, ']'));
}

}  // namespace
}  // namespace mxguard::audit::report

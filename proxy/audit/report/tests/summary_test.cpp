#include "proxy/audit/report/summary.h"

#include <gtest/gtest.h>

#include "proxy/audit/report/filter.h"
#include "proxy/audit/report/input.h"
#include "proxy/audit/report/summary_render.h"
#include "proxy/audit/report/tests/golden.h"

namespace mxguard::audit::report {
namespace {

using testing_golden::expect_golden;
using testing_golden::golden_path;

struct Read {
  Summary summary;
  ReadStats stats;
};

Read summarize(const Filter& filter = {}) {
  Read out;
  SummaryBuilder builder;
  std::string error = read_audit_files(
      {golden_path("two_days.jsonl")},
      [&](Record&& r) {
        if (filter.matches(r)) builder.add(r);
      },
      out.stats);
  EXPECT_EQ(error, "");
  out.summary = builder.finish();
  return out;
}

TEST(Summary, GoldenTwoDays) {
  Read r = summarize();
  const Summary& s = r.summary;
  EXPECT_EQ(r.stats.lines, 32u);
  EXPECT_EQ(r.stats.bad, 5u);
  EXPECT_EQ(s.records, 27u);

  EXPECT_EQ(s.inbound.sessions, 6u);
  EXPECT_EQ(s.inbound.established, 4u);
  EXPECT_EQ(s.inbound.failed, 1u);
  EXPECT_EQ(s.inbound.skipped, 1u);
  EXPECT_EQ(s.inbound.failures_by_reason.at("peer alert: handshake failure"), 1u);

  EXPECT_EQ(s.outbound.decisions, 13u);
  EXPECT_EQ(s.outbound.sessions, 11u);
  EXPECT_EQ(s.outbound.delivered_tls, 7u);
  EXPECT_EQ(s.outbound.delivered_plaintext, 3u);
  EXPECT_EQ(s.outbound.refused, 2u);
  EXPECT_EQ(s.outbound.allowed_testing, 1u);
  EXPECT_EQ(s.outbound.tls_failed, 1u);
  EXPECT_EQ(s.outbound.tls_established, 7u);
  EXPECT_EQ(s.outbound.tls_attempted, 9u);
  EXPECT_EQ(s.outbound.reports_relayed, 1u);
  // The plaintext retry repeats its attempt's validation-failure: counted once.
  EXPECT_EQ(s.outbound.failures_by_reason,
            (std::map<std::string, std::uint64_t>{{"certificate-expired", 1}, {"certificate-host-mismatch", 1},
                                                  {"starttls-not-supported", 1}, {"validation-failure", 2}}));

  EXPECT_EQ(s.mta_sts.fetched, 2u);
  EXPECT_EQ(s.mta_sts.failed, 1u);
  EXPECT_EQ(s.mta_sts.failures_by_domain.at("broken.org"), 1u);

  std::vector<std::string> kinds;
  for (const DowngradeAttempt& d : s.downgrades) kinds.push_back(d.kind);
  EXPECT_EQ(kinds, (std::vector<std::string>{"plaintext-injection", "starttls-failed", "downgrade-attempt", "refused",
                                             "refused", "allowed-testing", "starttls-missing", "tls-failed"}));
  EXPECT_EQ(s.downgrades[3].mx, "mx2.backup.example.com");
  EXPECT_EQ(s.downgrades[3].peer, "127.0.0.1:50001");
  EXPECT_EQ(s.downgrades[3].ts_text, "2026-11-22T05:00:00.000Z");
  EXPECT_EQ(s.events.at("future-event"), 1u);

  std::string text = render_summary_text(s, r.stats);
  // Bad lines name the file as given: the golden file has it without this checkout's directory.
  for (std::size_t at; (at = text.find(std::string(MXGUARD_AUDIT_GOLDEN) + "/")) != std::string::npos;) {
    text.erase(at, std::string(MXGUARD_AUDIT_GOLDEN).size() + 1);
  }
  expect_golden("two_days.summary.txt", text);
  nlohmann::ordered_json json = summary_json(s, r.stats);
  for (auto& bad : json["bad_lines"]["first"]) bad["file"] = "two_days.jsonl";
  expect_golden("two_days.summary.json", json.dump(2) + "\n");
}

TEST(Summary, FiltersByDayDirectionAndDomain) {
  Filter day;
  day.since = parse_since("2026-11-22");
  day.until = parse_until("2026-11-22");
  Read r = summarize(day);
  EXPECT_EQ(r.summary.inbound.sessions, 4u);    // not the 21st's nor the 23rd's
  EXPECT_EQ(r.summary.outbound.decisions, 12u);

  Filter outbound;
  outbound.direction = Direction::Outbound;
  outbound.domain = "example.com";
  Read o = summarize(outbound);
  EXPECT_EQ(o.summary.inbound.sessions, 0u);
  EXPECT_EQ(o.summary.outbound.decisions, 7u);
  EXPECT_EQ(o.summary.mta_sts.fetched, 1u);
  for (const DowngradeAttempt& d : o.summary.downgrades) EXPECT_EQ(d.domain, "example.com");
}

TEST(Summary, NoDataIsNotZeroPercent) {
  SummaryBuilder b;
  Summary s = b.finish();
  EXPECT_FALSE(ratio(0, 0).has_value());
  ReadStats stats;
  std::string text = render_summary_text(s, stats);
  EXPECT_NE(text.find("encrypted:                        no data"), std::string::npos) << text;
  EXPECT_TRUE(summary_json(s, stats)["inbound"]["encrypted_share"].is_null());
}

}  // namespace
}  // namespace mxguard::audit::report

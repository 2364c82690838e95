// The registry sums every worker's instruments into one exposition, with every series known in advance.
#include "proxy/metrics/registry.h"

#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <sstream>
#include <string>

namespace mxguard::metrics {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// The value of the one sample whose name and labels are exactly `series`, or -1.
double value_of(const std::string& text, const std::string& series) {
  for (const std::string& l : lines_of(text)) {
    if (l.rfind(series + " ", 0) == 0) return std::stod(l.substr(series.size() + 1));
  }
  return -1;
}

TEST(Registry, WorkersAreSummedAtRenderTime) {
  Registry r("1.2.3");
  WorkerMetrics* a = r.add_worker();
  WorkerMetrics* b = r.add_worker();
  a->sessions[0][ix(TlsState::Established)].add(3);
  b->sessions[0][ix(TlsState::Established)].add(4);
  b->sessions[1][ix(TlsState::None)].add();
  a->active[0].add(2);
  b->active[0].add(1);
  b->active[0].add(-1);
  a->relayed_bytes[1].add(1000);
  b->relayed_bytes[1].add(24);
  a->handshake_failures[0][ix(session::HandshakeFailure::Timeout)].add();
  b->handshake_failures[0][ix(session::HandshakeFailure::Timeout)].add();
  a->sts_fetches[ix(StsFetch::WebPkiInvalid)].add();
  std::string text = r.render();
  EXPECT_EQ(value_of(text, "mxguard_build_info{version=\"1.2.3\"}"), 1);
  EXPECT_EQ(value_of(text, "mxguard_sessions_total{direction=\"inbound\",tls=\"established\"}"), 7);
  EXPECT_EQ(value_of(text, "mxguard_sessions_total{direction=\"outbound\",tls=\"none\"}"), 1);
  EXPECT_EQ(value_of(text, "mxguard_sessions_total{direction=\"outbound\",tls=\"failed\"}"), 0) << "zeros are exposed";
  EXPECT_EQ(value_of(text, "mxguard_sessions_active{direction=\"inbound\"}"), 2);
  EXPECT_EQ(value_of(text, "mxguard_relayed_bytes_total{direction=\"outbound\"}"), 1024);
  EXPECT_EQ(value_of(text, "mxguard_tls_handshake_failures_total{direction=\"inbound\",reason=\"timeout\"}"), 2);
  EXPECT_EQ(value_of(text, "mxguard_tls_handshake_failures_total{direction=\"outbound\",reason=\"peer-alert\"}"), 0);
  EXPECT_EQ(value_of(text, "mxguard_mta_sts_fetches_total{result=\"sts-webpki-invalid\"}"), 1);
  EXPECT_EQ(value_of(text, "mxguard_mta_sts_fetches_total{result=\"fetched\"}"), 0);
  EXPECT_EQ(value_of(text, "mxguard_audit_write_errors_total"), 0);
  EXPECT_EQ(text.find("mxguard_mta_sts_cached_policies"), std::string::npos) << "MTA-STS off: no cache families";
}

TEST(Registry, HistogramsAddTheWorkersBucketsAndSums) {
  Registry r("x");
  WorkerMetrics* a = r.add_worker();
  WorkerMetrics* b = r.add_worker();
  a->session_seconds[0].observe_ns(5'000'000);        // 5 ms: the first bucket (le 0.01)
  b->session_seconds[0].observe_ns(10'000'000);       // exactly 0.01: still the first (le is "at most")
  b->session_seconds[0].observe_ns(2'000'000'000);    // 2 s: le 2.5
  a->session_seconds[0].observe_ns(3'600'000'000'000);   // an hour: above every bound
  std::string text = r.render();
  const std::string s = "mxguard_session_duration_seconds";
  EXPECT_EQ(value_of(text, s + "_bucket{direction=\"inbound\",le=\"0.01\"}"), 2);
  EXPECT_EQ(value_of(text, s + "_bucket{direction=\"inbound\",le=\"1\"}"), 2);
  EXPECT_EQ(value_of(text, s + "_bucket{direction=\"inbound\",le=\"2.5\"}"), 3);
  EXPECT_EQ(value_of(text, s + "_bucket{direction=\"inbound\",le=\"300\"}"), 3);
  EXPECT_EQ(value_of(text, s + "_bucket{direction=\"inbound\",le=\"+Inf\"}"), 4);
  EXPECT_EQ(value_of(text, s + "_count{direction=\"inbound\"}"), 4);
  EXPECT_DOUBLE_EQ(value_of(text, s + "_sum{direction=\"inbound\"}"), 3602.015);
  EXPECT_EQ(value_of(text, s + "_count{direction=\"outbound\"}"), 0);
  EXPECT_EQ(value_of(text, "mxguard_tls_handshake_duration_seconds_bucket{direction=\"outbound\",le=\"+Inf\"}"), 0);
}

TEST(Registry, APolicyLevelAndSourceAppearWithAllThreeVerdictsOnceUsed) {
  Registry r("x");
  WorkerMetrics* w = r.add_worker();
  std::string before = r.render();
  EXPECT_NE(before.find("# TYPE mxguard_outbound_policy_verdicts_total counter"), std::string::npos);
  EXPECT_EQ(before.find("mxguard_outbound_policy_verdicts_total{"), std::string::npos);
  w->policy_verdicts[ix(policy::TlsLevel::Verify)][ix(policy::PolicySource::Config)][ix(PolicyVerdict::Delivered)].add(2);
  w->policy_failures[0][ix(policy::ResultType::CertificateExpired)].add();
  std::string text = r.render();
  const std::string v = "mxguard_outbound_policy_verdicts_total{level=\"verify\",source=\"config\",verdict=";
  EXPECT_EQ(value_of(text, v + "\"delivered\"}"), 2);
  EXPECT_EQ(value_of(text, v + "\"refused\"}"), 0);
  EXPECT_EQ(value_of(text, v + "\"allowed-testing\"}"), 0);
  EXPECT_EQ(text.find("level=\"may\""), std::string::npos);
  EXPECT_EQ(value_of(text, "mxguard_outbound_policy_failures_total{verdict=\"refused\",reason=\"certificate-expired\"}"), 1);
  EXPECT_EQ(value_of(text, "mxguard_outbound_policy_failures_total{verdict=\"allowed-testing\",reason=\"starttls-not-supported\"}"), 0);
}

TEST(Registry, ProcessWideValuesComeFromTheirSources) {
  Registry r("x");
  r.add_worker();
  r.set_sources({.audit_write_errors = [] { return std::uint64_t{5}; },
                 .sts_cache_write_errors = [] { return std::uint64_t{2}; },
                 .sts_cache_policies = [] { return std::uint64_t{17}; }});
  std::string text = r.render();
  EXPECT_EQ(value_of(text, "mxguard_audit_write_errors_total"), 5);
  EXPECT_EQ(value_of(text, "mxguard_mta_sts_cache_write_errors_total"), 2);
  EXPECT_EQ(value_of(text, "mxguard_mta_sts_cached_policies"), 17);
}

// Every line is a comment of the two kinds or a sample, each family's HELP and TYPE come once and before
// its samples, and no series appears twice (what promtool checks, without promtool).
TEST(Registry, TheExpositionIsWellFormed) {
  Registry r("0.1.0");
  WorkerMetrics* w = r.add_worker();
  w->policy_verdicts[1][0][0].add();
  r.set_sources({.audit_write_errors = [] { return std::uint64_t{0}; },
                 .sts_cache_write_errors = [] { return std::uint64_t{0}; },
                 .sts_cache_policies = [] { return std::uint64_t{0}; }});
  std::string text = r.render();
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  const std::regex help(R"(# HELP (mxguard_[a-z_]+) \S.*)");
  const std::regex type(R"(# TYPE (mxguard_[a-z_]+) (counter|gauge|histogram))");
  const std::regex sample(R"((mxguard_[a-z_]+)(\{[a-z_]+="[^"\\\n]*"(,[a-z_]+="[^"\\\n]*")*\})? ([0-9]+|[0-9.e+-]+))");
  std::set<std::string> families, series;
  std::string current, current_type;
  std::size_t samples = 0;
  for (const std::string& l : lines_of(text)) {
    std::smatch m;
    if (std::regex_match(l, m, help)) {
      EXPECT_TRUE(families.insert(m[1]).second) << "HELP twice: " << l;
      current = m[1];
    } else if (std::regex_match(l, m, type)) {
      EXPECT_EQ(m[1], current) << "TYPE without its HELP: " << l;
      current_type = m[2];
    } else if (std::regex_match(l, m, sample)) {
      std::string name = m[1];
      if (current_type == "histogram") {
        EXPECT_TRUE(name == current + "_bucket" || name == current + "_sum" || name == current + "_count") << l;
      } else {
        EXPECT_EQ(name, current) << l;
      }
      if (current_type == "counter") {
        EXPECT_TRUE(name.ends_with("_total")) << l;
      }
      EXPECT_TRUE(series.insert(l.substr(0, l.rfind(' '))).second) << "series twice: " << l;
      ++samples;
    } else {
      ADD_FAILURE() << "not a line of the format: " << l;
    }
  }
  EXPECT_EQ(families.size(), 19u);
  EXPECT_GT(samples, 100u);
}

}  // namespace
}  // namespace mxguard::metrics

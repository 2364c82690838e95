// The metrics endpoint's request head and answers, byte by byte.
#include "proxy/metrics/http_request.h"

#include <gtest/gtest.h>

#include <string>

namespace mxguard::metrics {
namespace {

constexpr std::string_view kScrape =
    "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9187\r\nUser-Agent: Prometheus/2.42.0\r\n"
    "Accept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1\r\n"
    "Accept-Encoding: gzip\r\nX-Prometheus-Scrape-Timeout-Seconds: 10\r\n\r\n";

RequestHead parse(std::string_view s) { return parse_request_head(s); }

int error_of(std::string_view s) {
  RequestHead h = parse(s);
  EXPECT_EQ(h.status, HeadStatus::Bad) << s;
  return h.error;
}

TEST(HttpRequest, PrometheusScrapeIsCompleteAndRoutedToTheMetrics) {
  RequestHead h = parse(kScrape);
  ASSERT_EQ(h.status, HeadStatus::Complete) << h.problem;
  EXPECT_EQ(h.method, "GET");
  EXPECT_EQ(h.target, "/metrics");
  EXPECT_EQ(h.minor_version, 1);
  EXPECT_EQ(h.consumed, kScrape.size());
  Decision d = route(h);
  EXPECT_EQ(d.status, 200);
  EXPECT_TRUE(d.metrics);
  EXPECT_FALSE(d.head_only);
}

TEST(HttpRequest, EveryProperPrefixNeedsMoreAndBytesAfterTheHeadAreNotPartOfIt) {
  for (std::size_t n = 0; n < kScrape.size(); ++n) {
    EXPECT_EQ(parse(kScrape.substr(0, n)).status, HeadStatus::NeedMore) << n;
  }
  std::string pipelined = std::string(kScrape) + "GET /other HTTP/1.1\r\n";
  RequestHead h = parse(pipelined);
  ASSERT_EQ(h.status, HeadStatus::Complete);
  EXPECT_EQ(h.consumed, kScrape.size());
}

TEST(HttpRequest, BareLineFeedsAndLeadingEmptyLinesAreAccepted) {
  RequestHead h = parse("\r\n\nGET /metrics HTTP/1.0\nAccept: */*\n\n");
  ASSERT_EQ(h.status, HeadStatus::Complete) << h.problem;
  EXPECT_EQ(h.minor_version, 0);
  EXPECT_EQ(route(h).status, 200) << "HTTP/1.0 needs no Host";
}

TEST(HttpRequest, HeadGetsTheHeadersOnlyAndAQueryStringIsIgnored) {
  Decision d = route(parse("HEAD /metrics?debug=1 HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(d.status, 200);
  EXPECT_TRUE(d.head_only);
  EXPECT_EQ(route(parse("GET http://mx.test:9187/metrics HTTP/1.1\r\nHost: mx.test\r\n\r\n")).status, 200)
      << "the absolute form";
}

TEST(HttpRequest, OtherTargetsAre404AndOtherMethodsOnTheMetrics405) {
  for (std::string_view target : {"/", "/metrics/", "/Metrics", "/metricsx", "*", "/favicon.ico", "http://x/"}) {
    std::string req = "GET " + std::string(target) + " HTTP/1.1\r\nHost: x\r\n\r\n";
    EXPECT_EQ(route(parse(req)).status, 404) << target;
  }
  for (std::string_view method : {"POST", "PUT", "DELETE", "OPTIONS", "TRACE", "get", "PRI"}) {
    std::string req = std::string(method) + " /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
    RequestHead h = parse(req);
    ASSERT_EQ(h.status, HeadStatus::Complete) << method;
    EXPECT_EQ(route(h).status, 405) << method;
  }
  EXPECT_EQ(route(parse("POST /other HTTP/1.1\r\nHost: x\r\n\r\n")).status, 404);
}

TEST(HttpRequest, MalformedRequestLinesAre400AndOtherMajorVersions505) {
  EXPECT_EQ(error_of("GET\r\n\r\n"), 400);
  EXPECT_EQ(error_of("GET /metrics\r\n\r\n"), 400) << "HTTP/0.9";
  EXPECT_EQ(error_of("GET  /metrics HTTP/1.1\r\n"), 400) << "two spaces";
  EXPECT_EQ(error_of("GET /metrics HTTP/1.1 \r\n"), 400) << "a trailing space";
  EXPECT_EQ(error_of("G(T /metrics HTTP/1.1\r\n"), 400);
  EXPECT_EQ(error_of("GET /met\x7frics HTTP/1.1\r\n"), 400);
  EXPECT_EQ(error_of("GET /metrics HTTP/1.10\r\n"), 400);
  EXPECT_EQ(error_of("GET /metrics http/1.1\r\n"), 400);
  EXPECT_EQ(error_of("GET /metrics HTTP/2.0\r\n"), 505);
  EXPECT_EQ(error_of("GET /metrics HTTP/0.9\r\n"), 505);
}

TEST(HttpRequest, FieldLinesThatParsersDisagreeOnAre400) {
  EXPECT_EQ(error_of("GET /metrics HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n"), 400) << "obs-fold";
  EXPECT_EQ(error_of("GET /metrics HTTP/1.1\r\nHost : x\r\n\r\n"), 400) << "space before the colon";
  EXPECT_EQ(error_of("GET /metrics HTTP/1.1\r\nHost\r\n\r\n"), 400) << "no colon";
  EXPECT_EQ(error_of("GET /metrics HTTP/1.1\r\n: x\r\n\r\n"), 400) << "empty name";
  EXPECT_EQ(error_of("GET /metrics HTTP/1.1\r\nHost: x\ry\r\n\r\n"), 400) << "bare CR";
  EXPECT_EQ(error_of("GET /metrics HTTP/1.1\r\nHost: x\ry"), 400) << "bare CR, seen before the line ends";
  static constexpr char kNul[] = "GET /metrics HTTP/1.1\r\nHost: x\0y\r\n\r\n";
  EXPECT_EQ(error_of(std::string(kNul, sizeof kNul - 1)), 400) << "NUL";
  EXPECT_EQ(error_of("GET /metrics HTTP/1.1\r\nX: a\x01\r\n\r\n"), 400) << "control byte";
  EXPECT_EQ(error_of("GET /metrics HTTP/1.1\r\n\r\n"), 400) << "1.1 without Host";
  EXPECT_EQ(error_of("GET /metrics HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n"), 400) << "two Hosts";
  EXPECT_EQ(parse("GET /metrics HTTP/1.1\r\nHost: x\r\nX: tab\there, obs-text \xe9\r\n\r\n").status,
            HeadStatus::Complete);
}

TEST(HttpRequest, TheHeadIsBoundedAndALongerInputFailsTheSameWay) {
  std::string line = "GET /" + std::string(kMaxRequestHead, 'a');
  EXPECT_EQ(error_of(line), 414);
  EXPECT_EQ(error_of(line + " HTTP/1.1\r\nHost: x\r\n\r\n"), 414) << "what lies past the limit is never read";
  std::string head = "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(kMaxRequestHead, 'p');
  EXPECT_EQ(error_of(head), 431);
  EXPECT_EQ(error_of(head + "\r\n\r\n"), 431);
  std::string many = "GET /metrics HTTP/1.1\r\nHost: x\r\n";
  for (std::size_t i = 0; i < kMaxFields; ++i) many += "X: y\r\n";
  EXPECT_EQ(error_of(many + "\r\n"), 431) << "too many fields";
  // Exactly at the limit is fine.
  std::string exact = "GET /metrics HTTP/1.1\r\nHost: x\r\nX: ";
  exact += std::string(kMaxRequestHead - exact.size() - 4, 'e') + "\r\n\r\n";
  ASSERT_EQ(exact.size(), kMaxRequestHead);
  EXPECT_EQ(parse(exact).status, HeadStatus::Complete);
}

TEST(HttpRequest, ResponsesCloseTheConnectionAndHeadKeepsTheLength) {
  EXPECT_EQ(http_response(200, "text/plain; version=0.0.4; charset=utf-8", "a 1\n"),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: 4\r\n"
            "Connection: close\r\n\r\na 1\n");
  EXPECT_EQ(http_response(200, "text/plain", "a 1\n", /*head_only=*/true),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 4\r\nConnection: close\r\n\r\n");
  EXPECT_NE(http_response(405, "text/plain", "").find("\r\nAllow: GET, HEAD\r\n"), std::string::npos);
  EXPECT_EQ(reason_phrase(404), "Not Found");
  EXPECT_EQ(reason_phrase(431), "Request Header Fields Too Large");
}

}  // namespace
}  // namespace mxguard::metrics

// with_mta_sts: the configuration's policy with a domain's MTA-STS policy laid over it.
#include "policy/engine/mta_sts_overlay.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "policy/engine/resolution.h"

namespace mxguard::policy {
namespace {

using Mode = StsPolicyView::Mode;
using Strings = std::vector<std::string>;

const Strings kStsMx = {"mx1.example.com", "*.mx.example.com"};
const Strings kEntryMx = {"mx.partner.example"};

EffectivePolicy configured(TlsLevel level, PolicySource source, Strings mx = {}) {
  EffectivePolicy p;
  p.domain = "example.com";
  p.level = level;
  p.source = source;
  p.mx_patterns = std::move(mx);
  if (source == PolicySource::Config) p.exception_reason = "ticket 4711";
  return p;
}

StsPolicyView sts(Mode mode, Strings mx = kStsMx) { return StsPolicyView{mode, std::move(mx)}; }

struct Case {
  const char* label;
  EffectivePolicy in;
  std::optional<StsPolicyView> view;
  // want
  TlsLevel level;
  PolicySource source;
  Strings mx;
  bool testing;
};

void PrintTo(const Case& c, std::ostream* out) { *out << c.label; }

class Overlay : public ::testing::TestWithParam<Case> {};

TEST_P(Overlay, CombinesConfigurationAndMtaSts) {
  const Case& c = GetParam();
  EffectivePolicy out = with_mta_sts(c.in, c.view);
  EXPECT_EQ(out.level, c.level) << to_string(out.level);
  EXPECT_EQ(out.source, c.source) << to_string(out.source);
  EXPECT_EQ(out.mx_patterns, c.mx);
  EXPECT_EQ(out.testing, c.testing);
  // What the overlay never touches.
  EXPECT_EQ(out.domain, c.in.domain);
  EXPECT_EQ(out.exception_reason, c.in.exception_reason);
}

constexpr auto Default = PolicySource::Default;
constexpr auto Config = PolicySource::Config;
constexpr auto Sts = PolicySource::MtaSts;

INSTANTIATE_TEST_SUITE_P(
    Table, Overlay,
    ::testing::Values(
        // no policy, or mode none: nothing changes
        Case{"no policy over may", configured(TlsLevel::May, Default), std::nullopt, TlsLevel::May, Default, {}, false},
        Case{"no policy over verify", configured(TlsLevel::Verify, Default), std::nullopt, TlsLevel::Verify, Default, {}, false},
        Case{"none over may", configured(TlsLevel::May, Default), sts(Mode::None), TlsLevel::May, Default, {}, false},
        Case{"none over encrypt", configured(TlsLevel::Encrypt, Default), sts(Mode::None), TlsLevel::Encrypt, Default, {}, false},
        Case{"none without mx", configured(TlsLevel::May, Default), sts(Mode::None, {}), TlsLevel::May, Default, {}, false},
        // enforce raises every default level
        Case{"enforce over none", configured(TlsLevel::None, Default), sts(Mode::Enforce), TlsLevel::MtaSts, Sts, kStsMx, false},
        Case{"enforce over may", configured(TlsLevel::May, Default), sts(Mode::Enforce), TlsLevel::MtaSts, Sts, kStsMx, false},
        Case{"enforce over encrypt", configured(TlsLevel::Encrypt, Default), sts(Mode::Enforce), TlsLevel::MtaSts, Sts, kStsMx, false},
        Case{"enforce over verify", configured(TlsLevel::Verify, Default), sts(Mode::Enforce), TlsLevel::MtaSts, Sts, kStsMx, false},
        // testing: only over levels it cannot weaken
        Case{"testing over none", configured(TlsLevel::None, Default), sts(Mode::Testing), TlsLevel::MtaSts, Sts, kStsMx, true},
        Case{"testing over may", configured(TlsLevel::May, Default), sts(Mode::Testing), TlsLevel::MtaSts, Sts, kStsMx, true},
        Case{"testing over encrypt", configured(TlsLevel::Encrypt, Default), sts(Mode::Testing), TlsLevel::Encrypt, Default, {}, false},
        Case{"testing over verify", configured(TlsLevel::Verify, Default), sts(Mode::Testing), TlsLevel::Verify, Default, {}, false},
        // a policy without mx patterns is not used
        Case{"enforce without mx", configured(TlsLevel::May, Default), sts(Mode::Enforce, {}), TlsLevel::May, Default, {}, false},
        Case{"testing without mx", configured(TlsLevel::None, Default), sts(Mode::Testing, {}), TlsLevel::None, Default, {}, false},
        // the operator's entry wins, whatever the policy says
        Case{"enforce vs entry none", configured(TlsLevel::None, Config), sts(Mode::Enforce), TlsLevel::None, Config, {}, false},
        Case{"enforce vs entry may", configured(TlsLevel::May, Config), sts(Mode::Enforce), TlsLevel::May, Config, {}, false},
        Case{"enforce vs entry encrypt", configured(TlsLevel::Encrypt, Config), sts(Mode::Enforce), TlsLevel::Encrypt, Config, {}, false},
        Case{"enforce vs entry verify with mx", configured(TlsLevel::Verify, Config, kEntryMx), sts(Mode::Enforce),
             TlsLevel::Verify, Config, kEntryMx, false},
        Case{"testing vs entry may", configured(TlsLevel::May, Config), sts(Mode::Testing), TlsLevel::May, Config, {}, false},
        Case{"testing vs entry none", configured(TlsLevel::None, Config), sts(Mode::Testing), TlsLevel::None, Config, {}, false},
        // an entry at mta-sts takes the policy's mx patterns, and enforces them even in testing mode
        Case{"enforce for entry mta-sts", configured(TlsLevel::MtaSts, Config), sts(Mode::Enforce), TlsLevel::MtaSts, Config, kStsMx, false},
        Case{"testing for entry mta-sts", configured(TlsLevel::MtaSts, Config), sts(Mode::Testing), TlsLevel::MtaSts, Config, kStsMx, false},
        Case{"entry mta-sts keeps its own mx", configured(TlsLevel::MtaSts, Config, kEntryMx), sts(Mode::Enforce),
             TlsLevel::MtaSts, Config, kEntryMx, false},
        Case{"none for entry mta-sts", configured(TlsLevel::MtaSts, Config), sts(Mode::None), TlsLevel::MtaSts, Config, {}, false},
        Case{"no policy for entry mta-sts", configured(TlsLevel::MtaSts, Config), std::nullopt, TlsLevel::MtaSts, Config, {}, false},
        // DANE is above MTA-STS and takes precedence where it applies (without_dane: DaneFallback below)
        Case{"enforce vs default dane", configured(TlsLevel::Dane, Default), sts(Mode::Enforce), TlsLevel::Dane, Default, {}, false},
        Case{"enforce vs entry dane", configured(TlsLevel::Dane, Config, kEntryMx), sts(Mode::Enforce), TlsLevel::Dane, Config,
             kEntryMx, false},
        Case{"testing vs default dane-only", configured(TlsLevel::DaneOnly, Default), sts(Mode::Testing), TlsLevel::DaneOnly, Default, {}, false}));

// `dane` keeps its level; the MTA-STS policy becomes what holds where DANE does not apply.
struct FallbackCase {
  const char* label;
  EffectivePolicy in;
  std::optional<StsPolicyView> view;
  std::optional<NonDanePolicy> want;
};

void PrintTo(const FallbackCase& c, std::ostream* out) { *out << c.label; }

class DaneFallback : public ::testing::TestWithParam<FallbackCase> {};

TEST_P(DaneFallback, MtaStsIsThePolicyOfHostsWithoutDane) {
  const FallbackCase& c = GetParam();
  EffectivePolicy out = with_mta_sts(c.in, c.view);
  EXPECT_EQ(out.level, c.in.level);
  EXPECT_EQ(out.source, c.in.source);
  EXPECT_EQ(out.mx_patterns, c.in.mx_patterns);
  ASSERT_EQ(out.without_dane.has_value(), c.want.has_value());
  if (!c.want) return;
  EXPECT_EQ(out.without_dane->level, c.want->level);
  EXPECT_EQ(out.without_dane->source, c.want->source);
  EXPECT_EQ(out.without_dane->mx_patterns, c.want->mx_patterns);
  EXPECT_EQ(out.without_dane->testing, c.want->testing);
}

INSTANTIATE_TEST_SUITE_P(
    Table, DaneFallback,
    ::testing::Values(
        FallbackCase{"no policy", configured(TlsLevel::Dane, Default), std::nullopt, std::nullopt},
        FallbackCase{"mode none", configured(TlsLevel::Dane, Default), sts(Mode::None), std::nullopt},
        FallbackCase{"enforce without mx", configured(TlsLevel::Dane, Default), sts(Mode::Enforce, {}), std::nullopt},
        FallbackCase{"enforce", configured(TlsLevel::Dane, Default), sts(Mode::Enforce),
                     NonDanePolicy{TlsLevel::MtaSts, Sts, kStsMx, false}},
        FallbackCase{"testing", configured(TlsLevel::Dane, Default), sts(Mode::Testing),
                     NonDanePolicy{TlsLevel::MtaSts, Sts, kStsMx, true}},
        FallbackCase{"an entry at dane takes the policy too", configured(TlsLevel::Dane, Config, kEntryMx), sts(Mode::Enforce),
                     NonDanePolicy{TlsLevel::MtaSts, Sts, kStsMx, false}},
        FallbackCase{"dane-only has no fallback", configured(TlsLevel::DaneOnly, Config), sts(Mode::Enforce), std::nullopt}));

TEST(WantsMtaSts, EverythingButPinnedLevelsAndDaneOnly) {
  for (TlsLevel l : {TlsLevel::None, TlsLevel::May, TlsLevel::Encrypt, TlsLevel::Verify, TlsLevel::MtaSts, TlsLevel::Dane}) {
    EXPECT_TRUE(wants_mta_sts(configured(l, Default))) << to_string(l);
  }
  EXPECT_FALSE(wants_mta_sts(configured(TlsLevel::DaneOnly, Default)));
  for (TlsLevel l : {TlsLevel::None, TlsLevel::May, TlsLevel::Encrypt, TlsLevel::Verify, TlsLevel::DaneOnly}) {
    EXPECT_FALSE(wants_mta_sts(configured(l, Config))) << to_string(l);
  }
  EXPECT_TRUE(wants_mta_sts(configured(TlsLevel::MtaSts, Config)));
  EXPECT_TRUE(wants_mta_sts(configured(TlsLevel::Dane, Config)));
}

// What the combination means for the decision itself: the rules above exist for these outcomes.
Observation untrusted_certificate(const std::string& mx) {
  Observation o;
  o.mx_host = mx;
  o.starttls_offered = true;
  o.handshake = Observation::Handshake::Succeeded;
  o.tls_version = "TLSv1.3";
  o.chain_trusted = false;
  o.host_matches = true;
  o.cert_problem = Observation::CertProblem::NotTrusted;
  return o;
}

Observation no_starttls(const std::string& mx) {
  Observation o;
  o.mx_host = mx;
  return o;
}

TEST(OverlayDecision, TestingModeNeverLetsThroughWhatTheDefaultRefuses) {
  EffectivePolicy p = with_mta_sts(configured(TlsLevel::Verify, Default), sts(Mode::Testing));
  EXPECT_EQ(decide(p, untrusted_certificate("mx1.example.com")).outcome, Outcome::Refuse);
  p = with_mta_sts(configured(TlsLevel::Encrypt, Default), sts(Mode::Testing));
  EXPECT_EQ(decide(p, no_starttls("mx1.example.com")).outcome, Outcome::Refuse);
}

TEST(OverlayDecision, TestingModeOverMayDeliversAndReportsWhatEnforcementWouldRefuse) {
  EffectivePolicy p = with_mta_sts(configured(TlsLevel::May, Default), sts(Mode::Testing));
  Verdict v = decide(p, no_starttls("mx1.example.com"));
  EXPECT_EQ(v.outcome, Outcome::AllowedTesting);
  EXPECT_EQ(v.reason, ResultType::StarttlsNotSupported);
  EXPECT_EQ(decide(p, untrusted_certificate("other.example.net")).outcome, Outcome::AllowedTesting);
}

TEST(OverlayDecision, EnforceRefusesAnMxThePolicyDoesNotList) {
  EffectivePolicy p = with_mta_sts(configured(TlsLevel::May, Default), sts(Mode::Enforce));
  Observation o = untrusted_certificate("mx.attacker.example");
  o.chain_trusted = true;
  o.cert_problem = Observation::CertProblem::None;
  EXPECT_EQ(decide(p, o).outcome, Outcome::Refuse);
  o.mx_host = "a.mx.example.com";
  EXPECT_EQ(decide(p, o).outcome, Outcome::DeliverTls);
}

TEST(OverlayDecision, ALapsedExceptionLeavesTheDomainToItsMtaStsPolicy) {
  config::Policy configured_policy;
  configured_policy.default_level = TlsLevel::May;
  configured_policy.domains = {
      {"example.com", config::DomainPolicy{TlsLevel::None, {}, std::chrono::year_month_day{std::chrono::year{2027},
                                                                                       std::chrono::month{1},
                                                                                       std::chrono::day{31}},
                                           "their STARTTLS is broken"}}};
  auto on = [](unsigned m, unsigned d) {
    return std::chrono::year_month_day{std::chrono::year{2027}, std::chrono::month{m}, std::chrono::day{d}};
  };
  EffectivePolicy in_force = with_mta_sts(resolve_policy("example.com", configured_policy, on(1, 31)).policy, sts(Mode::Enforce));
  EXPECT_EQ(in_force.level, TlsLevel::None);
  EXPECT_EQ(in_force.source, Config);
  EffectivePolicy after = with_mta_sts(resolve_policy("example.com", configured_policy, on(2, 1)).policy, sts(Mode::Enforce));
  EXPECT_EQ(after.level, TlsLevel::MtaSts);
  EXPECT_EQ(after.source, Sts);
  EXPECT_EQ(after.mx_patterns, kStsMx);
}

}  // namespace
}  // namespace mxguard::policy

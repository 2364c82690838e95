// The DANE verdicts one by one (RFC 7672), named: what the DNS facts decide before a connection, the
// certificate's match against the TLSA records, and the fallback of `dane` to the domain's other policy.
#include <gtest/gtest.h>

#include <string>

#include "policy/verdict.h"

namespace mxguard::policy {
namespace {

using Handshake = Observation::Handshake;
using Cert = Observation::CertProblem;
using Match = Observation::DaneMatch;

Observation connected(Match match) {
  Observation o;
  o.mx_host = "mx1.example.org";
  o.starttls_offered = true;
  o.handshake = Handshake::Succeeded;
  o.tls_version = "TLSv1.3";
  o.dane_match = match;
  return o;
}

EffectivePolicy dane_policy(TlsLevel level, DaneStatus status, bool mx_secure = true) {
  EffectivePolicy p;
  p.domain = "example.org";
  p.level = level;
  p.source = status == DaneStatus::Usable || status == DaneStatus::Unusable ? PolicySource::Dane : PolicySource::Default;
  p.dane.status = status;
  p.dane.mx_secure = mx_secure;
  return p;
}

EffectivePolicy with_sts(EffectivePolicy p, bool testing) {
  p.without_dane = NonDanePolicy{TlsLevel::MtaSts, PolicySource::MtaSts, {"*.example.org"}, testing};
  return p;
}

struct Case {
  const char* name;
  EffectivePolicy policy;
  Observation observed;
  Outcome outcome;
  ResultType reason;
  const char* enhanced;
};

void PrintTo(const Case& c, std::ostream* out) { *out << '"' << c.name << '"'; }

class DaneVerdict : public ::testing::TestWithParam<Case> {};

TEST_P(DaneVerdict, Decides) {
  const Case& c = GetParam();
  Verdict v = decide(c.policy, c.observed);
  EXPECT_EQ(to_string(v.outcome), to_string(c.outcome)) << v.detail;
  EXPECT_EQ(to_string(v.reason), to_string(c.reason)) << v.detail;
  EXPECT_EQ(v.enhanced, c.enhanced);
}

template <class Change>
Observation but(Observation o, Change change) {
  change(o);
  return o;
}

const auto expired = [](Observation& o) { o.cert_problem = Cert::Expired; };
const auto wrong_name = [](Observation& o) {
  o.chain_trusted = true;
  o.host_matches = false;
  o.cert_problem = Cert::HostMismatch;
};
const auto chain_ok = [](Observation& o) {
  o.chain_trusted = true;
  o.host_matches = true;
};
const auto no_starttls = [](Observation& o) {
  o.starttls_offered = false;
  o.handshake = Handshake::NotAttempted;
  o.tls_version.clear();
};
const auto aborted = [](Observation& o) {
  o.handshake = Handshake::Failed;
  o.tls_version.clear();
};

INSTANTIATE_TEST_SUITE_P(
    Dane, DaneVerdict,
    ::testing::Values(
        Case{"EndEntityMatchDeliversWhateverTheNameAndDates", dane_policy(TlsLevel::Dane, DaneStatus::Usable),
             but(connected(Match::EndEntity), [](Observation& o) { o.cert_problem = Cert::Expired; }), Outcome::DeliverTls,
             ResultType::None, ""},
        Case{"EndEntityMatchUnderDaneOnly", dane_policy(TlsLevel::DaneOnly, DaneStatus::Usable),
             but(connected(Match::EndEntity), wrong_name), Outcome::DeliverTls, ResultType::None, ""},
        Case{"NoMatchingRecordIsTlsaInvalid", dane_policy(TlsLevel::Dane, DaneStatus::Usable), connected(Match::None),
             Outcome::Refuse, ResultType::TlsaInvalid, "4.7.5"},
        Case{"NoMatchAbortingTheHandshakeIsTlsaInvalid", dane_policy(TlsLevel::Dane, DaneStatus::Usable),
             but(connected(Match::None), aborted), Outcome::Refuse, ResultType::TlsaInvalid, "4.7.5"},
        Case{"UncheckedCertificateIsNeverAccepted", dane_policy(TlsLevel::Dane, DaneStatus::Usable),
             connected(Match::NotChecked), Outcome::Refuse, ResultType::TlsaInvalid, "4.7.5"},
        Case{"TrustAnchorWithItsChainAndNameDelivers", dane_policy(TlsLevel::Dane, DaneStatus::Usable),
             but(connected(Match::TrustAnchor), chain_ok), Outcome::DeliverTls, ResultType::None, ""},
        Case{"TrustAnchorChecksTheName", dane_policy(TlsLevel::Dane, DaneStatus::Usable),
             but(connected(Match::TrustAnchor), wrong_name), Outcome::Refuse, ResultType::CertificateHostMismatch, "4.7.5"},
        Case{"TrustAnchorChecksTheDates", dane_policy(TlsLevel::Dane, DaneStatus::Usable),
             but(but(connected(Match::TrustAnchor), chain_ok), expired), Outcome::Refuse, ResultType::CertificateExpired,
             "4.7.5"},
        Case{"DaneNeedsStarttls", dane_policy(TlsLevel::Dane, DaneStatus::Usable), but(connected(Match::NotChecked), no_starttls),
             Outcome::Refuse, ResultType::StarttlsNotSupported, "4.7.4"},
        Case{"UnusableRecordsMeanTlsWithoutAuthentication", dane_policy(TlsLevel::Dane, DaneStatus::Unusable),
             but(connected(Match::NotChecked), expired), Outcome::DeliverTls, ResultType::None, ""},
        Case{"UnusableRecordsStillNeedTls", dane_policy(TlsLevel::Dane, DaneStatus::Unusable),
             but(connected(Match::NotChecked), no_starttls), Outcome::Refuse, ResultType::StarttlsNotSupported, "4.7.4"},
        Case{"UnusableRecordsAreNotEnoughForDaneOnly", dane_policy(TlsLevel::DaneOnly, DaneStatus::Unusable),
             connected(Match::NotChecked), Outcome::Refuse, ResultType::DaneRequired, "4.7.5"},
        Case{"FailedLookupIsDnssecInvalidNeverAFallback", with_sts(dane_policy(TlsLevel::Dane, DaneStatus::Failed), true),
             connected(Match::NotChecked), Outcome::Refuse, ResultType::DnssecInvalid, "4.7.5"},
        Case{"InsecureHostFallsBackToMay", dane_policy(TlsLevel::Dane, DaneStatus::Insecure), but(connected(Match::NotChecked), no_starttls),
             Outcome::DeliverPlaintext, ResultType::StarttlsNotSupported, ""},
        Case{"NoRecordsFallsBackToMtaStsEnforce", with_sts(dane_policy(TlsLevel::Dane, DaneStatus::NoRecords), false),
             but(connected(Match::NotChecked), no_starttls), Outcome::Refuse, ResultType::StarttlsNotSupported, "4.7.4"},
        Case{"NoRecordsFallsBackToMtaStsTesting", with_sts(dane_policy(TlsLevel::Dane, DaneStatus::NoRecords), true),
             but(connected(Match::NotChecked), no_starttls), Outcome::AllowedTesting, ResultType::StarttlsNotSupported, "4.7.4"},
        Case{"FallbackMtaStsChecksItsMxPatterns", with_sts(dane_policy(TlsLevel::Dane, DaneStatus::Insecure), false),
             but(connected(Match::NotChecked), [](Observation& o) { o.mx_host = "mx.elsewhere.example"; }), Outcome::Refuse,
             ResultType::ValidationFailure, "4.7.5"},
        Case{"DaneOnlyRefusesWithoutRecords", dane_policy(TlsLevel::DaneOnly, DaneStatus::NoRecords), connected(Match::NotChecked),
             Outcome::Refuse, ResultType::DaneRequired, "4.7.5"},
        Case{"DaneOnlyRefusesAnInsecureHost", with_sts(dane_policy(TlsLevel::DaneOnly, DaneStatus::Insecure), false),
             connected(Match::NotChecked), Outcome::Refuse, ResultType::DaneRequired, "4.7.5"},
        Case{"DaneOnlyRefusesAnInsecureMxRrset", dane_policy(TlsLevel::DaneOnly, DaneStatus::Usable, /*mx_secure=*/false),
             connected(Match::EndEntity), Outcome::Refuse, ResultType::DaneRequired, "4.7.5"},
        Case{"DaneAcceptsASecureHostBehindAnInsecureMxRrset", dane_policy(TlsLevel::Dane, DaneStatus::Usable, false),
             connected(Match::EndEntity), Outcome::DeliverTls, ResultType::None, ""},
        Case{"DaneHasNoTestingMode",
             [] {
               EffectivePolicy p = dane_policy(TlsLevel::Dane, DaneStatus::Usable);
               p.testing = true;
               return p;
             }(),
             connected(Match::None), Outcome::Refuse, ResultType::TlsaInvalid, "4.7.5"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(DaneBeforeConnecting, TheDnsFactsAloneDecideTheseRefusals) {
  EXPECT_EQ(decide_without_connecting(dane_policy(TlsLevel::Dane, DaneStatus::Failed), "mx1.example.org")->reason,
            ResultType::DnssecInvalid);
  EXPECT_EQ(decide_without_connecting(dane_policy(TlsLevel::DaneOnly, DaneStatus::NoRecords), "mx1.example.org")->reason,
            ResultType::DaneRequired);
  EXPECT_EQ(decide_without_connecting(dane_policy(TlsLevel::Dane, DaneStatus::NotLookedUp), "mx1.example.org")->reason,
            ResultType::DaneRequired);
  EXPECT_FALSE(decide_without_connecting(dane_policy(TlsLevel::Dane, DaneStatus::Usable), "mx1.example.org"));
  EXPECT_FALSE(decide_without_connecting(dane_policy(TlsLevel::Dane, DaneStatus::Insecure), "mx1.example.org"));
  EXPECT_FALSE(decide_without_connecting(dane_policy(TlsLevel::Verify, DaneStatus::NotLookedUp), "mx1.example.org"));
  // The fallback's MTA-STS mx patterns refuse before connecting too.
  auto outside = decide_without_connecting(with_sts(dane_policy(TlsLevel::Dane, DaneStatus::NoRecords), false), "mx.other.example");
  ASSERT_TRUE(outside);
  EXPECT_EQ(outside->reason, ResultType::ValidationFailure);
}

TEST(DaneText, SaysWhatWasWrong) {
  EffectivePolicy p = dane_policy(TlsLevel::Dane, DaneStatus::Usable);
  EXPECT_EQ(reply_text(p, decide(p, connected(Match::None))),
            "TLS policy of example.org (dane, dane): no TLSA record of mx1.example.org matches its certificate");
  EXPECT_EQ(decide(dane_policy(TlsLevel::Dane, DaneStatus::Failed), connected(Match::None)).detail,
            "the TLSA lookup for mx1.example.org failed (DNS or DNSSEC validation)");
  EXPECT_EQ(decide(dane_policy(TlsLevel::DaneOnly, DaneStatus::Usable, false), connected(Match::None)).detail,
            "mx1.example.org comes from MX records of example.org that are not DNSSEC-validated");
  EXPECT_EQ(decide(dane_policy(TlsLevel::DaneOnly, DaneStatus::NoRecords), connected(Match::None)).detail,
            "mx1.example.org publishes no TLSA records");
}

TEST(NonDanePolicy, IsMayOrTheMtaStsPolicy) {
  EffectivePolicy p = dane_policy(TlsLevel::Dane, DaneStatus::Insecure);
  p.mx_patterns = {"*.example.org"};
  p.exception_reason = "ticket 1";
  EffectivePolicy may = non_dane_policy(p);
  EXPECT_EQ(may.level, TlsLevel::May);
  EXPECT_EQ(may.source, PolicySource::Default);
  EXPECT_EQ(may.mx_patterns, p.mx_patterns);
  EXPECT_EQ(may.exception_reason, p.exception_reason);
  EXPECT_EQ(may.dane.status, DaneStatus::Insecure);   // kept for the audit log
  EffectivePolicy sts = non_dane_policy(with_sts(p, true));
  EXPECT_EQ(sts.level, TlsLevel::MtaSts);
  EXPECT_EQ(sts.source, PolicySource::MtaSts);
  EXPECT_TRUE(sts.testing);
  EXPECT_EQ(sts.mx_patterns, (std::vector<std::string>{"*.example.org"}));
  EXPECT_FALSE(sts.without_dane);
  // Never DANE again, whatever the fallback claims.
  p.without_dane = NonDanePolicy{TlsLevel::DaneOnly, PolicySource::Config, {}, false};
  EXPECT_EQ(non_dane_policy(p).level, TlsLevel::May);
}

TEST(ApplicablePolicy, DaneWithoutDaneIsTheOtherPolicyEverythingElseItself) {
  EXPECT_EQ(applicable_policy(dane_policy(TlsLevel::Dane, DaneStatus::Insecure)).level, TlsLevel::May);
  EXPECT_EQ(applicable_policy(with_sts(dane_policy(TlsLevel::Dane, DaneStatus::NoRecords), false)).level, TlsLevel::MtaSts);
  for (DaneStatus s : {DaneStatus::NotLookedUp, DaneStatus::Failed, DaneStatus::Unusable, DaneStatus::Usable}) {
    EXPECT_EQ(applicable_policy(dane_policy(TlsLevel::Dane, s)).level, TlsLevel::Dane) << to_string(s);
  }
  EXPECT_EQ(applicable_policy(dane_policy(TlsLevel::DaneOnly, DaneStatus::Insecure)).level, TlsLevel::DaneOnly);
}

TEST(CertificateCheckOfAPolicy, FollowsLevelTestingAndDaneStatus) {
  auto level = [](TlsLevel l, bool testing = false) {
    EffectivePolicy p;
    p.level = l;
    p.testing = testing;
    return p;
  };
  EXPECT_EQ(certificate_check(level(TlsLevel::May)), CertificateCheck::Recorded);
  EXPECT_EQ(certificate_check(level(TlsLevel::Encrypt)), CertificateCheck::Recorded);
  EXPECT_EQ(certificate_check(level(TlsLevel::Verify)), CertificateCheck::WebPki);
  EXPECT_EQ(certificate_check(level(TlsLevel::MtaSts)), CertificateCheck::WebPki);
  EXPECT_EQ(certificate_check(level(TlsLevel::MtaSts, true)), CertificateCheck::Recorded);
  EXPECT_EQ(certificate_check(dane_policy(TlsLevel::Dane, DaneStatus::Usable)), CertificateCheck::Dane);
  EXPECT_EQ(certificate_check(dane_policy(TlsLevel::DaneOnly, DaneStatus::Usable)), CertificateCheck::Dane);
  EXPECT_EQ(certificate_check(dane_policy(TlsLevel::Dane, DaneStatus::Unusable)), CertificateCheck::Recorded);
  EXPECT_EQ(certificate_check(dane_policy(TlsLevel::Dane, DaneStatus::Insecure)), CertificateCheck::Recorded);
  EXPECT_EQ(certificate_check(with_sts(dane_policy(TlsLevel::Dane, DaneStatus::NoRecords), false)), CertificateCheck::WebPki);
}

TEST(DaneVocabulary, StatusNames) {
  EXPECT_EQ(to_string(DaneStatus::NotLookedUp), "not-looked-up");
  EXPECT_EQ(to_string(DaneStatus::Failed), "failed");
  EXPECT_EQ(to_string(DaneStatus::Insecure), "insecure");
  EXPECT_EQ(to_string(DaneStatus::NoRecords), "no-records");
  EXPECT_EQ(to_string(DaneStatus::Unusable), "unusable");
  EXPECT_EQ(to_string(DaneStatus::Usable), "usable");
}

}  // namespace
}  // namespace mxguard::policy

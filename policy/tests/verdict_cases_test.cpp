// The important verdicts one by one, named, plus the vocabulary's spellings.
#include <gtest/gtest.h>

#include <string>

#include "policy/verdict.h"

namespace mxguard::policy {
namespace {

using Handshake = Observation::Handshake;
using Cert = Observation::CertProblem;

// A connection where everything went right: STARTTLS, TLS 1.3, a trusted chain naming the MX.
Observation good() {
  Observation o;
  o.mx_host = "mx1.example.org";
  o.starttls_offered = true;
  o.handshake = Handshake::Succeeded;
  o.tls_version = "TLSv1.3";
  o.chain_trusted = true;
  o.host_matches = true;
  return o;
}

EffectivePolicy policy(TlsLevel level) {
  EffectivePolicy p;
  p.domain = "example.org";
  p.level = level;
  p.source = PolicySource::Config;
  return p;
}

EffectivePolicy mta_sts(bool testing) {
  EffectivePolicy p = policy(TlsLevel::MtaSts);
  p.source = PolicySource::MtaSts;
  p.mx_patterns = {"*.example.org"};
  p.testing = testing;
  return p;
}

struct Case {
  const char* name;
  EffectivePolicy policy;
  Observation observed;
  Outcome outcome;
  ResultType reason;
  int code;
  const char* enhanced;
};

// Test names and failure messages show the case, not its bytes.
void PrintTo(const Case& c, std::ostream* out) { *out << '"' << c.name << '"'; }

template <class Change>
Observation good_but(Change change) {
  Observation o = good();
  change(o);
  return o;
}

class NamedVerdict : public ::testing::TestWithParam<Case> {};

TEST_P(NamedVerdict, Decides) {
  const Case& c = GetParam();
  Verdict v = decide(c.policy, c.observed);
  EXPECT_EQ(to_string(v.outcome), to_string(c.outcome));
  EXPECT_EQ(to_string(v.reason), to_string(c.reason));
  EXPECT_EQ(v.smtp_code, c.code);
  EXPECT_EQ(v.enhanced, c.enhanced);
}

const auto no_starttls = [](Observation& o) {
  o.starttls_offered = false;
  o.handshake = Handshake::NotAttempted;
  o.tls_version.clear();
};
const auto handshake_fails = [](Observation& o) {
  o.handshake = Handshake::Failed;
  o.tls_version.clear();
};
const auto self_signed = [](Observation& o) {
  o.chain_trusted = false;
  o.host_matches = false;
  o.cert_problem = Cert::NotTrusted;
};
const auto expired = [](Observation& o) {
  o.chain_trusted = false;
  o.cert_problem = Cert::Expired;
};
const auto wrong_name = [](Observation& o) {
  o.host_matches = false;
  o.cert_problem = Cert::HostMismatch;
};
const auto tls11 = [](Observation& o) { o.tls_version = "TLSv1.1"; };
const auto injected = [](Observation& o) { o.injected_after_starttls = true; };
const auto elsewhere = [](Observation& o) { o.mx_host = "mx.attacker.example"; };

INSTANTIATE_TEST_SUITE_P(
    Important, NamedVerdict,
    ::testing::Values(
        Case{"NoneNeverUsesStarttlsEvenWhenOffered", policy(TlsLevel::None), good(), Outcome::DeliverPlaintext,
             ResultType::None, 0, ""},
        Case{"NoneWithoutStarttls", policy(TlsLevel::None), good_but(no_starttls), Outcome::DeliverPlaintext,
             ResultType::None, 0, ""},
        Case{"MayUsesTlsWhenItWorks", policy(TlsLevel::May), good(), Outcome::DeliverTls, ResultType::None, 0, ""},
        Case{"MayFallsBackWithoutStarttls", policy(TlsLevel::May), good_but(no_starttls), Outcome::DeliverPlaintext,
             ResultType::StarttlsNotSupported, 0, ""},
        Case{"MayFallsBackWhenTheHandshakeFails", policy(TlsLevel::May), good_but(handshake_fails),
             Outcome::DeliverPlaintext, ResultType::ValidationFailure, 0, ""},
        Case{"MayTakesASelfSignedCertificate", policy(TlsLevel::May), good_but(self_signed), Outcome::DeliverTls,
             ResultType::None, 0, ""},
        Case{"MayFallsBackFromTls11", policy(TlsLevel::May), good_but(tls11), Outcome::DeliverPlaintext,
             ResultType::ValidationFailure, 0, ""},
        Case{"MayFallsBackAfterInjection", policy(TlsLevel::May), good_but(injected), Outcome::DeliverPlaintext,
             ResultType::ValidationFailure, 0, ""},
        Case{"EncryptRefusesWithoutStarttls", policy(TlsLevel::Encrypt), good_but(no_starttls), Outcome::Refuse,
             ResultType::StarttlsNotSupported, 451, "4.7.4"},
        Case{"EncryptTakesASelfSignedCertificate", policy(TlsLevel::Encrypt), good_but(self_signed), Outcome::DeliverTls,
             ResultType::None, 0, ""},
        Case{"EncryptTakesAnExpiredCertificate", policy(TlsLevel::Encrypt), good_but(expired), Outcome::DeliverTls,
             ResultType::None, 0, ""},
        Case{"EncryptRefusesAFailedHandshake", policy(TlsLevel::Encrypt), good_but(handshake_fails), Outcome::Refuse,
             ResultType::ValidationFailure, 451, "4.7.5"},
        Case{"EncryptRefusesTls11", policy(TlsLevel::Encrypt), good_but(tls11), Outcome::Refuse,
             ResultType::ValidationFailure, 451, "4.7.5"},
        Case{"EncryptRefusesInjection", policy(TlsLevel::Encrypt), good_but(injected), Outcome::Refuse,
             ResultType::ValidationFailure, 451, "4.7.5"},
        Case{"VerifyDeliversOverTls12", policy(TlsLevel::Verify), good_but([](Observation& o) { o.tls_version = "TLSv1.2"; }),
             Outcome::DeliverTls, ResultType::None, 0, ""},
        Case{"VerifyRefusesWithoutStarttls", policy(TlsLevel::Verify), good_but(no_starttls), Outcome::Refuse,
             ResultType::StarttlsNotSupported, 451, "4.7.4"},
        Case{"VerifyRefusesWhenStarttlsIsOfferedButRefused", policy(TlsLevel::Verify),
             good_but([](Observation& o) { o.handshake = Handshake::NotAttempted; }), Outcome::Refuse,
             ResultType::StarttlsNotSupported, 451, "4.7.4"},
        Case{"VerifyRefusesASelfSignedCertificate", policy(TlsLevel::Verify), good_but(self_signed), Outcome::Refuse,
             ResultType::CertificateNotTrusted, 451, "4.7.5"},
        Case{"VerifyRefusesAnExpiredCertificate", policy(TlsLevel::Verify), good_but(expired), Outcome::Refuse,
             ResultType::CertificateExpired, 451, "4.7.5"},
        Case{"VerifyRefusesACertificateNotValidYet", policy(TlsLevel::Verify),
             good_but([](Observation& o) {
               o.chain_trusted = false;
               o.cert_problem = Cert::NotYetValid;
             }),
             Outcome::Refuse, ResultType::CertificateNotTrusted, 451, "4.7.5"},
        Case{"VerifyRefusesACertificateForAnotherName", policy(TlsLevel::Verify), good_but(wrong_name), Outcome::Refuse,
             ResultType::CertificateHostMismatch, 451, "4.7.5"},
        Case{"VerifyReportsTheCertificateProblemThatAbortedTheHandshake", policy(TlsLevel::Verify),
             good_but([](Observation& o) {
               o.handshake = Handshake::Failed;
               o.cert_problem = Cert::Expired;
             }),
             Outcome::Refuse, ResultType::CertificateExpired, 451, "4.7.5"},
        Case{"VerifyFailsClosedWhenTheFlagsContradictTheVerifier", policy(TlsLevel::Verify),
             good_but([](Observation& o) { o.cert_problem = Cert::Expired; }), Outcome::Refuse,
             ResultType::CertificateExpired, 451, "4.7.5"},
        Case{"VerifyRefusesAnUnknownTlsVersion", policy(TlsLevel::Verify), good_but([](Observation& o) { o.tls_version = ""; }),
             Outcome::Refuse, ResultType::ValidationFailure, 451, "4.7.5"},
        Case{"VerifyRefusesInjectionEvenWithAGoodCertificate", policy(TlsLevel::Verify), good_but(injected),
             Outcome::Refuse, ResultType::ValidationFailure, 451, "4.7.5"},
        Case{"MtaStsDeliversToAnAllowedMx", mta_sts(false), good(), Outcome::DeliverTls, ResultType::None, 0, ""},
        Case{"MtaStsRefusesAnMxOutsideThePolicy", mta_sts(false), good_but(elsewhere), Outcome::Refuse,
             ResultType::ValidationFailure, 451, "4.7.5"},
        Case{"MtaStsWildcardCoversOneLabelOnly", mta_sts(false),
             good_but([](Observation& o) { o.mx_host = "a.mx.example.org"; }), Outcome::Refuse,
             ResultType::ValidationFailure, 451, "4.7.5"},
        Case{"MtaStsAcceptsTheMxNameWithItsRootDot", mta_sts(false),
             good_but([](Observation& o) { o.mx_host = "MX1.example.org."; }), Outcome::DeliverTls, ResultType::None, 0, ""},
        Case{"MtaStsTestingDeliversToAnMxOutsideThePolicyAndSaysWhy", mta_sts(true), good_but(elsewhere),
             Outcome::AllowedTesting, ResultType::ValidationFailure, 451, "4.7.5"},
        Case{"MtaStsTestingDeliversDespiteAnExpiredCertificate", mta_sts(true), good_but(expired),
             Outcome::AllowedTesting, ResultType::CertificateExpired, 451, "4.7.5"},
        Case{"MtaStsTestingDeliversWithoutStarttls", mta_sts(true), good_but(no_starttls), Outcome::AllowedTesting,
             ResultType::StarttlsNotSupported, 451, "4.7.4"},
        Case{"MtaStsTestingWithNothingWrongIsPlainTls", mta_sts(true), good(), Outcome::DeliverTls, ResultType::None, 0, ""},
        Case{"MayWithMxPatternsDoesNotFallBackToAForeignMx",
             [] {
               EffectivePolicy p = policy(TlsLevel::May);
               p.mx_patterns = {"mx1.example.org"};
               return p;
             }(),
             good_but(elsewhere), Outcome::Refuse, ResultType::ValidationFailure, 451, "4.7.5"},
        Case{"NoneWithMxPatternsStillRestrictsTheMx",
             [] {
               EffectivePolicy p = policy(TlsLevel::None);
               p.mx_patterns = {"*.example.org"};
               return p;
             }(),
             good_but(elsewhere), Outcome::Refuse, ResultType::ValidationFailure, 451, "4.7.5"},
        // verdict_dane_cases_test.cpp has the DANE cases; this one is the guard against a caller that
        // forgot to look DANE up.
        Case{"DaneWithoutDaneFactsFailsClosed", policy(TlsLevel::Dane), good(), Outcome::Refuse,
             ResultType::DaneRequired, 451, "4.7.5"}),
    [](const auto& info) { return std::string(info.param.name); });

// ---------------------------------------------------------------------------------------------------------

TEST(VerdictText, NamesTheDomainThePolicyAndTheProblem) {
  EffectivePolicy p = policy(TlsLevel::Verify);
  Verdict v = decide(p, good_but(expired));
  EXPECT_EQ(v.detail, "certificate of mx1.example.org has expired");
  EXPECT_EQ(reply_text(p, v), "TLS policy of example.org (verify, config): certificate of mx1.example.org has expired");
  EXPECT_EQ(decide(p, good_but(no_starttls)).detail, "STARTTLS not offered by mx1.example.org");
  EXPECT_EQ(decide(mta_sts(false), good_but(elsewhere)).detail,
            "mx.attacker.example is not an MX host allowed by the policy");
  EXPECT_EQ(decide(p, good_but(tls11)).detail, "mx1.example.org negotiated TLSv1.1: TLS 1.2 or later is required");
}

TEST(VerdictVocabulary, ResultTypesAreSpelledAsInRfc8460) {
  EXPECT_EQ(to_string(ResultType::None), "");
  EXPECT_EQ(to_string(ResultType::StarttlsNotSupported), "starttls-not-supported");
  EXPECT_EQ(to_string(ResultType::CertificateHostMismatch), "certificate-host-mismatch");
  EXPECT_EQ(to_string(ResultType::CertificateExpired), "certificate-expired");
  EXPECT_EQ(to_string(ResultType::CertificateNotTrusted), "certificate-not-trusted");
  EXPECT_EQ(to_string(ResultType::ValidationFailure), "validation-failure");
  EXPECT_EQ(to_string(ResultType::StsPolicyFetchError), "sts-policy-fetch-error");
  EXPECT_EQ(to_string(ResultType::StsPolicyInvalid), "sts-policy-invalid");
  EXPECT_EQ(to_string(ResultType::StsWebpkiInvalid), "sts-webpki-invalid");
  EXPECT_EQ(to_string(ResultType::TlsaInvalid), "tlsa-invalid");
  EXPECT_EQ(to_string(ResultType::DnssecInvalid), "dnssec-invalid");
  EXPECT_EQ(to_string(ResultType::DaneRequired), "dane-required");
}

TEST(VerdictVocabulary, PolicySourcesAndOutcomes) {
  EXPECT_EQ(to_string(PolicySource::Default), "default");
  EXPECT_EQ(to_string(PolicySource::Config), "config");
  EXPECT_EQ(to_string(PolicySource::MtaSts), "mta-sts");
  EXPECT_EQ(to_string(PolicySource::Dane), "dane");
  EXPECT_EQ(to_string(Outcome::DeliverTls), "deliver-tls");
  EXPECT_EQ(to_string(Outcome::DeliverPlaintext), "deliver-plaintext");
  EXPECT_EQ(to_string(Outcome::AllowedTesting), "allowed-testing");
  EXPECT_EQ(to_string(Outcome::Refuse), "refuse");
}

TEST(MxAllowed, AnyHostWithoutPatternsOnlyMatchingOnesWithThem) {
  EffectivePolicy p = policy(TlsLevel::Verify);
  EXPECT_TRUE(mx_allowed(p, "anything.example"));
  EXPECT_TRUE(mx_allowed(p, ""));
  p.mx_patterns = {"mx.backup.example", "*.example.org"};
  EXPECT_TRUE(mx_allowed(p, "mx.backup.example"));
  EXPECT_TRUE(mx_allowed(p, "MX2.Example.Org"));
  EXPECT_FALSE(mx_allowed(p, "example.org"));
  EXPECT_FALSE(mx_allowed(p, "a.b.example.org"));
  EXPECT_FALSE(mx_allowed(p, "backup.example"));
  EXPECT_FALSE(mx_allowed(p, ""));
}

TEST(TlsVersion, TwelveAndLaterOnly) {
  for (const char* ok : {"TLSv1.2", "TLSv1.3", "TLSv1.4", "TLSv2"}) EXPECT_TRUE(meets_minimum_tls_version(ok)) << ok;
  for (const char* bad : {"TLSv1.1", "TLSv1", "TLSv1.0", "SSLv3", "", "TLSv", "TLSv1.", "TLSv1.2x", "tlsv1.3",
                          "TLSv1.-3", "DTLSv1.2", "TLSv0.9", "unknown"}) {
    EXPECT_FALSE(meets_minimum_tls_version(bad)) << bad;
  }
}

}  // namespace
}  // namespace mxguard::policy

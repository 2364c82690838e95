// The DANE matcher (RFC 7672 §3, RFC 7671) over certificates made in the test: every usage x selector x
// matching type against the certificate it should (and should not) match, then what DANE-EE ignores and
// what DANE-TA checks.
#include "proxy/tls/dane_check.h"

#include <gtest/gtest.h>
#include <openssl/x509.h>

#include <string>
#include <vector>

#include "proxy/tls/tests/test_pki.h"
#include "proxy/tls/verification.h"

namespace mxguard::tls {
namespace {

using policy::TlsaRecord;
using testing::CertSpec;
using testing::Issued;
using testing::tlsa_record_for;
using Match = DaneResult::Match;

constexpr const char* kHost = "mx.example.test";

bssl::UniquePtr<STACK_OF(X509)> chain_of(std::initializer_list<const Issued*> certs) {
  bssl::UniquePtr<STACK_OF(X509)> chain(sk_X509_new_null());
  for (const Issued* c : certs) {
    X509_up_ref(c->cert.get());
    sk_X509_push(chain.get(), c->cert.get());
  }
  return chain;
}

DaneResult check(std::vector<TlsaRecord> records, std::initializer_list<const Issued*> chain,
                 std::vector<std::string> names = {kHost}) {
  auto presented = chain_of(chain);
  return check_dane(DaneExpectation{std::move(records), std::move(names)}, presented.get());
}

class DaneCheck : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = testing::issue({.cn = "DANE test CA", .ca = true});
    leaf_ = testing::issue({.cn = kHost, .dns_names = {kHost}}, &ca_);
  }
  Issued ca_, leaf_;
};

// The matrix: a record made for the certificate its usage applies to (the leaf for -EE, the CA for -TA)
// matches exactly for the DANE usages, under every selector and matching type; one byte off never does;
// the PKIX usages never do.
struct Params {
  std::uint8_t usage, selector, matching;
};

class DaneMatrix : public DaneCheck, public ::testing::WithParamInterface<Params> {};

TEST_P(DaneMatrix, MatchesOnlyWhatTheRecordSays) {
  const Params p = GetParam();
  const bool end_entity = p.usage == policy::tlsa::kDaneEe || p.usage == policy::tlsa::kPkixEe;
  const Issued& target = end_entity ? leaf_ : ca_;
  TlsaRecord r = tlsa_record_for(target, p.usage, p.selector, p.matching);
  const std::size_t want_size = p.matching == 1 ? 32 : p.matching == 2 ? 64 : r.data.size();
  EXPECT_EQ(r.data.size(), want_size);
  const bool dane = p.usage == policy::tlsa::kDaneEe || p.usage == policy::tlsa::kDaneTa;
  EXPECT_EQ(record_matches(r, target.cert.get()), dane);

  DaneResult result = check({r}, {&leaf_, &ca_});
  Match want = !dane ? Match::None : end_entity ? Match::EndEntity : Match::TrustAnchor;
  EXPECT_EQ(result.match, want) << policy::to_string(r);
  EXPECT_EQ(result.authenticated(), dane);
  if (dane) {
    EXPECT_EQ(result.record, policy::to_string(r));
    EXPECT_EQ(result.depth, end_entity ? 0 : 1);
  }

  TlsaRecord off = r;
  off.data.back() ^= 0x01;
  EXPECT_FALSE(record_matches(off, target.cert.get()));
  EXPECT_EQ(check({off}, {&leaf_, &ca_}).match, Match::None);
  // A record for the other certificate of the chain does not match this usage's certificate.
  const Issued& other = end_entity ? ca_ : leaf_;
  EXPECT_EQ(check({tlsa_record_for(other, p.usage, p.selector, p.matching)}, {&leaf_, &ca_}).match, Match::None);
}

std::vector<Params> all_params() {
  std::vector<Params> out;
  for (std::uint8_t u = 0; u <= 3; ++u)
    for (std::uint8_t s = 0; s <= 1; ++s)
      for (std::uint8_t m = 0; m <= 2; ++m) out.push_back({u, s, m});
  return out;
}

INSTANTIATE_TEST_SUITE_P(UsageSelectorMatching, DaneMatrix, ::testing::ValuesIn(all_params()),
                         [](const ::testing::TestParamInfo<Params>& info) {
                           return "usage" + std::to_string(info.param.usage) + "_selector" +
                                  std::to_string(info.param.selector) + "_matching" + std::to_string(info.param.matching);
                         });

TEST_F(DaneCheck, SelectorsSelectDifferentBytes) {
  EXPECT_NE(association_data(leaf_.cert.get(), 0, 0), association_data(leaf_.cert.get(), 1, 0));
  EXPECT_FALSE(association_data(leaf_.cert.get(), 2, 1).has_value());
  EXPECT_FALSE(association_data(leaf_.cert.get(), 1, 3).has_value());
  // The same key in a new certificate: SPKI records still match, full-certificate ones do not.
  Issued renewed;
  renewed.key.reset(leaf_.key.get());
  EVP_PKEY_up_ref(leaf_.key.get());
  bssl::UniquePtr<X509> copy(X509_dup(leaf_.cert.get()));
  ASN1_INTEGER_set(X509_get_serialNumber(copy.get()), 999999);
  X509_sign(copy.get(), ca_.key.get(), EVP_sha256());
  renewed.cert = std::move(copy);
  EXPECT_TRUE(record_matches(tlsa_record_for(leaf_, 3, 1, 1), renewed.cert.get()));
  EXPECT_FALSE(record_matches(tlsa_record_for(leaf_, 3, 0, 1), renewed.cert.get()));
}

TEST_F(DaneCheck, EndEntityIgnoresNamesDatesAndTheChain) {
  Issued stranger_ca = testing::issue({.cn = "nobody's CA", .ca = true});
  Issued expired_elsewhere = testing::issue(
      {.cn = "other.example", .dns_names = {"other.example"}, .valid_from = -7200, .valid_until = -3600}, &stranger_ca);
  DaneResult r = check({tlsa_record_for(expired_elsewhere, 3, 1, 1)}, {&expired_elsewhere});
  EXPECT_EQ(r.match, Match::EndEntity);
  EXPECT_TRUE(r.problems.empty());
  EXPECT_TRUE(r.authenticated());
  Issued self_signed = testing::issue({.cn = "self", .dns_names = {"self.example"}});
  EXPECT_TRUE(check({tlsa_record_for(self_signed, 3, 0, 2)}, {&self_signed}).authenticated());
}

TEST_F(DaneCheck, TrustAnchorChecksTheName) {
  DaneResult r = check({tlsa_record_for(ca_, 2, 0, 1)}, {&leaf_, &ca_}, {"other.example.test"});
  EXPECT_EQ(r.match, Match::TrustAnchor);
  ASSERT_FALSE(r.problems.empty());
  EXPECT_EQ(classify_x509_error(r.problems[0].first), CertProblem::HostMismatch);
  EXPECT_FALSE(r.authenticated());
  // Any one of the reference names will do (the MX host, or the domain when its MX records are secure).
  EXPECT_TRUE(check({tlsa_record_for(ca_, 2, 0, 1)}, {&leaf_, &ca_}, {"other.example.test", kHost}).authenticated());
}

TEST_F(DaneCheck, TrustAnchorChecksTheDates) {
  Issued expired = testing::issue({.cn = kHost, .dns_names = {kHost}, .valid_from = -7200, .valid_until = -3600}, &ca_);
  DaneResult r = check({tlsa_record_for(ca_, 2, 1, 1)}, {&expired, &ca_});
  EXPECT_EQ(r.match, Match::TrustAnchor);
  ASSERT_FALSE(r.problems.empty());
  EXPECT_EQ(classify_x509_error(r.problems[0].first), CertProblem::Expired);
  EXPECT_EQ(r.problems[0].second, 0);
}

TEST_F(DaneCheck, TrustAnchorMayBeAnIntermediate) {
  Issued intermediate = testing::issue({.cn = "DANE intermediate", .ca = true}, &ca_);
  Issued leaf = testing::issue({.cn = kHost, .dns_names = {kHost}}, &intermediate);
  DaneResult r = check({tlsa_record_for(intermediate, 2, 1, 2)}, {&leaf, &intermediate});
  EXPECT_EQ(r.match, Match::TrustAnchor);
  EXPECT_TRUE(r.authenticated()) << (r.problems.empty() ? 0 : r.problems[0].first);
  EXPECT_EQ(r.depth, 1);
}

TEST_F(DaneCheck, TrustAnchorTheLeafDoesNotChainToIsNoMatch) {
  Issued other_ca = testing::issue({.cn = "unrelated CA", .ca = true});
  // The server sends a certificate that matches the record, but its leaf was issued by someone else.
  EXPECT_EQ(check({tlsa_record_for(other_ca, 2, 0, 1)}, {&leaf_, &other_ca}).match, Match::None);
}

TEST_F(DaneCheck, TrustAnchorIsNeverTheLeafItself) {
  EXPECT_EQ(check({tlsa_record_for(leaf_, 2, 0, 1)}, {&leaf_, &ca_}).match, Match::None);
}

TEST_F(DaneCheck, TrustAnchorMustBePresented) {
  // RFC 7671 §5.2.3 lets a client use a "2 1 x" key the server does not send; mxguard only looks at the chain sent.
  EXPECT_EQ(check({tlsa_record_for(ca_, 2, 1, 1)}, {&leaf_}).match, Match::None);
}

TEST_F(DaneCheck, AGoodAnchorWinsOverOneWithProblems) {
  Issued other_ca = testing::issue({.cn = "second CA", .ca = true});
  Issued intermediate = testing::issue({.cn = "intermediate", .ca = true}, &other_ca);
  Issued leaf = testing::issue({.cn = kHost, .dns_names = {kHost}}, &intermediate);
  // Both records match certificates the leaf chains to; only the names decide. Same chain, so both pass.
  DaneResult r = check({tlsa_record_for(other_ca, 2, 0, 1), tlsa_record_for(intermediate, 2, 0, 1)},
                       {&leaf, &intermediate, &other_ca});
  EXPECT_TRUE(r.authenticated());
  EXPECT_EQ(r.depth, 2);
}

TEST_F(DaneCheck, EndEntityIsTriedBeforeTrustAnchors) {
  DaneResult r =
      check({tlsa_record_for(ca_, 2, 0, 1), tlsa_record_for(leaf_, 3, 1, 1)}, {&leaf_, &ca_}, {"wrong.example"});
  EXPECT_EQ(r.match, Match::EndEntity);
  EXPECT_TRUE(r.authenticated());
}

TEST_F(DaneCheck, UnusableRecordsNeverMatch) {
  TlsaRecord pkix = tlsa_record_for(leaf_, 1, 1, 1);
  EXPECT_FALSE(record_matches(pkix, leaf_.cert.get()));
  TlsaRecord short_digest = tlsa_record_for(leaf_, 3, 1, 1);
  short_digest.data.pop_back();
  EXPECT_FALSE(record_matches(short_digest, leaf_.cert.get()));
  EXPECT_EQ(check({pkix, tlsa_record_for(ca_, 0, 0, 1)}, {&leaf_, &ca_}).match, Match::None);
  EXPECT_EQ(check({}, {&leaf_, &ca_}).match, Match::None);
  auto empty = chain_of({});
  EXPECT_EQ(check_dane(DaneExpectation{{tlsa_record_for(leaf_, 3, 1, 1)}, {kHost}}, empty.get()).match, Match::None);
  EXPECT_EQ(check_dane(DaneExpectation{{tlsa_record_for(leaf_, 3, 1, 1)}, {kHost}}, nullptr).match, Match::None);
}

TEST_F(DaneCheck, RsaKeysToo) {
  Issued rsa = testing::issue({.cn = kHost, .dns_names = {kHost}, .ecdsa = false}, &ca_);
  EXPECT_TRUE(check({tlsa_record_for(rsa, 3, 1, 1)}, {&rsa, &ca_}).authenticated());
  EXPECT_TRUE(check({tlsa_record_for(ca_, 2, 1, 2)}, {&rsa, &ca_}).authenticated());
}

}  // namespace
}  // namespace mxguard::tls

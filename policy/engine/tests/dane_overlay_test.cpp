// dane_facts and policy_for_host: from DNS answers about one MX host to its policy (RFC 7672 §2.1-2.2).
#include "policy/engine/dane_overlay.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mxguard::policy {
namespace {

using Tlsa = DaneLookup::Tlsa;

const TlsaRecord kUsable{3, 1, 1, std::vector<std::uint8_t>(32, 0x11)};
const TlsaRecord kPkix{1, 1, 1, std::vector<std::uint8_t>(32, 0x22)};

DaneLookup lookup(bool trusted, bool mx, bool addresses, Tlsa tlsa, bool tlsa_ad, std::vector<TlsaRecord> records = {}) {
  return DaneLookup{trusted, mx, addresses, tlsa, tlsa_ad, std::move(records)};
}

struct FactsCase {
  const char* label;
  DaneLookup in;
  DaneStatus status;
  bool mx_secure;
  std::size_t records;
};

void PrintTo(const FactsCase& c, std::ostream* out) { *out << c.label; }

class Facts : public ::testing::TestWithParam<FactsCase> {};

TEST_P(Facts, FollowTheRules) {
  const FactsCase& c = GetParam();
  DaneFacts f = dane_facts(c.in);
  EXPECT_EQ(to_string(f.status), to_string(c.status));
  EXPECT_EQ(f.mx_secure, c.mx_secure);
  EXPECT_EQ(f.records.size(), c.records);
}

INSTANTIATE_TEST_SUITE_P(
    Table, Facts,
    ::testing::Values(
        FactsCase{"secure usable", lookup(true, true, true, Tlsa::Records, true, {kUsable, kPkix}), DaneStatus::Usable, true, 2},
        FactsCase{"secure unusable", lookup(true, true, true, Tlsa::Records, true, {kPkix}), DaneStatus::Unusable, true, 1},
        FactsCase{"insecure mx, secure host", lookup(true, false, true, Tlsa::Records, true, {kUsable}), DaneStatus::Usable,
                  false, 1},
        FactsCase{"unsigned tlsa answer", lookup(true, true, true, Tlsa::Records, false, {kUsable}), DaneStatus::Insecure, true, 0},
        FactsCase{"validated denial", lookup(true, true, true, Tlsa::NoRecords, true), DaneStatus::NoRecords, true, 0},
        FactsCase{"unsigned denial", lookup(true, true, true, Tlsa::NoRecords, false), DaneStatus::Insecure, true, 0},
        FactsCase{"failed lookup", lookup(true, true, true, Tlsa::Failed, false), DaneStatus::Failed, true, 0},
        FactsCase{"failed lookup behind an insecure mx", lookup(true, false, true, Tlsa::Failed, false), DaneStatus::Failed,
                  false, 0},
        FactsCase{"insecure addresses", lookup(true, true, false, Tlsa::NotAsked, false), DaneStatus::Insecure, true, 0},
        FactsCase{"insecure addresses ignore any tlsa", lookup(true, true, false, Tlsa::Records, true, {kUsable}),
                  DaneStatus::Insecure, true, 0},
        FactsCase{"insecure addresses ignore a failure", lookup(true, true, false, Tlsa::Failed, false), DaneStatus::Insecure,
                  true, 0},
        FactsCase{"secure addresses, never asked", lookup(true, true, true, Tlsa::NotAsked, false), DaneStatus::NotLookedUp,
                  true, 0},
        FactsCase{"untrusted resolver", lookup(false, true, true, Tlsa::Records, true, {kUsable}), DaneStatus::Insecure, false, 0},
        FactsCase{"untrusted resolver, failed", lookup(false, true, true, Tlsa::Failed, false), DaneStatus::Insecure, false, 0}));

EffectivePolicy domain(TlsLevel level, PolicySource source = PolicySource::Default) {
  EffectivePolicy p;
  p.domain = "example.org";
  p.level = level;
  p.source = source;
  p.mx_patterns = {"*.example.org"};
  return p;
}

DaneFacts facts(DaneStatus status) {
  DaneFacts f;
  f.status = status;
  f.mx_secure = true;
  if (status == DaneStatus::Usable) f.records = {kUsable};
  return f;
}

TEST(PolicyForHost, BelowDaneNothingChanges) {
  for (TlsLevel l : {TlsLevel::None, TlsLevel::May, TlsLevel::Encrypt, TlsLevel::Verify, TlsLevel::MtaSts}) {
    EffectivePolicy p = policy_for_host(domain(l), facts(DaneStatus::Usable));
    EXPECT_EQ(p.level, l);
    EXPECT_EQ(p.source, PolicySource::Default);
    EXPECT_EQ(p.dane.status, DaneStatus::NotLookedUp);
  }
}

TEST(PolicyForHost, TlsaRecordsDecideUnderDane) {
  for (DaneStatus s : {DaneStatus::Usable, DaneStatus::Unusable, DaneStatus::Failed}) {
    for (TlsLevel l : {TlsLevel::Dane, TlsLevel::DaneOnly}) {
      EffectivePolicy p = policy_for_host(domain(l, PolicySource::Config), facts(s));
      EXPECT_EQ(p.level, l);
      EXPECT_EQ(p.source, PolicySource::Dane) << to_string(s);
      EXPECT_EQ(p.dane.status, s);
      EXPECT_EQ(p.mx_patterns, domain(l).mx_patterns);
    }
  }
  EXPECT_EQ(policy_for_host(domain(TlsLevel::Dane), facts(DaneStatus::Usable)).dane.records, std::vector<TlsaRecord>{kUsable});
}

TEST(PolicyForHost, DaneWithoutDaneIsTheOtherPolicy) {
  EffectivePolicy d = domain(TlsLevel::Dane, PolicySource::Config);
  EffectivePolicy may = policy_for_host(d, facts(DaneStatus::Insecure));
  EXPECT_EQ(may.level, TlsLevel::May);
  EXPECT_EQ(may.source, PolicySource::Config);
  EXPECT_EQ(may.dane.status, DaneStatus::Insecure);
  d.without_dane = NonDanePolicy{TlsLevel::MtaSts, PolicySource::MtaSts, {"mx.example.org"}, false};
  EffectivePolicy sts = policy_for_host(d, facts(DaneStatus::NoRecords));
  EXPECT_EQ(sts.level, TlsLevel::MtaSts);
  EXPECT_EQ(sts.source, PolicySource::MtaSts);
  EXPECT_EQ(sts.mx_patterns, (std::vector<std::string>{"mx.example.org"}));
  EXPECT_EQ(sts.dane.status, DaneStatus::NoRecords);
}

TEST(PolicyForHost, DaneOnlyKeepsItsLevelAndRefuses) {
  EffectivePolicy p = policy_for_host(domain(TlsLevel::DaneOnly, PolicySource::Config), facts(DaneStatus::NoRecords));
  EXPECT_EQ(p.level, TlsLevel::DaneOnly);
  EXPECT_EQ(p.source, PolicySource::Config);
  Observation o;
  o.mx_host = "mx.example.org";
  EXPECT_EQ(decide(p, o).reason, ResultType::DaneRequired);
}

}  // namespace
}  // namespace mxguard::policy

// Raw TLSA answers: the records at the end of the CNAME chain, compression pointers, the AD bit, and every
// way a message can be broken (Malformed, never "no records").
#include "policy/dns/tlsa_answer.h"

#include <ares.h>
#include <gtest/gtest.h>

#include <vector>

#include "policy/dns/tests/dns_message.h"

namespace mxguard::dns {
namespace {

using testing_support::kTlsa;
using testing_support::Message;
using Bytes = std::vector<unsigned char>;
using policy::TlsaRecord;

constexpr const char* kName = "_25._tcp.mx.example.com";

TlsaResult parse(const Bytes& b) { return parse_tlsa_answer(ARES_SUCCESS, b); }
TlsaResult parse(const Message& m) { return parse(m.bytes()); }

Bytes digest(unsigned char fill) { return Bytes(32, fill); }

TEST(TlsaAnswer, RecordsInAnswerOrderWithTheAdBit) {
  TlsaResult r = parse(Message(kName, kTlsa).ad().tlsa(kName, 3, 1, 1, digest(0xaa)).tlsa(kName, 2, 0, 2, Bytes(64, 0xbb)));
  EXPECT_EQ(r.status, Status::Ok);
  EXPECT_TRUE(r.authenticated_data);
  ASSERT_EQ(r.records.size(), 2u);
  EXPECT_EQ(r.records[0], (TlsaRecord{3, 1, 1, digest(0xaa)}));
  EXPECT_EQ(r.records[1], (TlsaRecord{2, 0, 2, Bytes(64, 0xbb)}));
  EXPECT_FALSE(parse(Message(kName, kTlsa).tlsa(kName, 3, 1, 1, digest(1))).authenticated_data);
}

TEST(TlsaAnswer, UnusableParametersAreStillRecords) {
  // Which records SMTP can use is policy::usable_for_smtp's business, not the parser's.
  TlsaResult r = parse(Message(kName, kTlsa).tlsa(kName, 0, 7, 200, {}).tlsa(kName, 1, 1, 1, Bytes{1, 2}));
  ASSERT_EQ(r.records.size(), 2u);
  EXPECT_EQ(r.records[0], (TlsaRecord{0, 7, 200, {}}));
}

TEST(TlsaAnswer, OwnerNamesCompareWithoutCase) {
  EXPECT_EQ(parse(Message("_25._TCP.MX.Example.com", kTlsa).tlsa("_25._tcp.mx.EXAMPLE.com", 3, 1, 1, digest(1))).records.size(), 1u);
}

TEST(TlsaAnswer, FollowsTheCnameChainAndIgnoresOtherOwners) {
  TlsaResult r = parse(Message(kName, kTlsa)
                           .tlsa("_25._tcp.other.example.com", 3, 1, 1, digest(0x01))
                           .cname(kName, "tlsa.provider.example")
                           .cname("tlsa.provider.example", "_25._tcp.mx.provider.example")
                           .tlsa("_25._tcp.mx.provider.example", 3, 1, 1, digest(0x02))
                           .tlsa(kName, 3, 1, 1, digest(0x03)));   // the original name, after its CNAME: not it
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.records[0].data, digest(0x02));
}

TEST(TlsaAnswer, NoDataNxDomainAndTheirAdBit) {
  TlsaResult empty = parse(Message(kName, kTlsa).ad());
  EXPECT_EQ(empty.status, Status::NoData);
  EXPECT_TRUE(empty.authenticated_data);   // an authenticated denial
  EXPECT_EQ(parse(Message(kName, kTlsa).cname(kName, "elsewhere.example")).status, Status::NoData);
  TlsaResult nx = parse(Message(kName, kTlsa).rcode(3).ad());
  EXPECT_EQ(nx.status, Status::NxDomain);
  EXPECT_TRUE(nx.authenticated_data);
  EXPECT_FALSE(parse(Message(kName, kTlsa).rcode(3)).authenticated_data);
}

TEST(TlsaAnswer, FailuresAreNeverNoRecords) {
  for (int status : {ARES_ETIMEOUT, ARES_ESERVFAIL, ARES_ECONNREFUSED, ARES_EREFUSED, ARES_ECANCELLED}) {
    TlsaResult r = parse_tlsa_answer(status, {});
    EXPECT_EQ(r.status, Status::Temporary) << ares_strerror(status);
    EXPECT_FALSE(r.authenticated_data);
  }
  EXPECT_EQ(parse(Message(kName, kTlsa).rcode(2).ad()).status, Status::Temporary);
  EXPECT_EQ(parse(Message(kName, kTlsa).tc().ad().tlsa(kName, 3, 1, 1, digest(1))).status, Status::Temporary);
  EXPECT_EQ(parse(Message(kName, kTlsa).query_not_response()).status, Status::Malformed);
  EXPECT_EQ(parse(Message(kName, kTlsa).questions(2)).status, Status::Malformed);
}

TEST(TlsaAnswer, ARecordShorterThanItsParametersIsMalformed) {
  EXPECT_EQ(parse(Message(kName, kTlsa).rr(kName, kTlsa, {3, 1})).status, Status::Malformed);
  EXPECT_EQ(parse(Message(kName, kTlsa).rr(kName, kTlsa, {3, 1, 1})).records.size(), 1u);   // empty data
}

TEST(TlsaAnswer, EveryTruncationIsMalformed) {
  Bytes full = Message(kName, kTlsa).ad().tlsa(kName, 3, 1, 1, digest(7)).bytes();
  for (std::size_t n = 0; n < full.size(); ++n) {
    Bytes cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_EQ(to_string(parse(cut).status), "malformed") << n << " of " << full.size() << " bytes";
  }
  EXPECT_EQ(parse(Message(kName, kTlsa).overrun(kName, kTlsa)).status, Status::Malformed);
}

// A message with a compressed owner name: the answer's owner is a pointer to the question's name.
Bytes compressed(std::vector<unsigned char> owner) {
  Bytes m = Message(kName, kTlsa).bytes();
  m[7] = 1;   // ANCOUNT
  m.insert(m.end(), owner.begin(), owner.end());
  Bytes rest = {0, 52, 0, 1, 0, 0, 1, 44, 0, 35, 3, 1, 1};
  m.insert(m.end(), rest.begin(), rest.end());
  Bytes data = digest(9);
  m.insert(m.end(), data.begin(), data.end());
  return m;
}

TEST(TlsaAnswer, CompressionPointers) {
  // 0xc00c: the question's name right after the header.
  TlsaResult r = parse(compressed({0xc0, 0x0c}));
  ASSERT_EQ(r.status, Status::Ok);
  EXPECT_EQ(r.records[0].data, digest(9));
  // A pointer into the question's name: "mx.example.com" (after "_25" and "_tcp"), with labels before it.
  EXPECT_EQ(parse(compressed({3, '_', '2', '5', 4, '_', 't', 'c', 'p', 0xc0, 12 + 9})).status, Status::Ok);
  // Forward, onto itself, past the end, reserved label types: never followed.
  const std::size_t answer_at = Message(kName, kTlsa).bytes().size();
  auto at = [](std::size_t offset) { return Bytes{static_cast<unsigned char>(0xc0 | offset >> 8), static_cast<unsigned char>(offset)}; };
  EXPECT_EQ(parse(compressed(at(answer_at))).status, Status::Malformed);
  EXPECT_EQ(parse(compressed(at(answer_at + 40))).status, Status::Malformed);
  EXPECT_EQ(parse(compressed(at(0x3fff))).status, Status::Malformed);
  EXPECT_EQ(parse(compressed({0x40, 0x0c})).status, Status::Malformed);
  EXPECT_EQ(parse(compressed({0x80, 0x0c})).status, Status::Malformed);
}

TEST(TlsaAnswer, ALabelWithADotIsNotTwoLabels) {
  // The owner "mx.example" written as one label must not match the question's two labels.
  Bytes m = Message("_25._tcp.mx.example", kTlsa).bytes();
  m[7] = 1;
  Bytes owner = {3, '_', '2', '5', 4, '_', 't', 'c', 'p', 10, 'm', 'x', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0};
  m.insert(m.end(), owner.begin(), owner.end());
  Bytes rest = {0, 52, 0, 1, 0, 0, 1, 44, 0, 4, 3, 1, 1, 0xff};
  m.insert(m.end(), rest.begin(), rest.end());
  EXPECT_EQ(parse(m).status, Status::NoData);
}

TEST(TlsaAnswer, ANameLongerThan255BytesIsMalformed) {
  Bytes m = Message(kName, kTlsa).bytes();
  m[7] = 1;
  for (int i = 0; i < 5; ++i) {
    m.push_back(63);
    m.insert(m.end(), 63, 'a');
  }
  m.push_back(0);
  Bytes rest = {0, 52, 0, 1, 0, 0, 1, 44, 0, 3, 3, 1, 1};
  m.insert(m.end(), rest.begin(), rest.end());
  EXPECT_EQ(parse(m).status, Status::Malformed);
}

TEST(TlsaAnswer, OtherClassesAndTypesAreSkipped) {
  Message m(kName, kTlsa);
  m.rr(kName, 16, {3, 'a', 'b', 'c'});   // TXT at the same owner
  Bytes b = m.tlsa(kName, 3, 1, 1, digest(5)).bytes();
  EXPECT_EQ(parse(b).records.size(), 1u);
}

}  // namespace
}  // namespace mxguard::dns

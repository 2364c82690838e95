// Raw answers to results: the header decides between NXDOMAIN, NoData and failures, the c-ares helpers
// read the records, and nothing that failed ever comes out as "no record".
#include "policy/dns/answer.h"

#include <ares.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <algorithm>
#include <ostream>
#include <string>
#include <vector>

#include "policy/dns/tests/dns_message.h"
#include "policy/net/socket_address.h"
#include "policy/net/tests/socket_address_literal.h"

namespace mxguard::dns {
namespace {

using testing_support::kA;
using testing_support::kAaaa;
using testing_support::kMx;
using testing_support::kTxt;
using testing_support::Message;

MxResult mx(const Message& m) {
  auto b = m.bytes();
  return parse_mx_answer(ARES_SUCCESS, b);
}
TxtResult txt(const Message& m) {
  auto b = m.bytes();
  return parse_txt_answer(ARES_SUCCESS, b);
}
AddressResult addr(const Message& m, int family) {
  auto b = m.bytes();
  return parse_address_answer(ARES_SUCCESS, b, family);
}

std::vector<std::string> texts(const AddressResult& r) {
  std::vector<std::string> out;
  for (const auto& ss : r.addresses) out.push_back(policy::address_text(ss));
  return out;
}

TEST(AnswerHeader, ReadsFlagsAndCounts) {
  auto b = Message("example.com", kMx).ad().rcode(3).mx("example.com", 10, "mx.example.com").bytes();
  auto h = parse_header(b);
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->id, 0x1234);
  EXPECT_TRUE(h->response);
  EXPECT_TRUE(h->authenticated);
  EXPECT_FALSE(h->truncated);
  EXPECT_EQ(h->rcode, 3);
  EXPECT_EQ(h->qdcount, 1);
  EXPECT_EQ(h->ancount, 1);
  std::vector<unsigned char> short_message(11, 0);
  EXPECT_FALSE(parse_header(short_message).has_value());
}

TEST(MxAnswer, RecordsInAnswerOrder) {
  MxResult r = mx(Message("example.com", kMx)
                      .mx("example.com", 20, "b.example.com")
                      .mx("example.com", 10, "a.example.com"));
  EXPECT_EQ(r.status, Status::Ok);
  EXPECT_EQ(r.records, (std::vector<MxRecord>{{20, "b.example.com"}, {10, "a.example.com"}}));
  EXPECT_FALSE(r.authenticated_data);
}

TEST(MxAnswer, AdBitIsReported) {
  EXPECT_TRUE(mx(Message("example.com", kMx).ad().mx("example.com", 10, "mx.example.com")).authenticated_data);
}

TEST(MxAnswer, NullMxIsTheEmptyName) {
  MxResult r = mx(Message("example.com", kMx).mx("example.com", 0, ""));
  EXPECT_EQ(r.status, Status::Ok);
  EXPECT_EQ(r.records, (std::vector<MxRecord>{{0, ""}}));
}

TEST(MxAnswer, EmptyNoErrorIsNoData) {
  MxResult r = mx(Message("example.com", kMx).ad());
  EXPECT_EQ(r.status, Status::NoData);
  EXPECT_TRUE(r.records.empty());
  EXPECT_TRUE(r.authenticated_data);   // an authenticated denial of existence
}

TEST(MxAnswer, CnameWithoutMxIsNoData) {
  EXPECT_EQ(mx(Message("example.com", kMx).cname("example.com", "other.example")).status, Status::NoData);
}

TEST(MxAnswer, CnameThenMxIsOk) {
  MxResult r = mx(Message("example.com", kMx)
                      .cname("example.com", "other.example")
                      .mx("other.example", 5, "mx.other.example"));
  EXPECT_EQ(r.status, Status::Ok);
  EXPECT_EQ(r.records, (std::vector<MxRecord>{{5, "mx.other.example"}}));
}

TEST(MxAnswer, NxDomain) {
  MxResult r = mx(Message("example.com", kMx).rcode(3).ad());
  EXPECT_EQ(r.status, Status::NxDomain);
  EXPECT_TRUE(r.authenticated_data);
}

// The header's failures: each one is Temporary or Malformed, never NoData, and never authenticated.
struct FailureCase {
  const char* name;
  Message message;
  Status expected;
};

// ctest lists each case by this (instead of the struct's bytes).
void PrintTo(const FailureCase& c, std::ostream* os) { *os << c.name; }

class AnswerFailures : public testing::TestWithParam<FailureCase> {};

TEST_P(AnswerFailures, NeverNoData) {
  const FailureCase& c = GetParam();
  auto b = c.message.bytes();
  MxResult m = parse_mx_answer(ARES_SUCCESS, b);
  TxtResult t = parse_txt_answer(ARES_SUCCESS, b);
  AddressResult a = parse_address_answer(ARES_SUCCESS, b, AF_INET);
  AddressResult a6 = parse_address_answer(ARES_SUCCESS, b, AF_INET6);
  for (Status s : {m.status, t.status, a.status, a6.status}) EXPECT_EQ(to_string(s), to_string(c.expected));
  EXPECT_FALSE(m.authenticated_data || t.authenticated_data || a.authenticated_data || a6.authenticated_data);
  EXPECT_TRUE(m.records.empty() && t.records.empty() && a.addresses.empty() && a6.addresses.empty());
}

INSTANTIATE_TEST_SUITE_P(
    Answer, AnswerFailures,
    testing::Values(FailureCase{"ServFail", Message("x.example", kMx).rcode(2).ad(), Status::Temporary},
                    FailureCase{"Refused", Message("x.example", kMx).rcode(5), Status::Temporary},
                    FailureCase{"NotImp", Message("x.example", kMx).rcode(4), Status::Temporary},
                    FailureCase{"FormErr", Message("x.example", kMx).rcode(1), Status::Temporary},
                    FailureCase{"OtherRcode", Message("x.example", kMx).rcode(9), Status::Temporary},
                    FailureCase{"Truncated", Message("x.example", kMx).tc().ad(), Status::Temporary},
                    FailureCase{"NotAResponse", Message("x.example", kMx).query_not_response(), Status::Malformed},
                    FailureCase{"TwoQuestions", Message("x.example", kMx).questions(2), Status::Malformed},
                    FailureCase{"ZeroQuestions", Message("x.example", kMx).questions(0), Status::Malformed}),
    [](const testing::TestParamInfo<FailureCase>& info) { return info.param.name; });

TEST(Answer, TransportFailuresAreTemporary) {
  for (int status : {ARES_ETIMEOUT, ARES_ECONNREFUSED, ARES_ESERVFAIL, ARES_EREFUSED, ARES_ENOMEM,
                     ARES_ECANCELLED, ARES_EDESTRUCTION, ARES_ENOTIMP}) {
    EXPECT_EQ(parse_mx_answer(status, {}).status, Status::Temporary) << ares_strerror(status);
    EXPECT_EQ(parse_txt_answer(status, {}).status, Status::Temporary) << ares_strerror(status);
    EXPECT_EQ(parse_address_answer(status, {}, AF_INET6).status, Status::Temporary) << ares_strerror(status);
  }
  EXPECT_EQ(parse_mx_answer(ARES_EBADNAME, {}).status, Status::Malformed);
  EXPECT_EQ(parse_mx_answer(ARES_ENOTFOUND, {}).status, Status::NxDomain);
}

// What the operator reads when the DNS server is gone, silent or broken (the MX answer carries it to the
// log line and the 451): each transport failure says which, and an answer says nothing of the kind.
TEST(Answer, AFailedMxLookupSaysWhy) {
  EXPECT_EQ(parse_mx_answer(ARES_ETIMEOUT, {}).failure, "no answer from the DNS server (timeout)");
  EXPECT_EQ(parse_mx_answer(ARES_ECONNREFUSED, {}).failure,
            "the DNS server is unreachable (connection refused) or answered SERVFAIL or REFUSED");
  EXPECT_EQ(parse_mx_answer(ARES_ESERVFAIL, {}).failure, "the DNS server answered SERVFAIL");
  EXPECT_EQ(parse_mx_answer(ARES_EREFUSED, {}).failure, "the DNS server refused the query (REFUSED)");
  EXPECT_FALSE(parse_mx_answer(ARES_ECANCELLED, {}).failure.empty());
  EXPECT_EQ(parse_mx_answer(ARES_SUCCESS, Message("x.example", kMx).tc().bytes()).failure,
            "the answer was truncated, also over TCP");
  EXPECT_EQ(parse_mx_answer(ARES_SUCCESS, Message("x.example", kMx).query_not_response().bytes()).failure,
            "the answer cannot be read");
  EXPECT_EQ(parse_mx_answer(ARES_ENOTFOUND, {}).failure, "");
  EXPECT_EQ(parse_mx_answer(ARES_ENODATA, {}).failure, "");
}

TEST(Answer, TruncatedMessagesAreMalformed) {
  auto full = Message("example.com", kMx).mx("example.com", 10, "mx.example.com").bytes();
  for (std::size_t n : {std::size_t{0}, std::size_t{5}, std::size_t{12}, std::size_t{20}, full.size() - 3}) {
    std::vector<unsigned char> cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_EQ(parse_mx_answer(ARES_SUCCESS, cut).status, Status::Malformed) << n << " bytes";
  }
}

TEST(Answer, RecordOverrunningTheMessageIsMalformed) {
  EXPECT_EQ(mx(Message("example.com", kMx).overrun("example.com", kMx)).status, Status::Malformed);
  EXPECT_EQ(txt(Message("example.com", kTxt).overrun("example.com", kTxt)).status, Status::Malformed);
  EXPECT_EQ(addr(Message("example.com", kA).overrun("example.com", kA), AF_INET).status, Status::Malformed);
}

TEST(TxtAnswer, MultiStringRecordsConcatenateWithoutSpaces) {
  TxtResult r = txt(Message("_mta-sts.example.com", kTxt)
                        .txt("_mta-sts.example.com", {"v=STSv1;", " id=2024", "0101;"})
                        .txt("_mta-sts.example.com", {"second"}));
  EXPECT_EQ(r.status, Status::Ok);
  EXPECT_EQ(r.records, (std::vector<std::string>{"v=STSv1; id=20240101;", "second"}));
}

TEST(TxtAnswer, EmptyStringsAndBinaryBytesKept) {
  TxtResult r = txt(Message("t.example", kTxt)
                        .txt("t.example", {""})
                        .txt("t.example", {"", "a"})
                        .txt("t.example", {std::string_view("a\0b", 3)}));
  EXPECT_EQ(r.status, Status::Ok);
  EXPECT_EQ(r.records, (std::vector<std::string>{"", "a", std::string("a\0b", 3)}));
}

TEST(TxtAnswer, CnameThenTxt) {
  TxtResult r = txt(
      Message("alias.example", kTxt).ad().cname("alias.example", "t.example").txt("t.example", {"x", "y"}));
  EXPECT_EQ(r.status, Status::Ok);
  EXPECT_EQ(r.records, (std::vector<std::string>{"xy"}));
  EXPECT_TRUE(r.authenticated_data);
}

TEST(TxtAnswer, NoDataAndNxDomain) {
  EXPECT_EQ(txt(Message("t.example", kTxt)).status, Status::NoData);
  EXPECT_EQ(txt(Message("t.example", kTxt).cname("t.example", "u.example")).status, Status::NoData);
  EXPECT_EQ(txt(Message("t.example", kTxt).rcode(3)).status, Status::NxDomain);
}

TEST(AddressAnswer, IPv4) {
  AddressResult r =
      addr(Message("h.example", kA).a("h.example", {192, 0, 2, 1}).a("h.example", {192, 0, 2, 2}), AF_INET);
  EXPECT_EQ(r.status, Status::Ok);
  EXPECT_EQ(texts(r), (std::vector<std::string>{"192.0.2.1", "192.0.2.2"}));
  EXPECT_EQ(reinterpret_cast<const sockaddr_in*>(&r.addresses[0])->sin_port, 0);
}

TEST(AddressAnswer, IPv6) {
  std::vector<unsigned char> v6(16, 0);
  v6[0] = 0x20; v6[1] = 0x01; v6[2] = 0x0d; v6[3] = 0xb8; v6[15] = 1;
  AddressResult r = addr(Message("h.example", kAaaa).aaaa("h.example", v6), AF_INET6);
  EXPECT_EQ(r.status, Status::Ok);
  EXPECT_EQ(texts(r), (std::vector<std::string>{"2001:db8::1"}));
}

TEST(AddressAnswer, FollowsCnameAndIgnoresOtherNames) {
  AddressResult r = addr(Message("h.example", kA)
                             .cname("h.example", "real.example")
                             .a("real.example", {192, 0, 2, 7})
                             .a("unrelated.example", {192, 0, 2, 99}),
                         AF_INET);
  EXPECT_EQ(r.status, Status::Ok);
  EXPECT_EQ(texts(r), (std::vector<std::string>{"192.0.2.7"}));
}

TEST(AddressAnswer, ManyAddressesNoneDropped) {
  Message m("big.example", kA);
  for (int i = 0; i < 200; ++i) {
    m.a("big.example", {10, 0, static_cast<unsigned char>(i / 100), static_cast<unsigned char>(i % 100)});
  }
  EXPECT_EQ(addr(m, AF_INET).addresses.size(), 200u);
}

TEST(AddressAnswer, CnameOnlyIsNoData) {
  EXPECT_EQ(addr(Message("h.example", kA).cname("h.example", "x.example"), AF_INET).status, Status::NoData);
  EXPECT_EQ(addr(Message("h.example", kAaaa), AF_INET6).status, Status::NoData);
}

AddressResult result(Status s, std::vector<std::string> ips = {}, bool ad = false) {
  AddressResult r{s, {}, ad};
  for (const auto& ip : ips) r.addresses.push_back(policy::testing::socket_address(ip, 0));
  return r;
}

struct CombineCase {
  const char* name;
  AddressResult v6, v4;
  Status status;
  std::vector<std::string> ips;
  bool ad;
};

// ctest lists each case by this (instead of the struct's bytes).
void PrintTo(const CombineCase& c, std::ostream* os) { *os << c.name; }

class CombineTable : public testing::TestWithParam<CombineCase> {};

TEST_P(CombineTable, Combines) {
  const CombineCase& c = GetParam();
  AddressResult r = combine_addresses(c.v6, c.v4);
  EXPECT_EQ(to_string(r.status), to_string(c.status));
  EXPECT_EQ(texts(r), c.ips);
  EXPECT_EQ(r.authenticated_data, c.ad);
}

INSTANTIATE_TEST_SUITE_P(
    AddressAnswer, CombineTable,
    testing::Values(
        CombineCase{"Both", result(Status::Ok, {"::1"}, true), result(Status::Ok, {"127.0.0.1"}, true), Status::Ok,
                    {"::1", "127.0.0.1"}, true},
        CombineCase{"OnlyV4", result(Status::NoData, {}, true), result(Status::Ok, {"192.0.2.1"}, true), Status::Ok,
                    {"192.0.2.1"}, true},
        CombineCase{"OnlyV6", result(Status::Ok, {"2001:db8::1"}), result(Status::NoData), Status::Ok,
                    {"2001:db8::1"}, false},
        CombineCase{"V6FailedV4Works", result(Status::Temporary), result(Status::Ok, {"192.0.2.1"}, true), Status::Ok,
                    {"192.0.2.1"}, false},
        CombineCase{"V4MalformedV6Works", result(Status::Ok, {"::1"}, true), result(Status::Malformed), Status::Ok,
                    {"::1"}, false},
        CombineCase{"BothTemporary", result(Status::Temporary), result(Status::Temporary), Status::Temporary, {},
                    false},
        CombineCase{"TemporaryAndNoData", result(Status::Temporary), result(Status::NoData, {}, true),
                    Status::Temporary, {}, false},
        CombineCase{"NoDataAndTemporary", result(Status::NoData, {}, true), result(Status::Temporary),
                    Status::Temporary, {}, false},
        CombineCase{"TemporaryAndNxDomain", result(Status::Temporary), result(Status::NxDomain), Status::Temporary,
                    {}, false},
        CombineCase{"BothMalformed", result(Status::Malformed), result(Status::Malformed), Status::Malformed, {},
                    false},
        CombineCase{"MalformedAndTemporary", result(Status::Malformed), result(Status::Temporary), Status::Temporary,
                    {}, false},
        CombineCase{"MalformedAndNoData", result(Status::Malformed), result(Status::NoData), Status::Temporary, {},
                    false},
        CombineCase{"BothNxDomain", result(Status::NxDomain, {}, true), result(Status::NxDomain, {}, true),
                    Status::NxDomain, {}, true},
        CombineCase{"NxDomainAndNoData", result(Status::NxDomain), result(Status::NoData), Status::NxDomain, {},
                    false},
        CombineCase{"BothNoData", result(Status::NoData, {}, true), result(Status::NoData, {}, false), Status::NoData,
                    {}, false}),
    [](const testing::TestParamInfo<CombineCase>& info) { return info.param.name; });

}  // namespace
}  // namespace mxguard::dns

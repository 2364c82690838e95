// The selection of the one TXT record with a version tag, as MTA-STS (RFC 8461 §3.1) and TLS-RPT
// (RFC 8460 §3) both use it: every case either caller relied on before it moved here.
#include "policy/dns/version_record.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mxguard::dns {
namespace {

constexpr std::string_view kSts = "v=STSv1";
constexpr std::string_view kTlsrpt = "v=TLSRPTv1";

TEST(BeginsWithVersion, TheTagThenTheEndASemicolonOrWsp) {
  for (std::string_view tag : {kSts, kTlsrpt}) {
    std::string t(tag);
    EXPECT_TRUE(begins_with_version(t, tag));
    EXPECT_TRUE(begins_with_version(t + ";", tag));
    EXPECT_TRUE(begins_with_version(t + "; id=x", tag));
    EXPECT_TRUE(begins_with_version(t + " ; id=x", tag));
    EXPECT_TRUE(begins_with_version(t + "\t;id=x", tag));
    EXPECT_FALSE(begins_with_version(t + "0; id=x", tag)) << "v=STSv10 is another version";
    EXPECT_FALSE(begins_with_version(t + ", id=x", tag));
    EXPECT_FALSE(begins_with_version(t.substr(0, t.size() - 1), tag));
    EXPECT_FALSE(begins_with_version(" " + t + ";", tag)) << "nothing may precede the version";
    EXPECT_FALSE(begins_with_version("\"" + t + ";\"", tag)) << "quoted as in a zone file";
    EXPECT_FALSE(begins_with_version("", tag));
    EXPECT_FALSE(begins_with_version("v=spf1 -all", tag));
  }
  EXPECT_FALSE(begins_with_version("V=STSv1; id=x", kSts)) << "case-sensitive (%s in the ABNF)";
  EXPECT_FALSE(begins_with_version("v=tlsrptv1; rua=mailto:a@example.com", kTlsrpt));
  EXPECT_FALSE(begins_with_version("v=STSv1; id=x", kTlsrpt));
  EXPECT_FALSE(begins_with_version("v=TLSRPTv1; rua=mailto:a@example.com", kSts));
}

using Kind = VersionRecord::Kind;

struct SelectionCase {
  const char* name;
  Status status;
  std::vector<std::string> records;
  Kind kind;
  const char* text;    // One: the record selected
  std::size_t count;
};

void PrintTo(const SelectionCase& c, std::ostream* out) { *out << c.name; }

class SelectVersionRecord : public ::testing::TestWithParam<SelectionCase> {};

TEST_P(SelectVersionRecord, ExactlyOneRecordWithTheTag) {
  const SelectionCase& c = GetParam();
  TxtResult answer{c.status, c.records, false};
  VersionRecord found = select_version_record(answer, kSts);
  EXPECT_EQ(found.kind, c.kind);
  EXPECT_EQ(found.count, c.count);
  EXPECT_EQ(found.text, c.text ? std::string_view(c.text) : std::string_view());
}

INSTANTIATE_TEST_SUITE_P(
    Vectors, SelectVersionRecord,
    ::testing::Values(
        SelectionCase{"OneRecord", Status::Ok, {"v=STSv1; id=abc;"}, Kind::One, "v=STSv1; id=abc;", 1},
        // Other records at the same name (SPF, site verification) are discarded wherever they stand.
        SelectionCase{"SpfBeforeIt", Status::Ok, {"v=spf1 -all", "v=STSv1; id=abc"}, Kind::One, "v=STSv1; id=abc", 1},
        SelectionCase{"SpfAfterIt", Status::Ok, {"v=STSv1; id=abc", "v=spf1 -all"}, Kind::One, "v=STSv1; id=abc", 1},
        SelectionCase{"SiteVerificationAround", Status::Ok,
                      {"google-site-verification=abcdef", "v=STSv1; id=abc;", "MS=ms12345678"}, Kind::One,
                      "v=STSv1; id=abc;", 1},
        SelectionCase{"OtherVersionNextToIt", Status::Ok, {"v=STSv2; id=new", "v=STSv10; id=x", "v=STSv1; id=abc"},
                      Kind::One, "v=STSv1; id=abc", 1},
        SelectionCase{"OtherProtocolNextToIt", Status::Ok, {"v=TLSRPTv1; rua=mailto:a@example.com", "v=STSv1; id=abc"},
                      Kind::One, "v=STSv1; id=abc", 1},
        // The record is handed on as it is: whether it parses is its parser's business.
        SelectionCase{"OneBrokenRecord", Status::Ok, {"v=STSv1;"}, Kind::One, "v=STSv1;", 1},
        SelectionCase{"TrailingBytesKept", Status::Ok, {"v=STSv1; id=abc \n"}, Kind::One, "v=STSv1; id=abc \n", 1},
        // Counted before parsed: two are no record, even if only one would parse, even if both are equal.
        SelectionCase{"TwoRecords", Status::Ok, {"v=STSv1; id=abc", "v=STSv1; id=def"}, Kind::Several, nullptr, 2},
        SelectionCase{"TwoIdenticalRecords", Status::Ok, {"v=STSv1; id=abc", "v=STSv1; id=abc"}, Kind::Several,
                      nullptr, 2},
        SelectionCase{"TwoRecordsOneBroken", Status::Ok, {"v=STSv1; id=abc", "v=STSv1;"}, Kind::Several, nullptr, 2},
        SelectionCase{"ThreeRecords", Status::Ok, {"v=STSv1; id=a", "v=spf1 -all", "v=STSv1; id=b", "v=STSv1 ; id=c"},
                      Kind::Several, nullptr, 3},
        SelectionCase{"OnlySpf", Status::Ok, {"v=spf1 -all"}, Kind::None, nullptr, 0},
        SelectionCase{"OnlyOtherVersion", Status::Ok, {"v=STSv10; id=abc"}, Kind::None, nullptr, 0},
        SelectionCase{"OkWithoutRecords", Status::Ok, {}, Kind::None, nullptr, 0},
        SelectionCase{"NxDomain", Status::NxDomain, {}, Kind::None, nullptr, 0},
        SelectionCase{"NoData", Status::NoData, {}, Kind::None, nullptr, 0},
        // A failed lookup is never "nothing published", whatever it carried.
        SelectionCase{"Temporary", Status::Temporary, {}, Kind::Failed, nullptr, 0},
        SelectionCase{"TemporaryIgnoresRecords", Status::Temporary, {"v=STSv1; id=abc"}, Kind::Failed, nullptr, 0},
        SelectionCase{"Malformed", Status::Malformed, {}, Kind::Failed, nullptr, 0},
        SelectionCase{"MalformedIgnoresRecords", Status::Malformed, {"v=STSv1; id=abc"}, Kind::Failed, nullptr, 0}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(SelectVersionRecord, AMultiStringRecordArrivesConcatenated) {
  // The resolver joins a record's character-strings with nothing in between (records.h), so a record
  // split as "v=STSv1; id=" "abc" is one record here, and one split inside the tag is still selected.
  TxtResult answer{Status::Ok, {std::string("v=STSv1; id=") + "abc", std::string("v=TLS") + "RPTv1; rua=x"}, false};
  EXPECT_EQ(select_version_record(answer, kSts).text, "v=STSv1; id=abc");
  EXPECT_EQ(select_version_record(answer, kTlsrpt).text, "v=TLSRPTv1; rua=x");
}

TEST(SelectVersionRecord, TheTextIsTheAnswersOwnRecord) {
  TxtResult answer{Status::Ok, {"v=spf1 -all", "v=TLSRPTv1; rua=mailto:r@example.com"}, false};
  VersionRecord found = select_version_record(answer, kTlsrpt);
  ASSERT_EQ(found.kind, Kind::One);
  EXPECT_EQ(found.text.data(), answer.records[1].data());   // a view, no copy
}

}  // namespace
}  // namespace mxguard::dns

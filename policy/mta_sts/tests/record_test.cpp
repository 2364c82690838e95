// The _mta-sts TXT record (RFC 8461 §3.1): the parser of one record, and discovery over a whole answer.
#include "policy/mta_sts/record.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mxguard::mta_sts {
namespace {

// ---------------------------------------------------------------------------------------------------------
// parse_txt_record

struct RecordCase {
  const char* name;
  std::string text;
  const char* id;        // the id when valid, nullptr when invalid
  const char* problem;   // invalid only: a part of the message
};

// Test names and failure messages show the case, not its bytes.
void PrintTo(const RecordCase& c, std::ostream* out) { *out << c.name; }

class TxtRecordParse : public ::testing::TestWithParam<RecordCase> {};

TEST_P(TxtRecordParse, AcceptsOrRefuses) {
  const RecordCase& c = GetParam();
  auto parsed = parse_txt_record(c.text);
  if (c.id) {
    ASSERT_TRUE(std::holds_alternative<TxtRecord>(parsed)) << "refused: " << std::get<std::string>(parsed);
    EXPECT_EQ(std::get<TxtRecord>(parsed).id, c.id);
  } else {
    ASSERT_TRUE(std::holds_alternative<std::string>(parsed)) << "accepted with id " << std::get<TxtRecord>(parsed).id;
    EXPECT_NE(std::get<std::string>(parsed).find(c.problem), std::string::npos) << std::get<std::string>(parsed);
  }
}

const std::string k32(32, 'a');
const std::string k33(33, 'a');

INSTANTIATE_TEST_SUITE_P(
    Vectors, TxtRecordParse,
    ::testing::Values(
        // the RFC's example and its whitespace variants
        RecordCase{"RfcExample", "v=STSv1; id=20160831085700Z;", "20160831085700Z", nullptr},
        RecordCase{"NoTrailingSemicolon", "v=STSv1; id=20160831085700Z", "20160831085700Z", nullptr},
        RecordCase{"NoSpaces", "v=STSv1;id=abc", "abc", nullptr},
        RecordCase{"SpacesAroundEverySemicolon", "v=STSv1 ; id=abc ;", "abc", nullptr},
        RecordCase{"TabsAroundSemicolons", "v=STSv1\t;\tid=abc\t;\t", "abc", nullptr},
        RecordCase{"ManySpaces", "v=STSv1   ;   id=abc   ;   ", "abc", nullptr},
        RecordCase{"TrailingSpaceWithoutSemicolon", "v=STSv1; id=abc  ", "abc", nullptr},
        // the id: 1..32 ALPHA / DIGIT
        RecordCase{"IdOneCharacter", "v=STSv1; id=1", "1", nullptr},
        RecordCase{"Id32Characters", "v=STSv1; id=" + k32, k32.c_str(), nullptr},
        RecordCase{"IdMixedCaseKept", "v=STSv1; id=AbC123xYz", "AbC123xYz", nullptr},
        RecordCase{"Id33Characters", "v=STSv1; id=" + k33, nullptr, "not 1 to 32 letters and digits"},
        RecordCase{"IdEmpty", "v=STSv1; id=", nullptr, "not 1 to 32 letters and digits"},
        RecordCase{"IdWithHyphen", "v=STSv1; id=2016-08-31", nullptr, "not 1 to 32 letters and digits"},
        RecordCase{"IdWithDot", "v=STSv1; id=1.2", nullptr, "not 1 to 32 letters and digits"},
        RecordCase{"IdWithUnderscore", "v=STSv1; id=a_b", nullptr, "not 1 to 32 letters and digits"},
        RecordCase{"IdWithNonAscii", "v=STSv1; id=caf\xc3\xa9", nullptr, "not 1 to 32 letters and digits"},
        RecordCase{"IdWithEquals", "v=STSv1; id=a=b", nullptr, "not 1 to 32 letters and digits"},
        RecordCase{"IdWithInnerSpace", "v=STSv1; id=ab cd", nullptr, "where ';' should separate fields"},
        RecordCase{"IdWithNul", std::string("v=STSv1; id=ab\0cd", 17), nullptr, "not 1 to 32 letters and digits"},
        RecordCase{"IdMissing", "v=STSv1;", nullptr, "has no id field"},
        RecordCase{"IdMissingNothingAfterVersion", "v=STSv1", nullptr, "has no id field"},
        RecordCase{"IdMissingOnlyExtension", "v=STSv1; foo=bar", nullptr, "has no id field"},
        RecordCase{"IdUpperCaseIsAnExtension", "v=STSv1; ID=abc", nullptr, "\"id\" is lower-case"},
        RecordCase{"IdTwice", "v=STSv1; id=abc; id=abc", nullptr, "twice"},
        RecordCase{"IdTwiceDifferent", "v=STSv1; id=abc; id=def", nullptr, "twice"},
        // v=STSv1 must be first, exactly so spelt
        RecordCase{"VersionNotFirst", "id=abc; v=STSv1", nullptr, "does not start with"},
        RecordCase{"VersionAfterSpace", " v=STSv1; id=abc", nullptr, "does not start with"},
        RecordCase{"VersionLowerCase", "v=stsv1; id=abc", nullptr, "does not start with"},
        RecordCase{"VersionKeyUpperCase", "V=STSv1; id=abc", nullptr, "does not start with"},
        RecordCase{"VersionTwo", "v=STSv2; id=abc", nullptr, "does not start with"},
        RecordCase{"VersionTen", "v=STSv10; id=abc", nullptr, "does not start with"},
        RecordCase{"VersionTwice", "v=STSv1; v=STSv1; id=abc", nullptr, "twice"},
        RecordCase{"Empty", "", nullptr, "does not start with"},
        RecordCase{"Spf", "v=spf1 -all", nullptr, "does not start with"},
        // extension fields: well-formed ones are ignored, in any order
        RecordCase{"ExtensionAfterId", "v=STSv1; id=abc; foo=bar", "abc", nullptr},
        RecordCase{"ExtensionBeforeId", "v=STSv1; foo=bar; id=abc;", "abc", nullptr},
        RecordCase{"ExtensionNameCharacters", "v=STSv1; id=abc; a_b-c.d=1", "abc", nullptr},
        RecordCase{"ExtensionValuePunctuation", "v=STSv1; id=abc; x=!\"#$%&'()*+,-./:<>?@[\\]^_`{|}~", "abc", nullptr},
        RecordCase{"ExtensionName32", "v=STSv1; id=abc; " + k32 + "=1", "abc", nullptr},
        RecordCase{"ExtensionName33", "v=STSv1; id=abc; " + k33 + "=1", nullptr, "invalid field name"},
        RecordCase{"ExtensionNameStartsWithHyphen", "v=STSv1; id=abc; -x=1", nullptr, "invalid field name"},
        RecordCase{"ExtensionNameEmpty", "v=STSv1; id=abc; =1", nullptr, "invalid field name"},
        RecordCase{"ExtensionValueEmpty", "v=STSv1; id=abc; foo=", nullptr, "invalid value"},
        RecordCase{"ExtensionValueWithEquals", "v=STSv1; id=abc; foo=a=b", nullptr, "invalid value"},
        RecordCase{"ExtensionValueNonAscii", "v=STSv1; id=abc; foo=\xc3\xa9", nullptr, "invalid value"},
        RecordCase{"ExtensionValueControl", "v=STSv1; id=abc; foo=a\x01", nullptr, "invalid value"},
        RecordCase{"ExtensionWithoutEquals", "v=STSv1; id=abc; foo", nullptr, "without '='"},
        RecordCase{"ExtensionTwice", "v=STSv1; id=abc; foo=1; foo=2", nullptr, "twice"},
        RecordCase{"ExtensionNamesAreCaseSensitive", "v=STSv1; id=abc; foo=1; FOO=2", "abc", nullptr},
        // delimiters
        RecordCase{"EmptyField", "v=STSv1;; id=abc", nullptr, "empty field"},
        RecordCase{"EmptyFieldAtEnd", "v=STSv1; id=abc;;", nullptr, "empty field"},
        RecordCase{"MissingSemicolon", "v=STSv1 id=abc", nullptr, "where ';' should separate fields"},
        RecordCase{"CommaInsteadOfSemicolon", "v=STSv1, id=abc", nullptr, "does not start with"},
        RecordCase{"FieldsWithoutSemicolon", "v=STSv1; id=abc foo=bar", nullptr, "where ';' should separate fields"},
        RecordCase{"SpaceAroundEquals", "v=STSv1; id = abc", nullptr, "without '='"},
        RecordCase{"NewlineAtEnd", "v=STSv1; id=abc\n", nullptr, "not 1 to 32 letters and digits"},
        RecordCase{"QuotedLikeAZoneFile", "\"v=STSv1; id=abc;\"", nullptr, "does not start with"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(TxtRecordParse, ProblemsAreLogSafe) {
  auto parsed = parse_txt_record("v=STSv1; id=abc; \x1b[31m=1");
  ASSERT_TRUE(std::holds_alternative<std::string>(parsed));
  for (char c : std::get<std::string>(parsed)) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << std::get<std::string>(parsed);
}

TEST(TxtRecordSelection, BeginsWithStsVersion) {
  EXPECT_TRUE(begins_with_sts_version("v=STSv1"));
  EXPECT_TRUE(begins_with_sts_version("v=STSv1;"));
  EXPECT_TRUE(begins_with_sts_version("v=STSv1 ; id=x"));
  EXPECT_TRUE(begins_with_sts_version("v=STSv1\t;id=x"));
  EXPECT_FALSE(begins_with_sts_version("v=STSv10; id=x"));
  EXPECT_FALSE(begins_with_sts_version("v=STSv"));
  EXPECT_FALSE(begins_with_sts_version(" v=STSv1;"));
  EXPECT_FALSE(begins_with_sts_version("v=spf1 -all"));
  EXPECT_FALSE(begins_with_sts_version(""));
}

// ---------------------------------------------------------------------------------------------------------
// discover

using Kind = Discovery::Kind;

struct DiscoveryCase {
  const char* name;
  dns::Status status;
  std::vector<std::string> records;
  Kind kind;
  const char* id;       // Published
  const char* detail;   // Invalid / Temporary: a part of the detail
};

void PrintTo(const DiscoveryCase& c, std::ostream* out) { *out << c.name; }

class Discover : public ::testing::TestWithParam<DiscoveryCase> {};

TEST_P(Discover, SelectsExactlyOneRecord) {
  const DiscoveryCase& c = GetParam();
  dns::TxtResult answer;
  answer.status = c.status;
  answer.records = c.records;
  Discovery d = discover(answer);
  EXPECT_EQ(d.kind, c.kind) << d.detail;
  if (c.kind == Kind::Published) {
    EXPECT_EQ(d.id, c.id);
    EXPECT_EQ(d.detail, "");
  } else {
    EXPECT_EQ(d.id, "");
  }
  if (c.detail) {
    EXPECT_NE(d.detail.find(c.detail), std::string::npos) << d.detail;
  }
}

using dns::Status;

INSTANTIATE_TEST_SUITE_P(
    Vectors, Discover,
    ::testing::Values(
        DiscoveryCase{"OneRecord", Status::Ok, {"v=STSv1; id=20160831085700Z;"}, Kind::Published, "20160831085700Z", nullptr},
        // A domain's other TXT records (SPF, site verification) share the name only if the operator put
        // them at _mta-sts, but some do: they must not make discovery fail.
        DiscoveryCase{"SpfNextToIt", Status::Ok, {"v=spf1 -all", "v=STSv1; id=abc"}, Kind::Published, "abc", nullptr},
        DiscoveryCase{"SpfAfterIt", Status::Ok, {"v=STSv1; id=abc", "v=spf1 -all"}, Kind::Published, "abc", nullptr},
        DiscoveryCase{"SiteVerificationNextToIt", Status::Ok,
                      {"google-site-verification=abcdef", "v=STSv1; id=abc;", "MS=ms12345678"}, Kind::Published, "abc",
                      nullptr},
        DiscoveryCase{"OtherVersionNextToIt", Status::Ok, {"v=STSv2; id=new", "v=STSv1; id=abc"}, Kind::Published, "abc",
                      nullptr},
        DiscoveryCase{"TwoRecords", Status::Ok, {"v=STSv1; id=abc", "v=STSv1; id=def"}, Kind::Invalid, nullptr,
                      "2 records start with v=STSv1"},
        DiscoveryCase{"TwoIdenticalRecords", Status::Ok, {"v=STSv1; id=abc", "v=STSv1; id=abc"}, Kind::Invalid, nullptr,
                      "2 records"},
        DiscoveryCase{"TwoRecordsOneBroken", Status::Ok, {"v=STSv1; id=abc", "v=STSv1;"}, Kind::Invalid, nullptr,
                      "2 records"},
        DiscoveryCase{"ThreeRecords", Status::Ok, {"v=STSv1; id=a", "v=STSv1; id=b", "v=STSv1 ; id=c"}, Kind::Invalid,
                      nullptr, "3 records"},
        DiscoveryCase{"OneBrokenRecord", Status::Ok, {"v=STSv1; id=" + std::string(33, '1')}, Kind::Invalid, nullptr,
                      "the record has the id"},
        DiscoveryCase{"OneRecordWithoutId", Status::Ok, {"v=STSv1;", "v=spf1 -all"}, Kind::Invalid, nullptr,
                      "the record has no id field"},
        DiscoveryCase{"OnlySpf", Status::Ok, {"v=spf1 -all"}, Kind::None, nullptr, nullptr},
        DiscoveryCase{"OnlyOtherVersion", Status::Ok, {"v=STSv10; id=abc"}, Kind::None, nullptr, nullptr},
        DiscoveryCase{"OkWithoutRecords", Status::Ok, {}, Kind::None, nullptr, nullptr},
        DiscoveryCase{"NxDomain", Status::NxDomain, {}, Kind::None, nullptr, nullptr},
        DiscoveryCase{"NoData", Status::NoData, {}, Kind::None, nullptr, nullptr},
        // A failed lookup is never "no policy": that would let a dropped packet remove MTA-STS.
        DiscoveryCase{"ServFail", Status::Temporary, {}, Kind::Temporary, nullptr, "lookup failed"},
        DiscoveryCase{"ServFailIgnoresRecords", Status::Temporary, {"v=STSv1; id=abc"}, Kind::Temporary, nullptr, nullptr},
        DiscoveryCase{"MalformedAnswer", Status::Malformed, {}, Kind::Temporary, nullptr, "could not be read"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Discover, MultiStringRecordArrivesConcatenated) {
  // The resolver joins a record's character-strings with nothing in between (records.h), so a record
  // split as "v=STSv1; id=" "abc" reaches discover() as one string.
  dns::TxtResult answer{Status::Ok, {std::string("v=STSv1; id=") + "abc"}, false};
  EXPECT_EQ(discover(answer).id, "abc");
}

}  // namespace
}  // namespace mxguard::mta_sts

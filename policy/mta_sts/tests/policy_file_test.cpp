// The MTA-STS policy file (RFC 8461 §3.2): parse_policy over good and bad bodies, one named case each.
// The Content-Type check, the MX check (§4.1) and the small helpers are in policy_helpers_test.cpp.
#include "policy/mta_sts/policy_file.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mxguard::mta_sts {
namespace {

// Joins `lines`, each followed by `eol`.
std::string text(const std::vector<std::string>& lines, const std::string& eol = "\n") {
  std::string out;
  for (const std::string& line : lines) out += line + eol;
  return out;
}

// A good enforce policy whose one mx line has the value `mx`.
std::string with_mx(const std::string& mx) {
  return text({"version: STSv1", "mode: enforce", "mx: " + mx, "max_age: 86400"});
}
// A good enforce policy whose max_age line has the value `max_age` (everything after "max_age:").
std::string with_max_age(const std::string& max_age) {
  return text({"version: STSv1", "mode: enforce", "mx: mx.example.com", "max_age:" + max_age});
}
// A good enforce policy with `line` added at the end.
std::string plus(const std::string& line) {
  return text({"version: STSv1", "mode: enforce", "mx: mx.example.com", "max_age: 86400", line});
}

struct Expect {
  bool valid = false;
  Mode mode = Mode::None;
  std::vector<std::string> mx;
  std::uint32_t max_age = 0;
  std::string problem;   // invalid: a part of the message
};
Expect valid(Mode mode, std::vector<std::string> mx, std::uint32_t max_age) { return {true, mode, std::move(mx), max_age, {}}; }
Expect enforce_mx(std::vector<std::string> mx) { return valid(Mode::Enforce, std::move(mx), 86400); }
Expect enforce_age(std::uint32_t max_age) { return valid(Mode::Enforce, {"mx.example.com"}, max_age); }
const Expect kGood = enforce_mx({"mx.example.com"});
Expect invalid(std::string problem) { return {false, Mode::None, {}, 0, std::move(problem)}; }

struct PolicyCase {
  const char* name;
  std::string body;
  Expect expect;
};

// Test names and failure messages show the case, not its bytes.
void PrintTo(const PolicyCase& c, std::ostream* out) { *out << c.name; }

class ParsePolicy : public ::testing::TestWithParam<PolicyCase> {};

TEST_P(ParsePolicy, AcceptsOrRefuses) {
  const PolicyCase& c = GetParam();
  auto parsed = parse_policy(c.body);
  if (c.expect.valid) {
    ASSERT_TRUE(std::holds_alternative<Policy>(parsed)) << "refused: the policy " << std::get<std::string>(parsed);
    const Policy& p = std::get<Policy>(parsed);
    EXPECT_EQ(p.mode, c.expect.mode);
    EXPECT_EQ(p.mx, c.expect.mx);
    EXPECT_EQ(p.max_age, c.expect.max_age);
    EXPECT_EQ(p.text, c.body);
  } else {
    ASSERT_TRUE(std::holds_alternative<std::string>(parsed)) << "accepted";
    const std::string& problem = std::get<std::string>(parsed);
    EXPECT_NE(problem.find(c.expect.problem), std::string::npos) << "the policy " << problem;
    for (char ch : problem) EXPECT_TRUE(ch >= 0x20 && ch < 0x7f) << "not log-safe: " << problem;
  }
}

const std::string kRfcExample = text(
    {"version: STSv1", "mode: enforce", "mx: mail.example.com", "mx: *.example.net", "mx: backupmx.example.com",
     "max_age: 604800"});
const Expect kRfcExpect = valid(Mode::Enforce, {"mail.example.com", "*.example.net", "backupmx.example.com"}, 604800);

INSTANTIATE_TEST_SUITE_P(
    Good, ParsePolicy,
    ::testing::Values(
        PolicyCase{"RfcExample", kRfcExample, kRfcExpect},
        // line ends: LF, CRLF, mixed, and a last line without one
        PolicyCase{"Crlf", text({"version: STSv1", "mode: enforce", "mx: mail.example.com", "mx: *.example.net",
                                 "mx: backupmx.example.com", "max_age: 604800"}, "\r\n"), kRfcExpect},
        PolicyCase{"MixedLineEnds", "version: STSv1\r\nmode: enforce\nmx: mail.example.com\r\nmx: *.example.net\n"
                                    "mx: backupmx.example.com\r\nmax_age: 604800\n", kRfcExpect},
        PolicyCase{"LastLineWithoutLineEnd", "version: STSv1\nmode: enforce\nmx: mx.example.com\nmax_age: 86400", kGood},
        PolicyCase{"LastLineWithoutLineEndCrlf", "version: STSv1\r\nmode: enforce\r\nmx: mx.example.com\r\nmax_age: 86400",
                   kGood},
        PolicyCase{"LastLineIsMx", "version: STSv1\nmode: enforce\nmax_age: 86400\nmx: mx.example.com", kGood},
        PolicyCase{"FieldsInAnyOrder", text({"max_age: 86400", "mx: mx.example.com", "mode: enforce", "version: STSv1"}),
                   kGood},
        // modes
        PolicyCase{"Testing", text({"version: STSv1", "mode: testing", "mx: *.example.com", "max_age: 604800"}),
                   valid(Mode::Testing, {"*.example.com"}, 604800)},
        PolicyCase{"NoneWithoutMx", text({"version: STSv1", "mode: none", "max_age: 86400"}), valid(Mode::None, {}, 86400)},
        PolicyCase{"NoneWithMx", text({"version: STSv1", "mode: none", "mx: mx.example.com", "max_age: 86400"}),
                   valid(Mode::None, {"mx.example.com"}, 86400)},
        PolicyCase{"NoneDropsInvalidMx", text({"version: STSv1", "mode: none", "mx: 192.0.2.1", "mx: mx.example.com",
                                               "mx: *mx.example.com", "max_age: 86400"}),
                   valid(Mode::None, {"mx.example.com"}, 86400)},
        PolicyCase{"NoneDeclaredAfterInvalidMx", text({"version: STSv1", "mx: [192.0.2.1]", "mode: none", "max_age: 1"}),
                   valid(Mode::None, {}, 1)},
        // whitespace around values
        PolicyCase{"NoSpaceAfterColon", text({"version:STSv1", "mode:enforce", "mx:mx.example.com", "max_age:86400"}), kGood},
        PolicyCase{"TabsAfterColon", text({"version:\tSTSv1", "mode:\t enforce", "mx: \tmx.example.com", "max_age:\t86400"}),
                   kGood},
        PolicyCase{"ManySpacesAfterColon", text({"version:     STSv1", "mode:  enforce", "mx:   mx.example.com",
                                                 "max_age:        86400"}), kGood},
        PolicyCase{"TrailingWhitespace", text({"version: STSv1 ", "mode: enforce\t", "mx: mx.example.com \t ",
                                               "max_age: 86400   "}), kGood},
        PolicyCase{"TrailingWhitespaceCrlf", text({"version: STSv1 ", "mode: enforce\t", "mx: mx.example.com  ",
                                                   "max_age: 86400 "}, "\r\n"), kGood},
        // blank lines carry nothing
        PolicyCase{"BlankLinesBetween", "version: STSv1\n\nmode: enforce\n   \nmx: mx.example.com\n\t\nmax_age: 86400\n",
                   kGood},
        PolicyCase{"TrailingBlankLines", text({"version: STSv1", "mode: enforce", "mx: mx.example.com", "max_age: 86400",
                                               "", ""}), kGood},
        PolicyCase{"LeadingBlankLineCrlf", "\r\nversion: STSv1\r\nmode: enforce\r\nmx: mx.example.com\r\nmax_age: 86400\r\n",
                   kGood},
        // unknown keys are ignored, whatever they say
        PolicyCase{"UnknownKey", plus("foo: bar"), kGood},
        PolicyCase{"UnknownKeysEverywhere", text({"x-first: 1", "version: STSv1", "comment: policy for example.com",
                                                  "mode: enforce", "mx: mx.example.com", "max_age: 86400", "a_b-c.d: e"}),
                   kGood},
        PolicyCase{"UnknownKeyWithPunctuation", plus("note: a; b = c: d, \"e\" #f"), kGood},
        PolicyCase{"UnknownKeyWithUtf8", plus("description: caf\xc3\xa9 \xe2\x98\x95 \xf0\x9f\x98\x80"), kGood},
        PolicyCase{"UnknownKeyName32", plus(std::string(32, 'k') + ": v"), kGood},
        PolicyCase{"UnknownKeyLooksLikeMx", plus("mxx: other.example.com"), kGood},
        PolicyCase{"KeyUpperCaseIsUnknown", plus("MX: other.example.com"), kGood},
        PolicyCase{"VeryLongUnknownLine", plus("padding: " + std::string(60000, 'x')), kGood},
        PolicyCase{"ExactlyTheSizeLimit",
                   [] {
                     std::string body = plus("padding: ");
                     body.insert(body.size() - 1, kMaxPolicyBytes - body.size(), 'x');
                     return body;
                   }(),
                   kGood},
        // mx values: host names and one-label wildcards, lower-cased, a trailing dot dropped
        PolicyCase{"MxUpperCase", with_mx("MX.Example.COM"), kGood},
        PolicyCase{"MxTrailingDot", with_mx("mx.example.com."), kGood},
        PolicyCase{"MxWildcard", with_mx("*.example.com"), enforce_mx({"*.example.com"})},
        PolicyCase{"MxWildcardUpperCaseTrailingDot", with_mx("*.EXAMPLE.com."), enforce_mx({"*.example.com"})},
        PolicyCase{"MxALabel", with_mx("xn--bcher-kva.example"), enforce_mx({"xn--bcher-kva.example"})},
        PolicyCase{"MxSingleLabel", with_mx("localhost"), enforce_mx({"localhost"})},
        PolicyCase{"MxDigitsInLabels", with_mx("mx1.123.example.com"), enforce_mx({"mx1.123.example.com"})},
        PolicyCase{"MxHyphens", with_mx("mx-1.ex-ample.com"), enforce_mx({"mx-1.ex-ample.com"})},
        PolicyCase{"MxLabel63", with_mx(std::string(63, 'a') + ".example.com"),
                   enforce_mx({std::string(63, 'a') + ".example.com"})},
        PolicyCase{"MxRepeatedKeepsFileOrder", text({"version: STSv1", "mode: enforce", "mx: b.example.com",
                                                     "max_age: 86400", "mx: a.example.com", "mx: b.example.com"}),
                   enforce_mx({"b.example.com", "a.example.com", "b.example.com"})},
        // the first of a duplicated key wins, even over a later valid one
        PolicyCase{"FirstModeWins", text({"version: STSv1", "mode: testing", "mode: enforce", "mx: mx.example.com",
                                          "max_age: 86400"}), valid(Mode::Testing, {"mx.example.com"}, 86400)},
        PolicyCase{"FirstModeWinsOverInvalidLater", text({"version: STSv1", "mode: enforce", "mode: bogus",
                                                          "mx: mx.example.com", "max_age: 86400"}), kGood},
        PolicyCase{"FirstMaxAgeWins", text({"version: STSv1", "mode: enforce", "mx: mx.example.com", "max_age: 86400",
                                            "max_age: 31557600"}), kGood},
        PolicyCase{"FirstMaxAgeWinsOverInvalidLater", text({"version: STSv1", "mode: enforce", "mx: mx.example.com",
                                                            "max_age: 86400", "max_age: forever"}), kGood},
        PolicyCase{"FirstVersionWins", text({"version: STSv1", "version: STSv2", "mode: enforce", "mx: mx.example.com",
                                             "max_age: 86400"}), kGood},
        // max_age: 1..10 digits, at most a year
        PolicyCase{"MaxAgeZero", with_max_age(" 0"), enforce_age(0)},
        PolicyCase{"MaxAgeOne", with_max_age(" 1"), enforce_age(1)},
        PolicyCase{"MaxAgeAtTheLimit", with_max_age(" 31557600"), enforce_age(31557600)},
        PolicyCase{"MaxAgeLeadingZeros", with_max_age(" 0000604800"), enforce_age(604800)},
        PolicyCase{"MaxAgeTenDigitsAtTheLimit", with_max_age(" 0031557600"), enforce_age(31557600)}),
    [](const auto& info) { return std::string(info.param.name); });

std::string with_mode(const std::string& mode) {
  return text({"version: STSv1", "mode: " + mode, "mx: mx.example.com", "max_age: 86400"});
}
std::string with_version(const std::string& version) {
  return text({"version: " + version, "mode: enforce", "mx: mx.example.com", "max_age: 86400"});
}
const char* const kNotHost = "which is not a host name";

INSTANTIATE_TEST_SUITE_P(
    Bad, ParsePolicy,
    ::testing::Values(
        // the whole body
        PolicyCase{"Empty", "", invalid("is empty")},
        PolicyCase{"OnlyBlankLines", "\n\r\n  \n", invalid("has no version")},
        PolicyCase{"OverTheSizeLimit", plus("padding: " + std::string(kMaxPolicyBytes, 'x')),
                   invalid("is larger than 65536 bytes")},
        PolicyCase{"ByteOrderMark", "\xef\xbb\xbf" + with_mx("mx.example.com"), invalid("byte order mark")},
        PolicyCase{"HtmlErrorPage", "<html><body><h1>404 Not Found</h1></body></html>\n", invalid("has no ':' on line 1")},
        PolicyCase{"Json", "{\"version\": \"STSv1\", \"mode\": \"enforce\"}\n", invalid("invalid field name")},
        PolicyCase{"TxtRecordInstead", "v=STSv1; id=20160831085700Z;\n", invalid("has no ':' on line 1")},
        // required fields
        PolicyCase{"NoVersion", text({"mode: enforce", "mx: mx.example.com", "max_age: 86400"}), invalid("has no version")},
        PolicyCase{"NoMode", text({"version: STSv1", "mx: mx.example.com", "max_age: 86400"}), invalid("has no mode")},
        PolicyCase{"NoMaxAge", text({"version: STSv1", "mode: enforce", "mx: mx.example.com"}), invalid("has no max_age")},
        PolicyCase{"NoMxEnforce", text({"version: STSv1", "mode: enforce", "max_age: 86400"}),
                   invalid("has no mx, which mode enforce requires")},
        PolicyCase{"NoMxTesting", text({"version: STSv1", "mode: testing", "max_age: 86400"}),
                   invalid("has no mx, which mode testing requires")},
        // A misspelt "mx" is an unknown key: the policy has no MX, and enforce with no MX is never "any MX".
        PolicyCase{"NmxTypoEnforce", text({"version: STSv1", "mode: enforce", "nmx: mx.example.com", "max_age: 86400"}),
                   invalid("has no mx, which mode enforce requires")},
        PolicyCase{"MxsTypoTesting", text({"version: STSv1", "mode: testing", "mxs: mx.example.com", "max_age: 86400"}),
                   invalid("has no mx")},
        PolicyCase{"MxUpperCaseOnly", text({"version: STSv1", "mode: enforce", "MX: mx.example.com", "max_age: 86400"}),
                   invalid("has no mx, which mode enforce requires (\"MX\" on line 3: field names are lower-case)")},
        PolicyCase{"ModeKeyCapitalised", text({"version: STSv1", "Mode: enforce", "mx: mx.example.com", "max_age: 86400"}),
                   invalid("has no mode (\"Mode\" on line 2: field names are lower-case)")},
        PolicyCase{"VersionKeyUpperCase", text({"VERSION: STSv1", "mode: enforce", "mx: mx.example.com", "max_age: 86400"}),
                   invalid("has no version (\"VERSION\"")},
        // version
        PolicyCase{"VersionTwo", with_version("STSv2"), invalid("has the version \"STSv2\", not STSv1")},
        PolicyCase{"VersionLowerCase", with_version("stsv1"), invalid("not STSv1")},
        PolicyCase{"VersionWithSemicolon", with_version("STSv1;"), invalid("not STSv1")},
        PolicyCase{"VersionWithComment", with_version("STSv1 # current"), invalid("not STSv1")},
        PolicyCase{"VersionEmpty", with_version(""), invalid("has no value in \"version\" on line 1")},
        PolicyCase{"FirstVersionInvalid", text({"version: STSv2", "version: STSv1", "mode: enforce", "mx: mx.example.com",
                                                "max_age: 86400"}), invalid("not STSv1")},
        // mode
        PolicyCase{"ModeCapitalised", with_mode("Enforce"), invalid("has the mode \"Enforce\" (enforce, testing or none)")},
        PolicyCase{"ModeUpperCase", with_mode("TESTING"), invalid("has the mode")},
        PolicyCase{"ModeReportFromOldDrafts", with_mode("report"), invalid("has the mode \"report\"")},
        PolicyCase{"ModeEnforcing", with_mode("enforcing"), invalid("has the mode")},
        PolicyCase{"ModeTwoWords", with_mode("enforce testing"), invalid("has the mode")},
        PolicyCase{"ModeEmpty", with_mode(""), invalid("has no value in \"mode\"")},
        PolicyCase{"FirstModeInvalid", text({"version: STSv1", "mode: bogus", "mode: enforce", "mx: mx.example.com",
                                             "max_age: 86400"}), invalid("has the mode \"bogus\"")},
        // max_age
        PolicyCase{"MaxAgeOverTheLimit", with_max_age(" 31557601"), invalid("has the max_age 31557601, over one year")},
        PolicyCase{"MaxAgeTenNines", with_max_age(" 9999999999"), invalid("over one year (31557600)")},
        PolicyCase{"MaxAgeElevenDigits", with_max_age(" 00000604800"), invalid("not 1 to 10 digits")},
        PolicyCase{"MaxAgeHuge", with_max_age(" 99999999999999999999999"), invalid("not 1 to 10 digits")},
        PolicyCase{"MaxAgeEmpty", with_max_age(""), invalid("has no value in \"max_age\"")},
        PolicyCase{"MaxAgeOnlySpaces", with_max_age("   "), invalid("has no value in \"max_age\"")},
        PolicyCase{"MaxAgeNegative", with_max_age(" -1"), invalid("has the max_age \"-1\", not 1 to 10 digits")},
        PolicyCase{"MaxAgePlus", with_max_age(" +86400"), invalid("not 1 to 10 digits")},
        PolicyCase{"MaxAgeWord", with_max_age(" one week"), invalid("not 1 to 10 digits")},
        PolicyCase{"MaxAgeUnit", with_max_age(" 86400s"), invalid("not 1 to 10 digits")},
        PolicyCase{"MaxAgeDecimal", with_max_age(" 86400.0"), invalid("not 1 to 10 digits")},
        PolicyCase{"MaxAgeExponent", with_max_age(" 1e6"), invalid("not 1 to 10 digits")},
        PolicyCase{"MaxAgeHex", with_max_age(" 0x15180"), invalid("not 1 to 10 digits")},
        PolicyCase{"MaxAgeInnerSpace", with_max_age(" 86 400"), invalid("not 1 to 10 digits")},
        PolicyCase{"MaxAgeArabicIndicDigits", with_max_age(" \xd9\xa1\xd9\xa2"), invalid("not 1 to 10 digits")},
        PolicyCase{"FirstMaxAgeInvalid", text({"version: STSv1", "mode: enforce", "mx: mx.example.com", "max_age: -5",
                                               "max_age: 86400"}), invalid("has the max_age \"-5\"")},
        // mx values that are not host names or "*." patterns
        PolicyCase{"MxEmpty", with_mx(""), invalid("has no value in \"mx\" on line 3")},
        PolicyCase{"MxOnlySpaces", text({"version: STSv1", "mode: enforce", "mx:    ", "max_age: 86400"}),
                   invalid("has no value in \"mx\"")},
        PolicyCase{"MxIpv4", with_mx("192.0.2.1"), invalid("looks like an IP address")},
        PolicyCase{"MxIpv4Bracketed", with_mx("[192.0.2.1]"), invalid("looks like an IP address")},
        PolicyCase{"MxIpv6", with_mx("2001:db8::25"), invalid("looks like an IP address")},
        PolicyCase{"MxWithPort", with_mx("mx.example.com:25"), invalid(kNotHost)},
        PolicyCase{"MxWildcardWithoutDot", with_mx("*mx.example.com"), invalid("left-most label")},
        PolicyCase{"MxWildcardInside", with_mx("mx.*.example.com"), invalid("left-most label")},
        PolicyCase{"MxWildcardPartialLabel", with_mx("mx*.example.com"), invalid("left-most label")},
        PolicyCase{"MxTwoWildcards", with_mx("*.*.example.com"), invalid("left-most label")},
        PolicyCase{"MxWildcardAlone", with_mx("*"), invalid("left-most label")},
        PolicyCase{"MxWildcardDotAlone", with_mx("*."), invalid(kNotHost)},
        PolicyCase{"MxRootAlone", with_mx("."), invalid(kNotHost)},
        PolicyCase{"MxTwoTrailingDots", with_mx("mx.example.com.."), invalid("must not end with a dot")},
        PolicyCase{"MxLeadingDot", with_mx(".example.com"), invalid("empty label")},
        PolicyCase{"MxEmptyLabel", with_mx("mx..example.com"), invalid("empty label")},
        PolicyCase{"MxLabel64", with_mx(std::string(64, 'a') + ".example.com"), invalid("longer than 63")},
        PolicyCase{"MxNameOver253", with_mx(std::string(60, 'a') + "." + std::string(60, 'b') + "." +
                                            std::string(60, 'c') + "." + std::string(60, 'd') + ".example.com"),
                   invalid("longer than 253")},
        PolicyCase{"MxHyphenAtLabelStart", with_mx("-mx.example.com"), invalid("starts or ends with '-'")},
        PolicyCase{"MxUnderscore", with_mx("mx_1.example.com"), invalid(kNotHost)},
        PolicyCase{"MxTwoNamesOnOneLine", with_mx("mx1.example.com mx2.example.com"), invalid(kNotHost)},
        PolicyCase{"MxCommaList", with_mx("mx1.example.com,mx2.example.com"), invalid(kNotHost)},
        PolicyCase{"MxULabel", with_mx("b\xc3\xbc" "cher.example"), invalid("not ASCII")},
        PolicyCase{"MxUrl", with_mx("smtp://mx.example.com"), invalid(kNotHost)},
        PolicyCase{"MxEmailAddress", with_mx("postmaster@example.com"), invalid(kNotHost)},
        PolicyCase{"OneBadMxAmongGood", text({"version: STSv1", "mode: enforce", "mx: mx1.example.com", "mx: 192.0.2.1",
                                              "mx: mx2.example.com", "max_age: 86400"}),
                   invalid("has the mx \"192.0.2.1\" on line 4")},
        PolicyCase{"BadMxInTesting", text({"version: STSv1", "mode: testing", "mx: *mx.example.com", "max_age: 86400"}),
                   invalid(kNotHost)},
        // lines that are not "key: value"
        PolicyCase{"NoColon", text({"version: STSv1", "mode enforce", "mx: mx.example.com", "max_age: 86400"}),
                   invalid("has no ':' on line 2")},
        PolicyCase{"SpaceBeforeColon", text({"version: STSv1", "mode: enforce", "mx : mx.example.com", "max_age: 86400"}),
                   invalid("has whitespace before ':' on line 3")},
        PolicyCase{"TabBeforeColon", text({"version\t: STSv1", "mode: enforce", "mx: mx.example.com", "max_age: 86400"}),
                   invalid("has whitespace before ':' on line 1")},
        PolicyCase{"SpacesAroundColon", text({"version: STSv1", "mode : enforce", "mx: mx.example.com", "max_age: 86400"}),
                   invalid("whitespace before ':'")},
        PolicyCase{"LeadingSpace", text({"version: STSv1", " mode: enforce", "mx: mx.example.com", "max_age: 86400"}),
                   invalid("has an invalid field name \" mode\" on line 2")},
        PolicyCase{"LeadingTabContinuationLine", text({"version: STSv1", "mode: enforce", "mx: mx.example.com",
                                                       "\tmx2.example.com", "max_age: 86400"}), invalid("on line 4")},
        PolicyCase{"EmptyKey", plus(": value"), invalid("invalid field name \"\" on line 5")},
        PolicyCase{"KeyName33", plus(std::string(33, 'k') + ": v"), invalid("invalid field name")},
        PolicyCase{"KeyStartsWithUnderscore", plus("_x: v"), invalid("invalid field name")},
        PolicyCase{"KeyWithSpace", plus("max age: 86400"), invalid("invalid field name \"max age\"")},
        PolicyCase{"KeyWithHyphenForUnderscore", text({"version: STSv1", "mode: enforce", "mx: mx.example.com",
                                                       "max-age: 86400"}), invalid("has no max_age")},
        PolicyCase{"CommentLine", plus("# managed by hand"), invalid("has no ':' on line 5")},
        PolicyCase{"CommentLineWithColon", plus("# note: managed by hand"), invalid("invalid field name")},
        PolicyCase{"UnknownKeyEmptyValue", plus("foo:"), invalid("has no value in \"foo\" on line 5")},
        PolicyCase{"ValueEqualsSignSyntax", plus("mode=enforce"), invalid("has no ':' on line 5")},
        // bytes that are not text
        PolicyCase{"NulInValue", text({"version: STSv1", std::string("mode: enf") + '\0' + "orce", "mx: mx.example.com",
                                        "max_age: 86400"}),
                   invalid("has a NUL byte in \"mode\" on line 2")},
        PolicyCase{"NulAtEndOfValue", plus(std::string("foo: bar\0", 9)), invalid("a NUL byte")},
        PolicyCase{"NulLine", plus(std::string("\0", 1)), invalid("has a NUL byte on line 5")},
        PolicyCase{"NulInKey", plus(std::string("fo\0o: bar", 9)), invalid("invalid field name")},
        PolicyCase{"ControlCharacterInValue", plus("foo: a\x01" "b"), invalid("a control character")},
        PolicyCase{"EscapeInValue", plus("foo: \x1b[31mred"), invalid("a control character")},
        PolicyCase{"DeleteInValue", plus("foo: a\x7f"), invalid("a control character")},
        PolicyCase{"TabInsideValue", plus("foo: a\tb"), invalid("a control character")},
        PolicyCase{"FormFeedInValue", plus("foo: a\fb"), invalid("a control character")},
        PolicyCase{"BareCrLineEnds", "version: STSv1\rmode: enforce\rmx: mx.example.com\rmax_age: 86400\r",
                   invalid("control character")},
        PolicyCase{"CrAtEndWithoutLf", "version: STSv1\nmode: enforce\nmx: mx.example.com\nmax_age: 86400\r",
                   invalid("a control character in \"max_age\" on line 4")},
        PolicyCase{"CrCrLf", "version: STSv1\r\r\nmode: enforce\nmx: mx.example.com\nmax_age: 86400\n",
                   invalid("control character in \"version\" on line 1")},
        PolicyCase{"Latin1InValue", plus("owner: Jos\xe9"), invalid("bytes that are not UTF-8 in \"owner\"")},
        PolicyCase{"InvalidUtf8Byte", plus("foo: \xff"), invalid("not UTF-8")},
        PolicyCase{"OverlongUtf8Slash", plus("foo: \xc0\xaf"), invalid("not UTF-8")},
        PolicyCase{"OverlongUtf8ThreeBytes", plus("foo: \xe0\x80\xaf"), invalid("not UTF-8")},
        PolicyCase{"Utf8Surrogate", plus("foo: \xed\xa0\x80"), invalid("not UTF-8")},
        PolicyCase{"Utf8AboveU10FFFF", plus("foo: \xf4\x90\x80\x80"), invalid("not UTF-8")},
        PolicyCase{"Utf8Truncated", plus("foo: \xe2\x82"), invalid("not UTF-8")},
        PolicyCase{"Utf8TruncatedAtEndOfBody", "version: STSv1\nmode: enforce\nmx: mx.example.com\nmax_age: 86400\nx: \xf0\x9f",
                   invalid("not UTF-8")},
        PolicyCase{"Utf8LoneContinuation", plus("foo: \x80"), invalid("not UTF-8")},
        PolicyCase{"Utf16Body",
                   [] {
                     std::string utf16le;
                     for (char c : kRfcExample) utf16le += std::string{c, '\0'};
                     return utf16le;
                   }(),
                   invalid("has an invalid field name \"v?e?r?s?i?o?n?\" on line 1")},
        PolicyCase{"BadLineAfterGoodPolicyStillRefused", plus("garbage"), invalid("has no ':' on line 5")}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ParsePolicy, ReparsingTheTextGivesTheSamePolicy) {
  // The cache file stores Policy::text and parses it again on load (cache_file.h).
  for (const std::string& body : {kRfcExample, with_mx("*.EXAMPLE.com."), text({"version: STSv1", "mode: none",
                                                                                "max_age: 0"}, "\r\n")}) {
    auto first = parse_policy(body);
    ASSERT_TRUE(std::holds_alternative<Policy>(first));
    auto again = parse_policy(std::get<Policy>(first).text);
    ASSERT_TRUE(std::holds_alternative<Policy>(again));
    EXPECT_EQ(std::get<Policy>(again), std::get<Policy>(first));
  }
}

TEST(ParsePolicy, LineEndsDoNotChangeThePolicy) {
  std::vector<std::string> lines = {"version: STSv1", "mode: testing", "mx: a.example.com", "mx: *.b.example.com",
                                    "max_age: 1209600"};
  auto lf = parse_policy(text(lines));
  auto crlf = parse_policy(text(lines, "\r\n"));
  ASSERT_TRUE(std::holds_alternative<Policy>(lf) && std::holds_alternative<Policy>(crlf));
  Policy a = std::get<Policy>(lf), b = std::get<Policy>(crlf);
  EXPECT_NE(a.text, b.text);   // the body as fetched
  a.text = b.text = "";
  EXPECT_EQ(a, b);
}

}  // namespace
}  // namespace mxguard::mta_sts

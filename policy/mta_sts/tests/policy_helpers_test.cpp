// Around the policy file: the Content-Type check (RFC 8461 §3.2), the MX check (§4.1), the engine's view,
// the policy-string lines of TLS-RPT (RFC 8460 §4.4) and the mode's spelling.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "policy/mta_sts/policy_file.h"

namespace mxguard::mta_sts {
namespace {

// ---------------------------------------------------------------------------------------------------------
// is_text_plain

struct ContentTypeCase {
  const char* name;
  std::string content_type;
  bool text_plain;
};

void PrintTo(const ContentTypeCase& c, std::ostream* out) { *out << c.name; }

class ContentType : public ::testing::TestWithParam<ContentTypeCase> {};

TEST_P(ContentType, IsTextPlain) {
  EXPECT_EQ(is_text_plain(GetParam().content_type), GetParam().text_plain) << '"' << GetParam().content_type << '"';
}

INSTANTIATE_TEST_SUITE_P(
    Vectors, ContentType,
    ::testing::Values(
        ContentTypeCase{"Plain", "text/plain", true},
        ContentTypeCase{"UpperCaseWithCharset", "TEXT/PLAIN; charset=utf-8", true},
        ContentTypeCase{"MixedCase", "Text/Plain", true},
        ContentTypeCase{"SpacesAroundAndBeforeSemicolon", " text/plain ;charset=x", true},
        ContentTypeCase{"TabsAround", "\ttext/plain\t", true},
        ContentTypeCase{"CharsetUsAscii", "text/plain;charset=us-ascii", true},
        ContentTypeCase{"QuotedCharset", "text/plain; charset=\"UTF-8\"", true},
        ContentTypeCase{"OtherParameter", "text/plain; format=flowed", true},
        ContentTypeCase{"SeveralParameters", "text/plain; charset=utf-8; format=fixed", true},
        ContentTypeCase{"EmptyParameters", "text/plain;", true},
        ContentTypeCase{"Html", "text/html", false},
        ContentTypeCase{"HtmlWithCharset", "text/html; charset=utf-8", false},
        ContentTypeCase{"PlainWithSuffix", "text/plainx", false},
        ContentTypeCase{"Empty", "", false},
        ContentTypeCase{"OnlySpaces", "   ", false},
        ContentTypeCase{"OnlyParameters", "; charset=utf-8", false},
        ContentTypeCase{"OctetStream", "application/octet-stream", false},
        ContentTypeCase{"Json", "application/json", false},
        ContentTypeCase{"SpaceInsideType", "text /plain", false},
        ContentTypeCase{"SpaceAfterSlash", "text/ plain", false},
        ContentTypeCase{"WordAfterType", "text/plain x", false},
        ContentTypeCase{"TwoTypes", "text/plain, text/html", false},
        ContentTypeCase{"TypeOnly", "text", false},
        ContentTypeCase{"SubtypeOnly", "plain", false},
        ContentTypeCase{"Wildcard", "text/*", false},
        ContentTypeCase{"AnyType", "*/*", false},
        ContentTypeCase{"Texts", "texts/plain", false},
        ContentTypeCase{"WithNul", std::string("text/plain\0", 11), false},
        ContentTypeCase{"WithCrLf", "text/plain\r\n", false}),
    [](const auto& info) { return std::string(info.param.name); });

// ---------------------------------------------------------------------------------------------------------
// mx_allowed

Policy policy_with_mx(std::vector<std::string> mx) {
  Policy p;
  p.mode = Mode::Enforce;
  p.mx = std::move(mx);
  p.max_age = 86400;
  return p;
}

struct MxCase {
  const char* name;
  const char* host;
  bool allowed;
};

void PrintTo(const MxCase& c, std::ostream* out) { *out << c.name; }

class MxAllowed : public ::testing::TestWithParam<MxCase> {};

TEST_P(MxAllowed, AgainstAnExactNameAndAWildcard) {
  Policy p = policy_with_mx({"mx1.example.com", "*.example.net"});
  EXPECT_EQ(mx_allowed(p, GetParam().host), GetParam().allowed) << GetParam().host;
}

INSTANTIATE_TEST_SUITE_P(
    Vectors, MxAllowed,
    ::testing::Values(
        MxCase{"ExactName", "mx1.example.com", true},
        MxCase{"ExactNameUpperCase", "MX1.EXAMPLE.COM", true},
        MxCase{"ExactNameTrailingDot", "mx1.example.com.", true},
        MxCase{"ExactNameMixedCaseTrailingDot", "Mx1.Example.Com.", true},
        MxCase{"WildcardOneLabel", "mail.example.net", true},
        MxCase{"WildcardUpperCaseTrailingDot", "MAIL.EXAMPLE.NET.", true},
        MxCase{"WildcardTwoLabels", "a.b.example.net", false},
        MxCase{"WildcardBareDomain", "example.net", false},
        MxCase{"WildcardEmptyLabel", ".example.net", false},
        MxCase{"OtherHost", "mx2.example.com", false},
        MxCase{"SubdomainOfExactName", "a.mx1.example.com", false},
        MxCase{"SuffixAttack", "mx1.example.com.evil.org", false},
        MxCase{"PrefixAttack", "evilmx1.example.com", false},
        MxCase{"WildcardSuffixAttack", "mail.example.net.evil.org", false},
        MxCase{"WildcardLookalike", "mail.notexample.net", false},
        MxCase{"Empty", "", false},
        MxCase{"Root", ".", false}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(MxAllowed, WildcardMatchesExactlyOneLeftMostLabel) {
  Policy p = policy_with_mx({"*.example.com"});
  EXPECT_TRUE(mx_allowed(p, "mx.example.com"));
  EXPECT_FALSE(mx_allowed(p, "a.b.example.com"));
  EXPECT_FALSE(mx_allowed(p, "example.com"));
}

TEST(MxAllowed, NoPatternsAllowNothing) {
  EXPECT_FALSE(mx_allowed(policy_with_mx({}), "mx.example.com"));
}

TEST(MxAllowed, ParsedPolicyMatchesCaseInsensitively) {
  auto parsed = parse_policy("version: STSv1\nmode: enforce\nmx: MX.Example.COM.\nmx: *.Backup.Example.com\nmax_age: 60\n");
  ASSERT_TRUE(std::holds_alternative<Policy>(parsed));
  const Policy& p = std::get<Policy>(parsed);
  EXPECT_TRUE(mx_allowed(p, "mx.example.com"));
  EXPECT_TRUE(mx_allowed(p, "mx.EXAMPLE.com."));
  EXPECT_TRUE(mx_allowed(p, "b1.backup.example.com"));
  EXPECT_FALSE(mx_allowed(p, "backup.example.com"));
}

// ---------------------------------------------------------------------------------------------------------
// view, policy_lines, to_string

TEST(View, CarriesModeAndPatterns) {
  Policy p = policy_with_mx({"mx.example.com", "*.example.net"});
  p.mode = Mode::Testing;
  policy::StsPolicyView v = view(p);
  EXPECT_EQ(v.mode, Mode::Testing);
  EXPECT_EQ(v.mx, p.mx);
}

struct LinesCase {
  const char* name;
  std::string text;
  std::vector<std::string> lines;
};

void PrintTo(const LinesCase& c, std::ostream* out) { *out << c.name; }

class PolicyLines : public ::testing::TestWithParam<LinesCase> {};

TEST_P(PolicyLines, SplitsAtLfAndCrlf) { EXPECT_EQ(policy_lines(GetParam().text), GetParam().lines); }

INSTANTIATE_TEST_SUITE_P(
    Vectors, PolicyLines,
    ::testing::Values(
        LinesCase{"Lf", "version: STSv1\nmode: none\n", {"version: STSv1", "mode: none"}},
        LinesCase{"Crlf", "version: STSv1\r\nmode: none\r\n", {"version: STSv1", "mode: none"}},
        LinesCase{"Mixed", "a\r\nb\nc\r\n", {"a", "b", "c"}},
        LinesCase{"LastLineWithoutLineEnd", "a\nb", {"a", "b"}},
        LinesCase{"BlankLinesKept", "a\n\nb\n\n", {"a", "", "b", ""}},
        LinesCase{"Empty", "", {}},
        LinesCase{"OnlyLineEnd", "\n", {""}},
        LinesCase{"BareCrIsNotALineEnd", "a\rb\r", {"a\rb\r"}},
        LinesCase{"CrCrLfKeepsOneCr", "a\r\r\n", {"a\r"}}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ModeNames, AreTheRfcSpellings) {
  EXPECT_EQ(to_string(Mode::Enforce), "enforce");
  EXPECT_EQ(to_string(Mode::Testing), "testing");
  EXPECT_EQ(to_string(Mode::None), "none");
}

TEST(ModeNames, ParseBack) {
  for (Mode m : {Mode::Enforce, Mode::Testing, Mode::None}) {
    std::string body = "version: STSv1\nmode: " + std::string(to_string(m)) + "\nmx: mx.example.com\nmax_age: 1\n";
    auto parsed = parse_policy(body);
    ASSERT_TRUE(std::holds_alternative<Policy>(parsed)) << std::get<std::string>(parsed);
    EXPECT_EQ(std::get<Policy>(parsed).mode, m);
  }
}

}  // namespace
}  // namespace mxguard::mta_sts

#include "policy/names.h"

#include "base/ascii.h"

#include <gtest/gtest.h>

#include <string>

namespace mxguard::policy {
namespace {

// ---------------------------------------------------------------------------------------------------------
// The one-label wildcard (RFC 6125 §6.4.3, RFC 8461 §4.1)

struct MatchCase {
  const char* pattern;
  const char* host;
  bool matches;
};

// Test names and failure messages show the case, not its bytes.
void PrintTo(const MatchCase& c, std::ostream* out) { *out << '"' << c.pattern << '"' << " vs " << c.host; }

class NameMatch : public ::testing::TestWithParam<MatchCase> {};

TEST_P(NameMatch, FollowsTheOneLabelWildcardRule) {
  EXPECT_EQ(name_matches(GetParam().pattern, GetParam().host), GetParam().matches)
      << '"' << GetParam().pattern << "\" vs \"" << GetParam().host << '"';
}

INSTANTIATE_TEST_SUITE_P(
    Vectors, NameMatch,
    ::testing::Values(
        // exactly one left-most label
        MatchCase{"*.example.com", "mx.example.com", true},
        MatchCase{"*.example.com", "mx1.example.com", true},
        MatchCase{"*.example.com", "x.example.com", true},
        MatchCase{"*.example.com", "xn--bcher-kva.example.com", true},
        MatchCase{"*.example.com", "a.b.example.com", false},
        MatchCase{"*.example.com", "example.com", false},
        MatchCase{"*.example.com", ".example.com", false},
        MatchCase{"*.example.com", "mx.example.org", false},
        MatchCase{"*.example.com", "mx.example.com.evil", false},
        MatchCase{"*.example.com", "mxexample.com", false},
        MatchCase{"*.example.com", "mx.notexample.com", false},
        MatchCase{"*.example.com", "", false},
        MatchCase{"*.mail.example.com", "mx.mail.example.com", true},
        MatchCase{"*.mail.example.com", "mx.example.com", false},
        // case-insensitive, ASCII
        MatchCase{"*.Example.com", "MX.example.COM", true},
        MatchCase{"MX.EXAMPLE.COM", "mx.example.com", true},
        MatchCase{"mx.example.com", "MX.EXAMPLE.COM", true},
        // a trailing dot (the root) is ignored on either side
        MatchCase{"*.example.com", "mx.example.com.", true},
        MatchCase{"*.example.com.", "mx.example.com", true},
        MatchCase{"mx.example.com.", "mx.example.com", true},
        MatchCase{"mx.example.com", "mx.example.com.", true},
        MatchCase{"*.example.com", "example.com.", false},
        // exact names
        MatchCase{"mx.example.com", "mx.example.com", true},
        MatchCase{"mx.example.com", "mx.example.co", false},
        MatchCase{"mx.example.com", "mx2.example.com", false},
        MatchCase{"mx.example.com", "a.mx.example.com", false},
        // no partial or inner wildcards: '*' elsewhere is an ordinary character
        MatchCase{"mx*.example.com", "mx1.example.com", false},
        MatchCase{"*mx.example.com", "amx.example.com", false},
        MatchCase{"mx.*.example.com", "mx.a.example.com", false},
        MatchCase{"*", "com", false},
        MatchCase{"*.*.example.com", "a.b.example.com", false},
        MatchCase{"*.example.com", "*.example.com", true}),
    [](const auto& info) { return "Case" + std::to_string(info.index); });

// Moved here with the matcher from proxy/tls/client_hello (certificate choice by SNI uses it).
TEST(NameMatchFromClientHello, WildcardMatchesOneLeftMostLabelOnly) {
  EXPECT_TRUE(name_matches("*.example.com", "mx.example.com"));
  EXPECT_TRUE(name_matches("*.Example.com", "MX.example.COM"));
  EXPECT_FALSE(name_matches("*.example.com", "a.b.example.com"));
  EXPECT_FALSE(name_matches("*.example.com", "example.com"));
  EXPECT_TRUE(name_matches("mx.example.com", "MX.EXAMPLE.COM"));
  EXPECT_FALSE(name_matches("mx.example.com", "mx.example.co"));
}

TEST(NameMatch, EveryNameMatchesItself) {
  for (const char* name : {"mx.example.com", "*.example.com", "a", ".", "", "*.", "*..", "MX.Example.COM."}) {
    EXPECT_TRUE(name_matches(name, name)) << '"' << name << '"';
  }
}

// ---------------------------------------------------------------------------------------------------------
// Case

TEST(AsciiCase, LowerCasesOnlyAsciiLetters) {
  EXPECT_EQ(ascii::lower("MX.Example.COM"), "mx.example.com");
  EXPECT_EQ(ascii::lower("already.lower-1"), "already.lower-1");
  EXPECT_EQ(ascii::lower("\xC3\x84.example"), "\xC3\x84.example");   // "Ä" stays: only its A-label is compared
  EXPECT_EQ(ascii::lower("_SRV.@[]"), "_srv.@[]");
  EXPECT_EQ(ascii::lower(""), "");
}

TEST(AsciiCase, EqualityIgnoresAsciiCaseOnly) {
  EXPECT_TRUE(ascii::iequals("Example.ORG", "example.org"));
  EXPECT_FALSE(ascii::iequals("example.org", "example.org."));
  EXPECT_FALSE(ascii::iequals("\xC3\x84", "\xC3\xA4"));   // Ä vs ä: not folded
  EXPECT_FALSE(ascii::iequals("[", "{"));                  // differ by 0x20 but are not letters
  EXPECT_TRUE(ascii::iequals("", ""));
}

// ---------------------------------------------------------------------------------------------------------
// Syntax

struct SyntaxCase {
  const char* name;
  const char* problem;   // "" = valid; else a part of the message
};

// Test names and failure messages show the case, not its bytes.
void PrintTo(const SyntaxCase& c, std::ostream* out) { *out << '"' << c.name << '"'; }

class DomainSyntax : public ::testing::TestWithParam<SyntaxCase> {};

TEST_P(DomainSyntax, SaysWhatIsWrong) {
  std::string problem = domain_syntax_problem(GetParam().name);
  if (std::string(GetParam().problem).empty()) {
    EXPECT_EQ(problem, "") << GetParam().name;
  } else {
    EXPECT_NE(problem.find(GetParam().problem), std::string::npos) << GetParam().name << ": " << problem;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Vectors, DomainSyntax,
    ::testing::Values(SyntaxCase{"example.org", ""}, SyntaxCase{"a", ""}, SyntaxCase{"EXAMPLE.org", ""},
                      SyntaxCase{"xn--bcher-kva.example", ""}, SyntaxCase{"1.2.3.4", ""},
                      SyntaxCase{"a-b.c-d.example", ""}, SyntaxCase{"", "it is empty"},
                      SyntaxCase{"example.org.", "must not end with a dot"},
                      SyntaxCase{"example..org", "empty label"}, SyntaxCase{".example.org", "empty label"},
                      SyntaxCase{"-example.org", "starts or ends with '-'"},
                      SyntaxCase{"example-.org", "starts or ends with '-'"},
                      SyntaxCase{"ex ample.org", "it contains \" \""},
                      SyntaxCase{"user@example.org", "it contains \"@\""},
                      SyntaxCase{"*.example.org", "it contains \"*\""},
                      SyntaxCase{"legacy_mta", "it contains \"_\""},
                      SyntaxCase{"a\x01" "b", "it contains \"\\x01\""},
                      SyntaxCase{"quote\".example", "it contains \"\\\"\""},
                      SyntaxCase{"ex\xC3\xA4mple.org", "xn--"}),
    [](const auto& info) { return "Case" + std::to_string(info.index); });

TEST(DomainSyntax, LengthLimits) {
  std::string label63(63, 'a');
  EXPECT_EQ(domain_syntax_problem(label63 + ".example"), "");
  EXPECT_EQ(domain_syntax_problem(label63 + "a.example"), "it has a label longer than 63 characters");
  std::string name253;
  while (name253.size() < 253) name253 += name253.empty() ? "a" : ".a";
  ASSERT_EQ(name253.size(), 253u);
  EXPECT_EQ(domain_syntax_problem(name253), "");
  EXPECT_EQ(domain_syntax_problem(name253 + "a"), "it is longer than 253 characters");
}

TEST(DomainSyntax, ServiceNamesMayCarryUnderscores) {
  EXPECT_EQ(domain_syntax_problem("legacy_mta", NameSyntax::ServiceName), "");
  EXPECT_EQ(domain_syntax_problem("my_stack.legacy_mta", NameSyntax::ServiceName), "");
  EXPECT_NE(domain_syntax_problem("legacy mta", NameSyntax::ServiceName), "");
}

struct PatternCase {
  const char* pattern;
  const char* problem;   // "" = valid
};

// Test names and failure messages show the case, not its bytes.
void PrintTo(const PatternCase& c, std::ostream* out) { *out << '"' << c.pattern << '"'; }

class MxPattern : public ::testing::TestWithParam<PatternCase> {};

TEST_P(MxPattern, IsAHostNameOrALeftMostWildcard) {
  std::string problem = mx_pattern_problem(GetParam().pattern);
  if (std::string(GetParam().problem).empty()) {
    EXPECT_EQ(problem, "") << GetParam().pattern;
  } else {
    EXPECT_NE(problem.find(GetParam().problem), std::string::npos) << GetParam().pattern << ": " << problem;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Vectors, MxPattern,
    ::testing::Values(PatternCase{"mx.example.org", ""}, PatternCase{"*.example.org", ""},
                      PatternCase{"*.mail.example.org", ""}, PatternCase{"mx1", ""},
                      PatternCase{"mx.*.example.org", "only as the whole left-most label"},
                      PatternCase{"mx*.example.org", "only as the whole left-most label"},
                      PatternCase{"*", "only as the whole left-most label"},
                      PatternCase{"**.example.org", "only as the whole left-most label"},
                      PatternCase{"*.*.example.org", "only as the whole left-most label"},
                      PatternCase{"192.0.2.25", "IP address"}, PatternCase{"10.1", "IP address"},
                      PatternCase{"2001:db8::25", "IP address"}, PatternCase{"[2001:db8::25]", "IP address"},
                      PatternCase{"::1", "IP address"}, PatternCase{"*.0.2.25", "IP address"},
                      PatternCase{"*.", "empty"}, PatternCase{"", "empty"},
                      PatternCase{"mx.example.org.", "must not end with a dot"},
                      PatternCase{"mx_1.example.org", "it contains \"_\""}),
    [](const auto& info) { return "Case" + std::to_string(info.index); });

TEST(AddressLiterals, NumericLastLabelsAndColonsReadAsAddresses) {
  for (const char* address : {"192.0.2.1", "127.1", "10", "::", "[::1]", "fe80::1%eth0", "192.0.2.1."}) {
    EXPECT_TRUE(looks_like_address_literal(address)) << address;
  }
  for (const char* name : {"mx.example.org", "1.example.org", "mx1", "0x1.example", "", "example.org."}) {
    EXPECT_FALSE(looks_like_address_literal(name)) << name;
  }
}

}  // namespace
}  // namespace mxguard::policy

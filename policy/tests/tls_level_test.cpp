#include "policy/tls_level.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace mxguard::policy {
namespace {

TEST(TlsLevel, OneNameTableInOrderStrongestLast) {
  auto names = tls_level_names();
  ASSERT_EQ(names.size(), 7u);
  const char* expected[] = {"none", "may", "encrypt", "verify", "mta-sts", "dane", "dane-only"};
  for (std::size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(names[i].name, expected[i]);
    EXPECT_EQ(static_cast<std::size_t>(names[i].level), i) << "the table follows the enum's order";
    if (i > 0) {
      EXPECT_LT(names[i - 1].level, names[i].level);
    }
  }
}

TEST(TlsLevel, ParsingAndPrintingRoundTrip) {
  std::set<std::string_view> seen;
  for (const TlsLevelName& entry : tls_level_names()) {
    EXPECT_EQ(to_string(entry.level), entry.name);
    EXPECT_EQ(parse_tls_level(entry.name), entry.level);
    EXPECT_TRUE(seen.insert(entry.name).second) << "duplicate name " << entry.name;
  }
}

TEST(TlsLevel, ParsingIsExact) {
  for (const char* bad : {"", "None", "MAY", "mta_sts", "mtasts", "dane_only", " may", "may ", "strict", "tls"}) {
    EXPECT_FALSE(parse_tls_level(bad).has_value()) << '"' << bad << '"';
  }
}

TEST(TlsLevel, Predicates) {
  struct Row {
    TlsLevel level;
    bool tls;
    bool authentication;
    bool plaintext_fallback;
  };
  const Row rows[] = {
      {TlsLevel::None, false, false, false},     {TlsLevel::May, false, false, true},
      {TlsLevel::Encrypt, true, false, false},   {TlsLevel::Verify, true, true, false},
      {TlsLevel::MtaSts, true, true, false},     {TlsLevel::Dane, true, true, false},
      {TlsLevel::DaneOnly, true, true, false},
  };
  for (const Row& r : rows) {
    EXPECT_EQ(requires_tls(r.level), r.tls) << to_string(r.level);
    EXPECT_EQ(requires_authentication(r.level), r.authentication) << to_string(r.level);
    EXPECT_EQ(falls_back_to_plaintext(r.level), r.plaintext_fallback) << to_string(r.level);
  }
}

}  // namespace
}  // namespace mxguard::policy

// TLSA records: which SMTP can use (RFC 7672 §3.1), their one spelling, and the owner name.
#include "policy/tlsa.h"

#include <gtest/gtest.h>

namespace mxguard::policy {
namespace {

TlsaRecord record(std::uint8_t usage, std::uint8_t selector, std::uint8_t matching, std::size_t bytes) {
  return TlsaRecord{usage, selector, matching, std::vector<std::uint8_t>(bytes, 0xab)};
}

TEST(TlsaUsability, EveryUsageSelectorAndMatchingType) {
  for (int usage = 0; usage <= 4; ++usage) {
    for (int selector = 0; selector <= 2; ++selector) {
      for (int matching = 0; matching <= 3; ++matching) {
        std::size_t size = matching == 1 ? 32 : matching == 2 ? 64 : 100;
        TlsaRecord r = record(static_cast<std::uint8_t>(usage), static_cast<std::uint8_t>(selector),
                              static_cast<std::uint8_t>(matching), size);
        bool want = (usage == 2 || usage == 3) && selector <= 1 && matching <= 2;
        EXPECT_EQ(usable_for_smtp(r), want) << to_string(r) << ": " << unusable_because(r);
        EXPECT_EQ(unusable_because(r).empty(), want);
      }
    }
  }
}

TEST(TlsaUsability, ReasonsAndDigestLengths) {
  EXPECT_EQ(unusable_because(record(0, 0, 1, 32)), "PKIX usages are not used for SMTP");
  EXPECT_EQ(unusable_because(record(1, 1, 1, 32)), "PKIX usages are not used for SMTP");
  EXPECT_EQ(unusable_because(record(255, 1, 1, 32)), "unknown certificate usage");
  EXPECT_EQ(unusable_because(record(3, 2, 1, 32)), "unknown selector");
  EXPECT_EQ(unusable_because(record(3, 1, 255, 32)), "unknown matching type");
  EXPECT_EQ(unusable_because(record(3, 1, 1, 31)), "SHA-256 data that is not 32 bytes long");
  EXPECT_EQ(unusable_because(record(3, 1, 1, 64)), "SHA-256 data that is not 32 bytes long");
  EXPECT_EQ(unusable_because(record(2, 0, 2, 32)), "SHA-512 data that is not 64 bytes long");
  EXPECT_EQ(unusable_because(record(3, 0, 0, 0)), "no association data");
  EXPECT_TRUE(usable_for_smtp(record(3, 0, 0, 1)));
}

TEST(TlsaUsability, UsableRecordsKeepTheirOrder) {
  std::vector<TlsaRecord> rrset = {record(3, 1, 1, 32), record(1, 1, 1, 32), record(2, 0, 2, 64), record(3, 1, 1, 3)};
  EXPECT_EQ(usable_records(rrset), (std::vector<TlsaRecord>{rrset[0], rrset[2]}));
  EXPECT_TRUE(usable_records({}).empty());
}

TEST(TlsaText, PresentationFormatInLowerCaseHex) {
  EXPECT_EQ(to_string(TlsaRecord{3, 1, 1, {0x01, 0xab, 0xff, 0x00}}), "3 1 1 01abff00");
  EXPECT_EQ(to_string(TlsaRecord{2, 0, 0, {}}), "2 0 0 -");
  EXPECT_EQ(to_strings({TlsaRecord{3, 1, 1, {0x10}}, TlsaRecord{255, 9, 7, {0x0f}}}),
            (std::vector<std::string>{"3 1 1 10", "255 9 7 0f"}));
}

TEST(TlsaOwnerName, PortProtocolAndHost) {
  EXPECT_EQ(tlsa_owner_name("mx.example.org", 25), "_25._tcp.mx.example.org");
  EXPECT_EQ(tlsa_owner_name("mx.example.org.", 2525), "_2525._tcp.mx.example.org");
}

}  // namespace
}  // namespace mxguard::policy

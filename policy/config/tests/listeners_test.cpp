// inbound.listen entries: an address (STARTTLS), or { address = ..., tls = "starttls" | "implicit" }.
#include <gtest/gtest.h>

#include <string>

#include "policy/config/config_loader.h"
#include "policy/config/tests/load_helpers.h"

namespace mxguard::config {
namespace {

using testing::kFile;
using testing::load_error;
using testing::load_ok;

constexpr const char* kMinimal = "[inbound]\nbackend = \"127.0.0.1:2525\"\n";

bool contains(const std::string& haystack, const std::string& needle) { return haystack.find(needle) != std::string::npos; }

TEST(Listeners, AddressesAloneOfferStarttls) {
  Config c = load_ok(std::string(kMinimal) + "listen = [\"0.0.0.0:25\", \"[::]:25\"]\n");
  ASSERT_EQ(c.inbound.listen.size(), 2u);
  EXPECT_FALSE(c.inbound.listen[0].implicit_tls);
  EXPECT_FALSE(c.inbound.listen[1].implicit_tls);
  EXPECT_FALSE(Config{}.inbound.listen[0].implicit_tls);
}

TEST(Listeners, AnInlineTableCanAskForImplicitTls) {
  Config c = load_ok(std::string(kMinimal) +
                     "listen = [\"0.0.0.0:25\", { address = \"0.0.0.0:465\", tls = \"implicit\" }, "
                     "{ address = \"[::]:587\", tls = \"starttls\" }, { address = \"[::]:25\" }]\n");
  ASSERT_EQ(c.inbound.listen.size(), 4u);
  EXPECT_EQ(c.inbound.listen[1].endpoint.host, "0.0.0.0");
  EXPECT_EQ(c.inbound.listen[1].endpoint.port, 465);
  EXPECT_EQ(c.inbound.listen[1].endpoint.text, "0.0.0.0:465");
  EXPECT_TRUE(c.inbound.listen[1].implicit_tls);
  EXPECT_FALSE(c.inbound.listen[2].implicit_tls);
  EXPECT_FALSE(c.inbound.listen[3].implicit_tls) << "tls defaults to starttls";
  EXPECT_EQ(c.inbound.listen[3].endpoint.host, "::");
}

TEST(Listeners, ATableNeedsItsAddress) {
  ConfigError e = load_error(std::string(kMinimal) + "listen = [\"0.0.0.0:25\", { tls = \"implicit\" }]\n");
  EXPECT_EQ(e.to_string(), "mxguard.toml:3: inbound.listen[1].address: required: the address to listen on, e.g. \"0.0.0.0:465\"");
}

TEST(Listeners, TheTlsModeIsOneOfTwoWords) {
  ConfigError e = load_error(std::string(kMinimal) + "listen = [{ address = \"0.0.0.0:465\", tls = \"smtps\" }]\n");
  EXPECT_EQ(e.to_string(), "mxguard.toml:3: inbound.listen[0].tls: \"smtps\" is not one of starttls, implicit");
  ConfigError boolean = load_error(std::string(kMinimal) + "listen = [{ address = \"0.0.0.0:465\", tls = true }]\n");
  EXPECT_EQ(boolean.key, "inbound.listen[0].tls");
  EXPECT_EQ(boolean.message, "expected a string, got a boolean");
}

TEST(Listeners, UnknownKeysInAnEntryAreErrors) {
  ConfigError e = load_error(std::string(kMinimal) + "listen = [{ address = \"0.0.0.0:465\", port = 465 }]\n");
  EXPECT_EQ(e.to_string(), "mxguard.toml:3: inbound.listen[0].port: unknown key; expected one of address, tls");
}

TEST(Listeners, AnEntrysAddressIsCheckedLikeAnyAddress) {
  ConfigError e = load_error(std::string(kMinimal) + "listen = [{ address = \"::1:465\", tls = \"implicit\" }]\n");
  EXPECT_EQ(e.key, "inbound.listen[0].address");
  EXPECT_TRUE(contains(e.message, "\"::1:465\" is not a valid address: an IPv6 address needs brackets")) << e.message;
}

TEST(Listeners, ErrorsInAMultiLineArrayNameTheEntrysLine) {
  ConfigError e = load_error(std::string(kMinimal) +
                             "listen = [\n  \"0.0.0.0:25\",\n  { address = \"0.0.0.0:465\", tls = \"tls\" },\n]\n");
  EXPECT_EQ(e.line, 5);
  EXPECT_EQ(e.key, "inbound.listen[1].tls");
}

TEST(Listeners, TheSameAddressTwiceIsRefusedWhateverItsTlsMode) {
  ConfigError e = load_error(std::string(kMinimal) +
                             "listen = [\"0.0.0.0:25\", { address = \"0.0.0.0:25\", tls = \"implicit\" }]\n");
  EXPECT_EQ(e.key, "inbound.listen[1]");
  EXPECT_EQ(e.message, "\"0.0.0.0:25\" is listed twice");
}

TEST(Listeners, CrossChecksSeeTheAddressesOfTables) {
  ConfigError overlap = load_error(std::string(kMinimal) + "listen = [{ address = \"0.0.0.0:465\", tls = \"implicit\" }]\n"
                                                           "[outbound]\nlisten = [\"127.0.0.1:465\"]\n");
  EXPECT_EQ(overlap.key, "outbound.listen[0]");
  EXPECT_TRUE(contains(overlap.message, "overlaps inbound.listen[0] (\"0.0.0.0:465\")")) << overlap.message;
  ConfigError itself = load_error("[inbound]\nbackend = \"127.0.0.1:465\"\nlisten = [{ address = \"0.0.0.0:465\", tls = \"implicit\" }]\n");
  EXPECT_EQ(itself.key, "inbound.backend");
  EXPECT_TRUE(contains(itself.message, "mxguard's own listener \"0.0.0.0:465\"")) << itself.message;
}

TEST(Listeners, ATlsModeThatDoesNotFitItsPortWarns) {
  Config implicit25 = load_ok(std::string(kMinimal) + "backend_protocol = \"proxy-v2\"\n"
                                                      "listen = [{ address = \"0.0.0.0:25\", tls = \"implicit\" }]\n");
  ASSERT_EQ(implicit25.warnings.size(), 1u);
  EXPECT_TRUE(contains(implicit25.warnings[0], "mxguard.toml:4: inbound.listen[0]: \"0.0.0.0:25\" with tls = \"implicit\""))
      << implicit25.warnings[0];
  Config starttls465 = load_ok(std::string(kMinimal) + "backend_protocol = \"proxy-v2\"\nlisten = [\"0.0.0.0:465\"]\n");
  ASSERT_EQ(starttls465.warnings.size(), 1u);
  EXPECT_TRUE(contains(starttls465.warnings[0], "write { address = \"0.0.0.0:465\", tls = \"implicit\" }"))
      << starttls465.warnings[0];
  Config fitting = load_ok(std::string(kMinimal) + "backend_protocol = \"proxy-v2\"\n"
                                                   "listen = [\"0.0.0.0:25\", { address = \"0.0.0.0:465\", tls = \"implicit\" }]\n");
  EXPECT_TRUE(fitting.warnings.empty());
}

}  // namespace
}  // namespace mxguard::config

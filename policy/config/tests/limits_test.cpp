// [inbound.limits] and [outbound.limits]: one table of keys, defaults per direction.
#include <gtest/gtest.h>

#include <string>

#include "policy/config/config_loader.h"
#include "policy/config/tests/load_helpers.h"

namespace mxguard::config {
namespace {

using namespace std::chrono_literals;

using testing::kFile;
using testing::load_error;
using testing::load_ok;

constexpr const char* kMinimal = "[inbound]\nbackend = \"127.0.0.1:2525\"\n";

TEST(LimitDefaults, TheBackendGetsFifteenSecondsToGreet) {
  Config c = load_ok(kMinimal);
  EXPECT_EQ(c.inbound.limits.greeting_timeout, 15s);
  EXPECT_LT(c.inbound.limits.greeting_timeout, 20s) << "a remote MTA must get its 421 in time to try the next MX";
}

TEST(LimitDefaults, ARemoteMxGreetsWithinAMinuteSoTheNextMxFitsInTheRcptWait) {
  Config c = load_ok(kMinimal);
  const Limits& out = c.outbound.limits;
  EXPECT_EQ(out.greeting_timeout, 60s);    // the legacy MTA waits reply_timeout for the whole MX search
  EXPECT_EQ(out.reply_timeout, 300s);      // §4.5.3.2.2, .3: MAIL, RCPT
  EXPECT_EQ(out.data_end_timeout, 600s);   // §4.5.3.2.6
  EXPECT_EQ(out.backend_connect_timeout, 30s);
}

TEST(LimitDefaults, TheLegacyMtaIsOneAddressOutbound) {
  Config c = load_ok(kMinimal);
  EXPECT_EQ(c.outbound.limits.max_connections_per_ip, c.outbound.limits.max_connections);
  EXPECT_EQ(c.inbound.limits.max_connections_per_ip, 20u);
}

TEST(LimitDefaults, EverythingElseIsTheSameInBothDirections) {
  Limits in = default_inbound_limits();
  Limits out = default_outbound_limits();
  in.greeting_timeout = out.greeting_timeout;
  in.max_connections_per_ip = out.max_connections_per_ip;
  EXPECT_EQ(in.max_command_line, out.max_command_line);
  EXPECT_EQ(in.max_data_line, out.max_data_line);
  EXPECT_EQ(in.max_reply_line, out.max_reply_line);
  EXPECT_EQ(in.max_recipients, out.max_recipients);
  EXPECT_EQ(in.max_errors, out.max_errors);
  EXPECT_EQ(in.max_junk_commands, out.max_junk_commands);
  EXPECT_EQ(in.max_connections, out.max_connections);
  EXPECT_EQ(in.backend_connect_timeout, out.backend_connect_timeout);
  EXPECT_EQ(in.command_timeout, out.command_timeout);
  EXPECT_EQ(in.reply_timeout, out.reply_timeout);
  EXPECT_EQ(in.data_block_timeout, out.data_block_timeout);
  EXPECT_EQ(in.data_end_timeout, out.data_end_timeout);
  EXPECT_EQ(in.tls_handshake_timeout, out.tls_handshake_timeout);
  EXPECT_EQ(in.min_data_rate, out.min_data_rate);
  EXPECT_EQ(in.min_data_rate_grace, out.min_data_rate_grace);
}

TEST(OutboundLimits, AreReadIntoTheOutboundModelOnly) {
  Config c = load_ok(std::string(kMinimal) +
                     "[outbound.limits]\ngreeting_timeout = \"2m\"\nmax_recipients = 500\nmin_data_rate = 1000\n");
  EXPECT_EQ(c.outbound.limits.greeting_timeout, 120s);
  EXPECT_EQ(c.outbound.limits.max_recipients, 500u);
  EXPECT_EQ(c.outbound.limits.min_data_rate, 1000u);
  EXPECT_EQ(c.inbound.limits.greeting_timeout, 15s);
  EXPECT_EQ(c.inbound.limits.max_recipients, 1000u);
}

TEST(OutboundLimits, ErrorsNameTheOutboundKey) {
  ConfigError e = load_error(std::string(kMinimal) + "[outbound.limits]\nmax_command_line = 100\n");
  EXPECT_EQ(e.to_string(),
            "mxguard.toml:4: outbound.limits.max_command_line: must be between 512 and 1048576, got 100 (RFC 5321 "
            "§4.5.3.1.4: at least 512)");
  ConfigError unknown = load_error(std::string(kMinimal) + "[outbound.limits]\ngreeting = 5\n");
  EXPECT_EQ(unknown.line, 4);
  EXPECT_EQ(unknown.key, "outbound.limits.greeting");
  ConfigError scalar = load_error(std::string(kMinimal) + "[outbound]\nlimits = 5\n");
  EXPECT_EQ(scalar.key, "outbound.limits");
  EXPECT_EQ(scalar.message, "expected a table ([outbound.limits]), got an integer");
}

TEST(MaxJunkCommands, IsAHundredByDefaultAsPostfixsJunkCommandLimit) {
  Config c = load_ok(kMinimal);
  EXPECT_EQ(c.inbound.limits.max_junk_commands, 100u);
  EXPECT_EQ(c.outbound.limits.max_junk_commands, 100u);
  Config set = load_ok(std::string(kMinimal) + "[inbound.limits]\nmax_junk_commands = 5\n"
                                              "[outbound.limits]\nmax_junk_commands = 1000\n");
  EXPECT_EQ(set.inbound.limits.max_junk_commands, 5u);
  EXPECT_EQ(set.outbound.limits.max_junk_commands, 1000u);
}

TEST(MaxJunkCommands, IsAtLeastOne) {
  ConfigError e = load_error(std::string(kMinimal) + "[inbound.limits]\nmax_junk_commands = 0\n");
  EXPECT_EQ(e.to_string(), "mxguard.toml:4: inbound.limits.max_junk_commands: must be between 1 and 1000000, got 0");
}

TEST(MinDataRateGrace, DefaultsToThirtySecondsAndMayBeZero) {
  EXPECT_EQ(load_ok(kMinimal).inbound.limits.min_data_rate_grace, 30s);
  EXPECT_EQ(load_ok(std::string(kMinimal) + "[inbound.limits]\nmin_data_rate_grace = 0\n").inbound.limits.min_data_rate_grace, 0s);
  EXPECT_EQ(load_ok(std::string(kMinimal) + "[inbound.limits]\nmin_data_rate_grace = \"1h\"\n").inbound.limits.min_data_rate_grace,
            3600s);
  EXPECT_EQ(load_ok(std::string(kMinimal) + "[outbound.limits]\nmin_data_rate_grace = \"2m\"\n").outbound.limits.min_data_rate_grace,
            120s);
}

TEST(MinDataRateGrace, IsAtMostAnHour) {
  ConfigError e = load_error(std::string(kMinimal) + "[inbound.limits]\nmin_data_rate_grace = \"61m\"\n");
  EXPECT_EQ(e.to_string(), "mxguard.toml:4: inbound.limits.min_data_rate_grace: must be between 0s and 3600s, got \"61m\"");
}

TEST(AbusePenalty, IsGivenToTheExactIpv4AddressAndTheIpv6Slash64ByDefault) {
  Config c = load_ok(kMinimal);
  EXPECT_EQ(c.inbound.limits.abuse_penalty_ipv4_prefix, 32u);
  EXPECT_EQ(c.inbound.limits.abuse_penalty_ipv6_prefix, 64u);
  EXPECT_EQ(c.outbound.limits.abuse_penalty_ipv6_prefix, 64u);
  Config set = load_ok(std::string(kMinimal) +
                       "[inbound.limits]\nabuse_penalty_ipv4_prefix = 24\nabuse_penalty_ipv6_prefix = 128\n");
  EXPECT_EQ(set.inbound.limits.abuse_penalty_ipv4_prefix, 24u);
  EXPECT_EQ(set.inbound.limits.abuse_penalty_ipv6_prefix, 128u);
  ConfigError v4 = load_error(std::string(kMinimal) + "[inbound.limits]\nabuse_penalty_ipv4_prefix = 8\n");
  EXPECT_EQ(v4.key, "inbound.limits.abuse_penalty_ipv4_prefix");
  EXPECT_EQ(v4.line, 4);
  ConfigError v6 = load_error(std::string(kMinimal) + "[outbound.limits]\nabuse_penalty_ipv6_prefix = 129\n");
  EXPECT_EQ(v6.key, "outbound.limits.abuse_penalty_ipv6_prefix");
}

TEST(AbusePenalty, IsOffByDefaultAndADurationUpToADay) {
  Config c = load_ok(kMinimal);
  EXPECT_EQ(c.inbound.limits.abuse_penalty.count(), 0);
  EXPECT_EQ(c.outbound.limits.abuse_penalty.count(), 0);
  Config set = load_ok(std::string(kMinimal) + "[inbound.limits]\nabuse_penalty = \"2m\"\n");
  EXPECT_EQ(set.inbound.limits.abuse_penalty.count(), 120);
  ConfigError e = load_error(std::string(kMinimal) + "[inbound.limits]\nabuse_penalty = \"25h\"\n");
  EXPECT_EQ(e.key, "inbound.limits.abuse_penalty");
  EXPECT_EQ(e.line, 4);
}

}  // namespace
}  // namespace mxguard::config

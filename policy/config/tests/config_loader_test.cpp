#include "policy/config/config_loader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "policy/config/schema.h"

namespace mxguard::config {
namespace {

using namespace std::chrono_literals;

constexpr const char* kFile = "mxguard.toml";
// The smallest valid file: inbound is enabled by default and needs its backend. Two lines, so whatever a
// test appends starts on line 3.
constexpr const char* kMinimal = "[inbound]\nbackend = \"127.0.0.1:2525\"\n";

std::string source_file(const std::string& relative) {
  std::ifstream in(std::string(MXGUARD_SOURCE_DIR) + "/" + relative);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

Config expect_ok(const std::string& text) {
  LoadResult result = parse_config(text, kFile);
  if (const auto* error = std::get_if<ConfigError>(&result)) {
    ADD_FAILURE() << "unexpected error: " << error->to_string() << "\n--- file ---\n" << text;
    return Config{};
  }
  return std::get<Config>(std::move(result));
}

ConfigError expect_error(const std::string& text) {
  LoadResult result = parse_config(text, kFile);
  if (std::holds_alternative<Config>(result)) {
    ADD_FAILURE() << "expected an error\n--- file ---\n" << text;
    return ConfigError{};
  }
  return std::get<ConfigError>(std::move(result));
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// ---------------------------------------------------------------------------------------------------------
// The example configuration and the documentation

TEST(ExampleConfiguration, LoadsWithItsDocumentedValues) {
  LoadResult result = load_config(std::string(MXGUARD_SOURCE_DIR) + "/deploy/mxguard.toml");
  ASSERT_TRUE(std::holds_alternative<Config>(result)) << std::get<ConfigError>(result).to_string();
  const Config& c = std::get<Config>(result);
  EXPECT_EQ(c.inbound.backend.text, "127.0.0.1:2525");
  ASSERT_EQ(c.inbound.listen.size(), 2u);
  EXPECT_EQ(c.inbound.listen[0].endpoint.text, "0.0.0.0:25");
  EXPECT_EQ(c.inbound.listen[1].endpoint.host, "::");
  ASSERT_EQ(c.outbound.listen.size(), 1u);
  EXPECT_EQ(c.outbound.listen[0].port, 10025);
  ASSERT_EQ(c.policy.domains.size(), 1u);
  EXPECT_EQ(c.policy.domains[0].first, "example.org");
  EXPECT_EQ(c.policy.domains[0].second.level, TlsLevel::Verify);
  EXPECT_EQ(c.policy.domains[0].second.mx, std::vector<std::string>{"*.example.org"});
  ASSERT_TRUE(c.metrics.listen.has_value());
  EXPECT_EQ(c.metrics.listen->port, 9187);
  EXPECT_TRUE(c.inbound.certificates.empty());   // commented out: the container image must start as is
}

// The example says "every key, with its default": hold it to that, so that it cannot drift from config.h.
TEST(ExampleConfiguration, UsesTheModelDefaultsForEveryDefaultedKey) {
  Config c = expect_ok(source_file("deploy/mxguard.toml"));
  const Config d;
  EXPECT_EQ(c.server.workers, d.server.workers);
  EXPECT_EQ(c.server.state_dir, d.server.state_dir);
  EXPECT_EQ(c.server.log_level, d.server.log_level);
  EXPECT_EQ(c.server.shutdown_grace, d.server.shutdown_grace);
  EXPECT_EQ(c.inbound.enabled, d.inbound.enabled);
  EXPECT_EQ(c.inbound.backend_protocol, d.inbound.backend_protocol);
  EXPECT_EQ(c.inbound.require_tls, d.inbound.require_tls);
  EXPECT_EQ(c.inbound.bare_newlines, d.inbound.bare_newlines);
  EXPECT_EQ(c.inbound.max_message_size, d.inbound.max_message_size);
  const Limits& l = c.inbound.limits;
  const Limits& dl = d.inbound.limits;
  EXPECT_EQ(l.max_command_line, dl.max_command_line);
  EXPECT_EQ(l.max_data_line, dl.max_data_line);
  EXPECT_EQ(l.max_reply_line, dl.max_reply_line);
  EXPECT_EQ(l.max_recipients, dl.max_recipients);
  EXPECT_EQ(l.max_errors, dl.max_errors);
  EXPECT_EQ(l.max_connections, dl.max_connections);
  EXPECT_EQ(l.max_connections_per_ip, dl.max_connections_per_ip);
  EXPECT_EQ(l.backend_connect_timeout, dl.backend_connect_timeout);
  EXPECT_EQ(l.greeting_timeout, dl.greeting_timeout);
  EXPECT_EQ(l.command_timeout, dl.command_timeout);
  EXPECT_EQ(l.reply_timeout, dl.reply_timeout);
  EXPECT_EQ(l.data_block_timeout, dl.data_block_timeout);
  EXPECT_EQ(l.data_end_timeout, dl.data_end_timeout);
  EXPECT_EQ(l.tls_handshake_timeout, dl.tls_handshake_timeout);
  EXPECT_EQ(l.min_data_rate, dl.min_data_rate);
  EXPECT_EQ(c.outbound.mode, d.outbound.mode);
  EXPECT_EQ(c.outbound.allow, (std::vector<std::string>{"127.0.0.1/32", "::1/128"}));
  EXPECT_EQ(c.outbound.port, d.outbound.port);
  EXPECT_EQ(c.outbound.ca_file, d.outbound.ca_file);
  // The one value the example chooses over the built-in default: `dane` is recommended, `may` is what a
  // file without [policy] gets.
  EXPECT_EQ(c.policy.default_level, TlsLevel::Dane);
  EXPECT_EQ(d.policy.default_level, TlsLevel::May);
  EXPECT_EQ(c.mta_sts.enabled, d.mta_sts.enabled);
  EXPECT_EQ(c.mta_sts.cache_file, d.mta_sts.cache_file);
  EXPECT_EQ(c.mta_sts.ca_file, d.mta_sts.ca_file);
  EXPECT_EQ(c.mta_sts.https_port, d.mta_sts.https_port);
  EXPECT_TRUE(c.dns.servers.empty());
  EXPECT_FALSE(c.dns.trust_ad);
  EXPECT_EQ(c.audit.path, d.audit.path);
}

TEST(ExampleConfiguration, CertificateBlockLoadsOnceUncommented) {
  std::string text = source_file("deploy/mxguard.toml");
  for (const char* line : {"# [[inbound.certificate]]", "# cert = ", "# key  = "}) {
    std::size_t at = text.find(line);
    ASSERT_NE(at, std::string::npos) << line;
    text.erase(at, 2);
  }
  Config c = expect_ok(text);
  ASSERT_EQ(c.inbound.certificates.size(), 1u);
  EXPECT_EQ(c.inbound.certificates[0].cert, "/etc/mxguard/tls/mx.example.com.crt");
  EXPECT_EQ(c.inbound.certificates[0].key, "/etc/mxguard/tls/mx.example.com.key");
  EXPECT_GT(c.inbound.certificates[0].line, 0);
}

TEST(ExampleConfiguration, WarnsAboutThePlainBackendProtocol) {
  Config c = expect_ok(source_file("deploy/mxguard.toml"));
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_TRUE(contains(c.warnings[0], "open relay"));
}

// Every key name the loader accepts, from the schema (schema_test.cpp checks each under its own table).
// Keys of the inline tables inside a value (inbound.listen's { address, tls }) never stand on a line of
// their own, so the line-based checks below leave them to schema_test.cpp.
std::vector<std::string> every_key() {
  std::vector<std::string> values;
  for (const KeyDescription& d : describe_schema()) {
    if (d.kind == KeyKind::Value) values.push_back(d.section.empty() ? d.name : d.section + "." + d.name);
  }
  std::vector<std::string> names;
  for (const KeyDescription& d : describe_schema()) {
    bool seen = std::find(names.begin(), names.end(), d.name) != names.end();
    bool inline_entry = std::find(values.begin(), values.end(), d.section) != values.end();
    if (d.kind == KeyKind::Value && !seen && !inline_entry) names.push_back(d.name);
  }
  return names;
}

const std::vector<std::string> kEveryKey = every_key();

TEST(ExampleConfiguration, MentionsEveryKey) {
  std::string text = source_file("deploy/mxguard.toml");
  for (const std::string& key : kEveryKey) EXPECT_TRUE(contains(text, "\n" + key + " ") || contains(text, "# " + key + " ")) << key;
}

TEST(Documentation, DescribesEveryKeyAndThePlainRelayRisk) {
  std::string text = source_file("docs/configuration.md");
  ASSERT_FALSE(text.empty());
  for (const std::string& key : kEveryKey) EXPECT_TRUE(contains(text, "`" + key + "`")) << key;
  EXPECT_TRUE(contains(text, "open relay"));
}

// ---------------------------------------------------------------------------------------------------------
// Minimal files and defaults

TEST(Defaults, EmptyFileFailsOnTheRequiredBackend) {
  ConfigError e = expect_error("");
  EXPECT_EQ(e.file, kFile);
  EXPECT_EQ(e.line, 0);
  EXPECT_EQ(e.key, "inbound.backend");
  EXPECT_TRUE(contains(e.message, "required"));
}

TEST(Defaults, OnlyTheBackendIsEnough) {
  Config c = expect_ok(kMinimal);
  EXPECT_EQ(c.source_path, kFile);
  EXPECT_EQ(c.inbound.backend.host, "127.0.0.1");
  EXPECT_EQ(c.inbound.backend.port, 2525);
}

TEST(Defaults, EveryOmittedKeyKeepsTheModelDefault) {
  Config c = expect_ok(kMinimal);
  const Config d;
  EXPECT_EQ(c.server.workers, d.server.workers);
  EXPECT_EQ(c.server.state_dir, "/var/lib/mxguard");
  EXPECT_EQ(c.server.log_level, "info");
  EXPECT_EQ(c.server.shutdown_grace, 30s);
  EXPECT_TRUE(c.inbound.enabled);
  EXPECT_EQ(c.inbound.backend_protocol, BackendProtocol::Plain);
  EXPECT_EQ(c.inbound.bare_newlines, BareNewlines::Reject);
  EXPECT_EQ(c.inbound.max_message_size, 52428800u);
  EXPECT_EQ(c.inbound.limits.max_command_line, 2048u);
  EXPECT_EQ(c.inbound.limits.data_end_timeout, 600s);
  EXPECT_TRUE(c.inbound.certificates.empty());
  EXPECT_TRUE(c.inbound.require_tls_from.empty());
  EXPECT_TRUE(c.outbound.listen.empty());
  EXPECT_EQ(c.outbound.mode, "relay");
  EXPECT_EQ(c.outbound.port, 25);
  EXPECT_EQ(c.policy.default_level, TlsLevel::May);
  EXPECT_TRUE(c.policy.domains.empty());
  EXPECT_TRUE(c.mta_sts.enabled);
  EXPECT_EQ(c.mta_sts.https_port, 443);
  EXPECT_EQ(c.audit.path, "/var/log/mxguard/audit.jsonl");
  EXPECT_FALSE(c.metrics.listen.has_value());
}

TEST(Defaults, InboundListensOnEveryAddressOfPort25) {
  Config c = expect_ok(kMinimal);
  ASSERT_EQ(c.inbound.listen.size(), 2u);
  EXPECT_EQ(c.inbound.listen[0].endpoint.host, "0.0.0.0");
  EXPECT_EQ(c.inbound.listen[0].endpoint.port, 25);
  EXPECT_EQ(c.inbound.listen[0].endpoint.text, "0.0.0.0:25");
  EXPECT_EQ(c.inbound.listen[1].endpoint.host, "::");
  EXPECT_EQ(c.inbound.listen[1].endpoint.text, "[::]:25");
}

TEST(Defaults, OutboundAllowsOnlyLoopback) {
  Config c = expect_ok(kMinimal);
  EXPECT_EQ(c.outbound.allow, (std::vector<std::string>{"127.0.0.1/32", "::1/128"}));
}

TEST(Defaults, HostnameIsTheMachineName) {
  char name[256] = {};
  ASSERT_EQ(gethostname(name, sizeof name - 1), 0);
  Config c = expect_ok(kMinimal);
  EXPECT_EQ(c.server.hostname, name);
  EXPECT_FALSE(c.server.hostname.empty());
}

TEST(Defaults, ExplicitHostnameWins) {
  Config c = expect_ok(std::string(kMinimal) + "[server]\nhostname = \"mx.example.com\"\n");
  EXPECT_EQ(c.server.hostname, "mx.example.com");
}

TEST(Defaults, HostnameMustBeAHostName) {
  ConfigError e = expect_error(std::string(kMinimal) + "[server]\nhostname = \"mx example\"\n");
  EXPECT_EQ(e.line, 4);
  EXPECT_EQ(e.key, "server.hostname");
  EXPECT_TRUE(contains(e.message, "\"mx example\" is not a host name")) << e.message;
}

TEST(Defaults, DisabledInboundNeedsNoBackend) {
  Config c = expect_ok("[inbound]\nenabled = false\n");
  EXPECT_FALSE(c.inbound.enabled);
  EXPECT_TRUE(c.inbound.backend.text.empty());
}

TEST(Defaults, MissingBackendPointsAtTheInboundTable) {
  ConfigError e = expect_error("[server]\nworkers = 2\n\n[inbound]\nrequire_tls = true\n");
  EXPECT_EQ(e.line, 4);
  EXPECT_EQ(e.key, "inbound.backend");
  EXPECT_TRUE(contains(e.message, "required when inbound is enabled")) << e.message;
}

TEST(Defaults, EmptyListenWhileEnabledIsAnError) {
  ConfigError e = expect_error(std::string(kMinimal) + "listen = []\n");
  EXPECT_EQ(e.line, 3);
  EXPECT_EQ(e.key, "inbound.listen");
}

TEST(Defaults, EmptyAuditPathTurnsTheAuditLogOff) {
  Config c = expect_ok(std::string(kMinimal) + "[audit]\npath = \"\"\n");
  EXPECT_TRUE(c.audit.path.empty());
}

TEST(Defaults, EmptyMetricsListenMeansNoMetricsEndpoint) {
  Config c = expect_ok(std::string(kMinimal) + "[metrics]\nlisten = \"\"\n");
  EXPECT_FALSE(c.metrics.listen.has_value());
}

TEST(Defaults, PathsThatMustExistCannotBeEmpty) {
  ConfigError e = expect_error(std::string(kMinimal) + "[server]\nstate_dir = \"\"\n");
  EXPECT_EQ(e.line, 4);
  EXPECT_EQ(e.key, "server.state_dir");
  EXPECT_TRUE(contains(e.message, "must not be empty"));
}

// ---------------------------------------------------------------------------------------------------------
// Error reporting

TEST(ErrorFormat, JoinsFileLineKeyAndMessage) {
  ConfigError e{"mxguard.toml", 7, "inbound.backend_protocol", "bad"};
  EXPECT_EQ(e.to_string(), "mxguard.toml:7: inbound.backend_protocol: bad");
}

TEST(ErrorFormat, LeavesOutEmptyParts) {
  EXPECT_EQ((ConfigError{"f.toml", 0, "", "cannot open"}).to_string(), "f.toml: cannot open");
  EXPECT_EQ((ConfigError{"f.toml", 0, "inbound.backend", "required"}).to_string(), "f.toml: inbound.backend: required");
  EXPECT_EQ((ConfigError{"f.toml", 3, "", "invalid TOML"}).to_string(), "f.toml:3: invalid TOML");
  EXPECT_EQ((ConfigError{"", 0, "k", "m"}).to_string(), "k: m");
}

TEST(ErrorFormat, MatchesTheDocumentedExampleExactly) {
  ConfigError e = expect_error("[server]\nworkers = 1\n\n[inbound]\nlisten = [\"0.0.0.0:25\"]\nbackend = \"127.0.0.1:2525\"\n"
                               "backend_protocol = \"haproxy\"\n");
  EXPECT_EQ(e.to_string(),
            "mxguard.toml:7: inbound.backend_protocol: \"haproxy\" is not one of plain, proxy-v1, proxy-v2, xclient, tproxy");
}

TEST(ErrorFormat, TomlSyntaxErrorsCarryTheLine) {
  ConfigError e = expect_error(std::string(kMinimal) + "require_tls = \n");
  EXPECT_EQ(e.file, kFile);
  EXPECT_EQ(e.line, 3);
  EXPECT_TRUE(e.key.empty());
  EXPECT_TRUE(contains(e.message, "invalid TOML")) << e.message;
}

// Found by fuzz/config_fuzz.cpp: toml++ quotes the bytes it saw, and "fal\n" put a newline in the message.
TEST(ErrorFormat, TomlSyntaxErrorsQuoteNoControlBytes) {
  ConfigError e = expect_error(std::string(kMinimal) + "[inbound]\nrequire_tls = fal\n\x1b[2J\n");
  EXPECT_TRUE(contains(e.message, "invalid TOML")) << e.message;
  for (char c : e.to_string()) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << "byte " << int(c) << " in " << e.to_string();
}

TEST(ErrorFormat, RedefinedTableIsASyntaxError) {
  ConfigError e = expect_error(std::string(kMinimal) + "[inbound]\nrequire_tls = true\n");
  EXPECT_EQ(e.line, 3);
  EXPECT_TRUE(contains(e.message, "invalid TOML"));
}

TEST(ErrorFormat, BinaryGarbageIsAnErrorNotACrash) {
  std::string garbage("\x00\xff\xfe[[[\"\x01", 9);
  LoadResult result = parse_config(garbage, kFile);
  ASSERT_TRUE(std::holds_alternative<ConfigError>(result));
  EXPECT_FALSE(std::get<ConfigError>(result).message.empty());
}

TEST(ErrorFormat, TheFirstProblemInTheFileIsReported) {
  // [metrics] is checked after [server], but it comes first in the file, so it is the one reported.
  ConfigError e = expect_error("[metrics]\nlisten = \"nope\"\n\n[server]\nworkers = -1\n[inbound]\nbackend = \"127.0.0.1:2525\"\n");
  EXPECT_EQ(e.line, 2);
  EXPECT_EQ(e.key, "metrics.listen");
}

TEST(ErrorFormat, ATypoIsReportedRatherThanTheMissingKeyItCaused) {
  ConfigError e = expect_error("[inbound]\nbakend = \"127.0.0.1:2525\"\n");
  EXPECT_EQ(e.line, 2);
  EXPECT_EQ(e.key, "inbound.bakend");
  EXPECT_TRUE(contains(e.message, "unknown key"));
}

TEST(ErrorFormat, ControlCharactersInValuesAreEscaped) {
  ConfigError e = expect_error(std::string(kMinimal) + "bare_newlines = \"re\\nject\"\n");
  EXPECT_TRUE(contains(e.message, "\"re\\x0aject\"")) << e.message;
  EXPECT_FALSE(contains(e.message, "\n"));
}

TEST(LoadFile, MissingFileIsReportedWithoutALine) {
  LoadResult result = load_config("/nonexistent/mxguard.toml");
  ASSERT_TRUE(std::holds_alternative<ConfigError>(result));
  const ConfigError& e = std::get<ConfigError>(result);
  EXPECT_EQ(e.file, "/nonexistent/mxguard.toml");
  EXPECT_EQ(e.line, 0);
  EXPECT_TRUE(contains(e.message, "No such file")) << e.message;
}

TEST(LoadFile, DirectoryIsNotAConfigurationFile) {
  LoadResult result = load_config("/tmp");
  ASSERT_TRUE(std::holds_alternative<ConfigError>(result));
  EXPECT_TRUE(contains(std::get<ConfigError>(result).message, "not a regular file"));
}

TEST(LoadFile, ErrorsAndSourcePathNameTheFileAsGiven) {
  char path[] = "/tmp/mxguard-config-test-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  std::string text = std::string(kMinimal) + "workers = 3\n";
  ASSERT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  close(fd);
  LoadResult bad = load_config(path);
  ASSERT_TRUE(std::holds_alternative<ConfigError>(bad));
  EXPECT_EQ(std::get<ConfigError>(bad).to_string(),
            std::string(path) + ":3: inbound.workers: unknown key; expected one of enabled, listen, backend, "
                                "backend_protocol, require_tls, require_tls_from, bare_newlines, max_message_size, "
                                "certificate, limits");
  std::ofstream(path) << kMinimal;
  LoadResult good = load_config(path);
  unlink(path);
  ASSERT_TRUE(std::holds_alternative<Config>(good));
  EXPECT_EQ(std::get<Config>(good).source_path, path);
}

// ---------------------------------------------------------------------------------------------------------
// Unknown keys and tables, at every level

struct UnknownCase {
  const char* name;
  std::string text;
  int line;
  const char* key;
};

class UnknownKey : public ::testing::TestWithParam<UnknownCase> {};

TEST_P(UnknownKey, IsAnErrorNamingLineAndKey) {
  ConfigError e = expect_error(GetParam().text);
  EXPECT_EQ(e.line, GetParam().line);
  EXPECT_EQ(e.key, GetParam().key);
  EXPECT_TRUE(contains(e.message, "unknown")) << e.message;
  EXPECT_TRUE(contains(e.message, "expected one of")) << e.message;
}

INSTANTIATE_TEST_SUITE_P(
    EveryLevel, UnknownKey,
    ::testing::Values(
        UnknownCase{"TopLevelTable", std::string(kMinimal) + "[serverr]\nworkers = 1\n", 3, "serverr"},
        UnknownCase{"TopLevelKey", "hostname = \"mx\"\n" + std::string(kMinimal), 1, "hostname"},
        UnknownCase{"Server", std::string(kMinimal) + "[server]\nhostnme = \"mx\"\n", 4, "server.hostnme"},
        UnknownCase{"Inbound", std::string(kMinimal) + "requre_tls = true\n", 3, "inbound.requre_tls"},
        UnknownCase{"InboundSubTable", std::string(kMinimal) + "[inbound.limit]\nmax_errors = 3\n", 3, "inbound.limit"},
        UnknownCase{"Limits", std::string(kMinimal) + "[inbound.limits]\nmax_error = 3\n", 4, "inbound.limits.max_error"},
        UnknownCase{"Certificate", std::string(kMinimal) + "[[inbound.certificate]]\ncert = \"a\"\nkey = \"b\"\nchain = \"c\"\n",
                    6, "inbound.certificate[0].chain"},
        UnknownCase{"Outbound", std::string(kMinimal) + "[outbound]\nallowed = []\n", 4, "outbound.allowed"},
        UnknownCase{"Policy", std::string(kMinimal) + "[policy]\ndefault_level = \"may\"\n", 4, "policy.default_level"},
        UnknownCase{"PolicyDomain", std::string(kMinimal) + "[policy.domain.\"example.org\"]\nlevel = \"verify\"\nmx_hosts = []\n",
                    5, "policy.domain.\"example.org\".mx_hosts"},
        UnknownCase{"MtaSts", std::string(kMinimal) + "[mta_sts]\nenable = true\n", 4, "mta_sts.enable"},
        UnknownCase{"Dns", std::string(kMinimal) + "[dns]\nserver = []\n", 4, "dns.server"},
        UnknownCase{"Audit", std::string(kMinimal) + "[audit]\nfile = \"x\"\n", 4, "audit.file"},
        UnknownCase{"Metrics", std::string(kMinimal) + "[metrics]\naddress = \"127.0.0.1:9187\"\n", 4, "metrics.address"}),
    [](const auto& info) { return std::string(info.param.name); });

// ---------------------------------------------------------------------------------------------------------
// Wrong types

TEST(Types, StringWhereAnIntegerBelongs) {
  ConfigError e = expect_error(std::string(kMinimal) + "[server]\nworkers = \"4\"\n");
  EXPECT_EQ(e.line, 4);
  EXPECT_EQ(e.key, "server.workers");
  EXPECT_EQ(e.message, "expected an integer, got a string");
}

TEST(Types, FloatWhereAnIntegerBelongs) {
  ConfigError e = expect_error(std::string(kMinimal) + "max_message_size = 1.5e6\n");
  EXPECT_EQ(e.key, "inbound.max_message_size");
  EXPECT_EQ(e.message, "expected an integer, got a float");
}

TEST(Types, BooleansMustBeTomlBooleans) {
  ConfigError quoted = expect_error(std::string(kMinimal) + "require_tls = \"true\"\n");
  EXPECT_EQ(quoted.key, "inbound.require_tls");
  EXPECT_EQ(quoted.message, "expected a boolean (true or false), got a string");
  ConfigError number = expect_error(std::string(kMinimal) + "require_tls = 1\n");
  EXPECT_EQ(number.message, "expected a boolean (true or false), got an integer");
}

TEST(Types, ScalarWhereAnArrayBelongs) {
  ConfigError e = expect_error(std::string(kMinimal) + "listen = \"0.0.0.0:25\"\n");
  EXPECT_EQ(e.line, 3);
  EXPECT_EQ(e.key, "inbound.listen");
  EXPECT_EQ(e.message, "expected an array, got a string");
}

TEST(Types, ArrayElementOfTheWrongTypeIsNamedByIndex) {
  ConfigError e = expect_error(std::string(kMinimal) + "listen = [\n  \"0.0.0.0:25\",\n  25,\n]\n");
  EXPECT_EQ(e.line, 5);
  EXPECT_EQ(e.key, "inbound.listen[1]");
  EXPECT_EQ(e.message, "expected a string, got an integer");
}

TEST(Types, ScalarWhereASectionBelongs) {
  ConfigError e = expect_error(std::string("server = 5\n") + kMinimal);
  EXPECT_EQ(e.line, 1);
  EXPECT_EQ(e.key, "server");
  EXPECT_TRUE(contains(e.message, "expected a table ([server]), got an integer")) << e.message;
}

TEST(Types, SingleBracketCertificateTableGetsAHint) {
  ConfigError e = expect_error(std::string(kMinimal) + "[inbound.certificate]\ncert = \"a\"\nkey = \"b\"\n");
  EXPECT_EQ(e.line, 3);
  EXPECT_EQ(e.key, "inbound.certificate");
  EXPECT_TRUE(contains(e.message, "[[inbound.certificate]]")) << e.message;
}

TEST(Types, PolicyDomainEntriesMustBeTables) {
  ConfigError e = expect_error(std::string(kMinimal) + "[policy.domain]\n\"example.org\" = \"verify\"\n");
  EXPECT_EQ(e.line, 4);
  EXPECT_EQ(e.key, "policy.domain.\"example.org\"");
  EXPECT_TRUE(contains(e.message, "expected a table")) << e.message;
}

// ---------------------------------------------------------------------------------------------------------
// Integer ranges

TEST(Ranges, PortsAreOneTo65535) {
  EXPECT_EQ(expect_ok(std::string(kMinimal) + "[outbound]\nport = 65535\n").outbound.port, 65535);
  EXPECT_EQ(expect_ok(std::string(kMinimal) + "[outbound]\nport = 1\n").outbound.port, 1);
  ConfigError zero = expect_error(std::string(kMinimal) + "[outbound]\nport = 0\n");
  EXPECT_EQ(zero.key, "outbound.port");
  EXPECT_EQ(zero.message, "must be between 1 and 65535, got 0");
  ConfigError high = expect_error(std::string(kMinimal) + "[mta_sts]\nhttps_port = 65536\n");
  EXPECT_EQ(high.key, "mta_sts.https_port");
}

TEST(Ranges, WorkersAreZeroTo1024) {
  EXPECT_EQ(expect_ok(std::string(kMinimal) + "[server]\nworkers = 1024\n").server.workers, 1024u);
  ConfigError e = expect_error(std::string(kMinimal) + "[server]\nworkers = 1025\n");
  EXPECT_EQ(e.message, "must be between 0 and 1024, got 1025 (0 = one per CPU core)");
  EXPECT_EQ(expect_error(std::string(kMinimal) + "[server]\nworkers = -1\n").key, "server.workers");
}

TEST(Ranges, CommandLineLimitHasTheRfcMinimum) {
  EXPECT_EQ(expect_ok(std::string(kMinimal) + "[inbound.limits]\nmax_command_line = 512\n").inbound.limits.max_command_line, 512u);
  ConfigError e = expect_error(std::string(kMinimal) + "[inbound.limits]\nmax_command_line = 511\n");
  EXPECT_EQ(e.line, 4);
  EXPECT_EQ(e.key, "inbound.limits.max_command_line");
  EXPECT_TRUE(contains(e.message, "RFC 5321")) << e.message;
}

TEST(Ranges, DataLineLimitHasTheRfcMinimum) {
  EXPECT_EQ(expect_ok(std::string(kMinimal) + "[inbound.limits]\nmax_data_line = 1000\n").inbound.limits.max_data_line, 1000u);
  EXPECT_EQ(expect_error(std::string(kMinimal) + "[inbound.limits]\nmax_data_line = 999\n").key, "inbound.limits.max_data_line");
}

TEST(Ranges, RecipientLimitHasTheRfcMinimum) {
  EXPECT_EQ(expect_error(std::string(kMinimal) + "[inbound.limits]\nmax_recipients = 99\n").key, "inbound.limits.max_recipients");
}

TEST(Ranges, LineLimitsHaveAnUpperBound) {
  ConfigError e = expect_error(std::string(kMinimal) + "[inbound.limits]\nmax_reply_line = 2000000\n");
  EXPECT_EQ(e.message, "must be between 512 and 1048576, got 2000000 (RFC 5321 §4.5.3.1.5: at least 512)");
}

TEST(Ranges, MessageSizeIsAtLeast1024) {
  EXPECT_EQ(expect_ok(std::string(kMinimal) + "max_message_size = 1024\n").inbound.max_message_size, 1024u);
  ConfigError e = expect_error(std::string(kMinimal) + "max_message_size = 1023\n");
  EXPECT_EQ(e.message, "must be at least 1024, got 1023");
}

TEST(Ranges, CountsMustBePositive) {
  for (const char* key : {"max_errors", "max_connections", "max_connections_per_ip"}) {
    ConfigError e = expect_error(std::string(kMinimal) + "[inbound.limits]\n" + key + " = 0\n");
    EXPECT_EQ(e.key, std::string("inbound.limits.") + key);
  }
}

TEST(Ranges, MinDataRateZeroMeansOff) {
  EXPECT_EQ(expect_ok(std::string(kMinimal) + "[inbound.limits]\nmin_data_rate = 0\n").inbound.limits.min_data_rate, 0u);
  EXPECT_EQ(expect_ok(std::string(kMinimal) + "[inbound.limits]\nmin_data_rate = 100\n").inbound.limits.min_data_rate, 100u);
  EXPECT_EQ(expect_error(std::string(kMinimal) + "[inbound.limits]\nmin_data_rate = -1\n").key, "inbound.limits.min_data_rate");
}

// ---------------------------------------------------------------------------------------------------------
// Durations

TEST(Durations, IntegersAreSeconds) {
  Config c = expect_ok(std::string(kMinimal) + "[inbound.limits]\ncommand_timeout = 45\n");
  EXPECT_EQ(c.inbound.limits.command_timeout, 45s);
}

TEST(Durations, SecondsMinutesAndHoursAreUnderstood) {
  Config c = expect_ok(std::string(kMinimal) +
                       "[inbound.limits]\ngreeting_timeout = \"45s\"\nreply_timeout = \"2m\"\ndata_end_timeout = \"1h\"\n");
  EXPECT_EQ(c.inbound.limits.greeting_timeout, 45s);
  EXPECT_EQ(c.inbound.limits.reply_timeout, 120s);
  EXPECT_EQ(c.inbound.limits.data_end_timeout, 3600s);
}

TEST(Durations, MillisecondsAreRefusedNotRounded) {
  ConfigError e = expect_error(std::string(kMinimal) + "[inbound.limits]\ntls_handshake_timeout = \"500ms\"\n");
  EXPECT_EQ(e.line, 4);
  EXPECT_EQ(e.key, "inbound.limits.tls_handshake_timeout");
  EXPECT_EQ(e.message,
            "\"500ms\" is not a duration: expected whole seconds as an integer (30) or a string with one unit: "
            "\"30s\", \"5m\", \"1h\"");
}

class BadDuration : public ::testing::TestWithParam<const char*> {};

TEST_P(BadDuration, IsRefused) {
  ConfigError e = expect_error(std::string(kMinimal) + "[inbound.limits]\ncommand_timeout = \"" + GetParam() + "\"\n");
  EXPECT_EQ(e.key, "inbound.limits.command_timeout");
  EXPECT_TRUE(contains(e.message, "is not a duration")) << e.message;
}

INSTANTIATE_TEST_SUITE_P(Spellings, BadDuration,
                         ::testing::Values("1d", "1.5m", "m", "", "30", " 30s", "30 s", "-5s", "1h30m", "30S", "99999999999h"));

TEST(Durations, FloatsAreRefused) {
  ConfigError e = expect_error(std::string(kMinimal) + "[inbound.limits]\ncommand_timeout = 30.0\n");
  EXPECT_TRUE(contains(e.message, "expected a duration")) << e.message;
  EXPECT_TRUE(contains(e.message, "got a float")) << e.message;
}

TEST(Durations, TimeoutsMustBePositiveAndAtMostADay) {
  ConfigError zero = expect_error(std::string(kMinimal) + "[inbound.limits]\ndata_block_timeout = 0\n");
  EXPECT_EQ(zero.message, "must be between 1s and 86400s, got 0");
  ConfigError long_one = expect_error(std::string(kMinimal) + "[inbound.limits]\ndata_block_timeout = \"25h\"\n");
  EXPECT_EQ(long_one.message, "must be between 1s and 86400s, got \"25h\"");
}

TEST(Durations, ShutdownGraceMayBeZero) {
  EXPECT_EQ(expect_ok(std::string(kMinimal) + "[server]\nshutdown_grace = 0\n").server.shutdown_grace, 0s);
  EXPECT_EQ(expect_ok(std::string(kMinimal) + "[server]\nshutdown_grace = \"2m\"\n").server.shutdown_grace, 120s);
}

// ---------------------------------------------------------------------------------------------------------
// Endpoints

Endpoint backend_of(const std::string& text) {
  return expect_ok("[inbound]\nbackend = \"" + text + "\"\n").inbound.backend;
}

TEST(Endpoints, Ipv4) {
  Endpoint ep = backend_of("192.0.2.7:2525");
  EXPECT_EQ(ep.host, "192.0.2.7");
  EXPECT_EQ(ep.port, 2525);
  EXPECT_EQ(ep.text, "192.0.2.7:2525");
}

TEST(Endpoints, BracketedIpv6LosesItsBrackets) {
  Endpoint ep = backend_of("[2001:db8::25]:2525");
  EXPECT_EQ(ep.host, "2001:db8::25");
  EXPECT_EQ(ep.port, 2525);
  EXPECT_EQ(ep.text, "[2001:db8::25]:2525");
}

TEST(Endpoints, Ipv6WildcardAndLoopback) {
  Config c = expect_ok(std::string(kMinimal) + "listen = [\"[::]:25\", \"[::1]:587\"]\n");
  ASSERT_EQ(c.inbound.listen.size(), 2u);
  EXPECT_EQ(c.inbound.listen[0].endpoint.host, "::");
  EXPECT_EQ(c.inbound.listen[1].endpoint.host, "::1");
  EXPECT_EQ(c.inbound.listen[1].endpoint.port, 587);
}

TEST(Endpoints, HostNamesIncludingContainerServiceNames) {
  EXPECT_EQ(backend_of("legacy.example.net:2525").host, "legacy.example.net");
  EXPECT_EQ(backend_of("legacy:2525").host, "legacy");
  EXPECT_EQ(backend_of("legacy_mta:2525").host, "legacy_mta");
}

struct BadEndpointCase {
  const char* text;
  const char* reason;
};

class BadEndpoint : public ::testing::TestWithParam<BadEndpointCase> {};

TEST_P(BadEndpoint, IsRefusedWithTheReason) {
  ConfigError e = expect_error(std::string("[inbound]\nbackend = \"") + GetParam().text + "\"\n");
  EXPECT_EQ(e.line, 2);
  EXPECT_EQ(e.key, "inbound.backend");
  EXPECT_TRUE(contains(e.message, std::string("\"") + GetParam().text + "\" is not a valid address")) << e.message;
  EXPECT_TRUE(contains(e.message, GetParam().reason)) << e.message;
}

INSTANTIATE_TEST_SUITE_P(
    Spellings, BadEndpoint,
    ::testing::Values(BadEndpointCase{"::1:25", "an IPv6 address needs brackets: \"[::1]:25\""},
                      BadEndpointCase{":25", "the host is empty"},
                      BadEndpointCase{"127.0.0.1", "a port is required"},
                      BadEndpointCase{"127.0.0.1:", "the port must be a number from 1 to 65535"},
                      BadEndpointCase{"127.0.0.1:0", "the port must be a number from 1 to 65535"},
                      BadEndpointCase{"127.0.0.1:65536", "the port must be a number from 1 to 65535"},
                      BadEndpointCase{"127.0.0.1:smtp", "the port must be a number from 1 to 65535"},
                      BadEndpointCase{"[::1]25", "a port is required after ']'"},
                      BadEndpointCase{"[::1:25", "missing ']'"},
                      BadEndpointCase{"[127.0.0.1]:25", "is not an IPv6 address"},
                      BadEndpointCase{"1.2.3.256:25", "is not a valid IPv4 address"},
                      BadEndpointCase{"bad host:25", "is not a host name"},
                      BadEndpointCase{"", "a port is required"}));

TEST(Endpoints, DnsServersMustBeAddresses) {
  Config c = expect_ok(std::string(kMinimal) + "[dns]\nservers = [\"127.0.0.1:5353\", \"[::1]:53\"]\n");
  ASSERT_EQ(c.dns.servers.size(), 2u);
  EXPECT_EQ(c.dns.servers[0].port, 5353);
  ConfigError e = expect_error(std::string(kMinimal) + "[dns]\nservers = [\"127.0.0.1:53\", \"ns.example:53\"]\n");
  EXPECT_EQ(e.key, "dns.servers[1]");
  EXPECT_TRUE(contains(e.message, "expected an IP address here")) << e.message;
}

TEST(Endpoints, TheSameListenAddressTwiceIsRefused) {
  ConfigError e = expect_error(std::string(kMinimal) + "listen = [\"0.0.0.0:25\", \"0.0.0.0:25\"]\n");
  EXPECT_EQ(e.key, "inbound.listen[1]");
  EXPECT_TRUE(contains(e.message, "listed twice"));
}

TEST(Endpoints, BackendThatIsMxguardItselfIsRefused) {
  ConfigError e = expect_error("[inbound]\nbackend = \"127.0.0.1:25\"\n");
  EXPECT_EQ(e.line, 2);
  EXPECT_EQ(e.key, "inbound.backend");
  EXPECT_TRUE(contains(e.message, "mxguard's own listener \"0.0.0.0:25\"")) << e.message;
}

TEST(Endpoints, OutboundListenerOverlappingInboundIsRefused) {
  ConfigError e = expect_error(std::string(kMinimal) + "[outbound]\nlisten = [\"127.0.0.1:25\"]\n");
  EXPECT_EQ(e.line, 4);
  EXPECT_EQ(e.key, "outbound.listen[0]");
  EXPECT_TRUE(contains(e.message, "overlaps inbound.listen[0]")) << e.message;
}

TEST(Endpoints, ListenersOnDifferentPortsOrFamiliesCoexist) {
  Config c = expect_ok(std::string(kMinimal) + "listen = [\"0.0.0.0:25\"]\n[outbound]\nlisten = [\"[::1]:25\", \"127.0.0.1:10025\"]\n"
                       "[metrics]\nlisten = \"127.0.0.1:9187\"\n");
  EXPECT_EQ(c.outbound.listen.size(), 2u);
  ASSERT_TRUE(c.metrics.listen.has_value());
  EXPECT_EQ(c.metrics.listen->text, "127.0.0.1:9187");
}

// ---------------------------------------------------------------------------------------------------------
// Enumerations

class BackendProtocolSpelling : public ::testing::TestWithParam<BackendProtocol> {};

TEST_P(BackendProtocolSpelling, RoundTripsThroughToString) {
  std::string spelled(to_string(GetParam()));
  Config c = expect_ok(std::string(kMinimal) + "backend_protocol = \"" + spelled + "\"\n");
  EXPECT_EQ(c.inbound.backend_protocol, GetParam());
}

INSTANTIATE_TEST_SUITE_P(All, BackendProtocolSpelling,
                         ::testing::Values(BackendProtocol::Plain, BackendProtocol::ProxyV1, BackendProtocol::ProxyV2,
                                           BackendProtocol::Xclient, BackendProtocol::Tproxy));

TEST(Enums, ToStringUsesTheFileSpellings) {
  EXPECT_EQ(to_string(BackendProtocol::ProxyV2), "proxy-v2");
  EXPECT_EQ(to_string(BareNewlines::Normalize), "normalize");
  EXPECT_EQ(to_string(TlsLevel::MtaSts), "mta-sts");
  EXPECT_EQ(to_string(TlsLevel::None), "none");
}

TEST(Enums, SpellingsAreCaseSensitive) {
  ConfigError e = expect_error(std::string(kMinimal) + "backend_protocol = \"PROXY-V2\"\n");
  EXPECT_EQ(e.message, "\"PROXY-V2\" is not one of plain, proxy-v1, proxy-v2, xclient, tproxy");
}

TEST(Enums, BareNewlines) {
  EXPECT_EQ(expect_ok(std::string(kMinimal) + "bare_newlines = \"normalize\"\n").inbound.bare_newlines, BareNewlines::Normalize);
  EXPECT_EQ(expect_ok(std::string(kMinimal) + "bare_newlines = \"reject\"\n").inbound.bare_newlines, BareNewlines::Reject);
  EXPECT_EQ(expect_error(std::string(kMinimal) + "bare_newlines = \"strip\"\n").message,
            "\"strip\" is not one of reject, normalize");
}

TEST(Enums, LogLevels) {
  for (const char* level : {"trace", "debug", "info", "warn", "error"}) {
    EXPECT_EQ(expect_ok(std::string(kMinimal) + "[server]\nlog_level = \"" + level + "\"\n").server.log_level, level);
  }
  EXPECT_EQ(expect_error(std::string(kMinimal) + "[server]\nlog_level = \"warning\"\n").message,
            "\"warning\" is not one of trace, debug, info, warn, error");
}

TEST(Enums, OutboundModes) {
  EXPECT_EQ(expect_ok(std::string(kMinimal) + "[outbound]\nmode = \"transparent\"\n").outbound.mode, "transparent");
  EXPECT_EQ(expect_error(std::string(kMinimal) + "[outbound]\nmode = \"smarthost\"\n").message,
            "\"smarthost\" is not one of relay, transparent");
}

TEST(Enums, PolicyDefaultLevels) {
  EXPECT_EQ(expect_ok(std::string(kMinimal) + "[policy]\ndefault = \"verify\"\n").policy.default_level, TlsLevel::Verify);
  EXPECT_EQ(expect_ok(std::string(kMinimal) + "[policy]\ndefault = \"none\"\n").policy.default_level, TlsLevel::None);
  ConfigError e = expect_error(std::string(kMinimal) + "[policy]\ndefault = \"mta-sts\"\n");
  EXPECT_EQ(e.key, "policy.default");
  EXPECT_EQ(e.message, "\"mta-sts\" is not one of none, may, encrypt, verify, dane (it would refuse every domain that "
                       "publishes no such policy: use it in a [policy.domain] entry)");
}

// ---------------------------------------------------------------------------------------------------------
// Domains and policy

TEST(Domains, RequireTlsFromIsLowerCased) {
  Config c = expect_ok(std::string(kMinimal) + "require_tls_from = [\"Example.ORG\", \"bank.example\"]\n");
  EXPECT_EQ(c.inbound.require_tls_from, (std::vector<std::string>{"example.org", "bank.example"}));
}

TEST(Domains, RequireTlsFromRejectsWhatIsNotADomain) {
  for (const char* bad : {"user@example.org", "example..org", "-example.org", "example.org.", "exämple.org", "*.example.org"}) {
    ConfigError e = expect_error(std::string(kMinimal) + "require_tls_from = [\"ok.example\", \"" + bad + "\"]\n");
    EXPECT_EQ(e.key, "inbound.require_tls_from[1]") << bad;
    EXPECT_TRUE(contains(e.message, "is not a domain name")) << e.message;
  }
}

TEST(Domains, NonAsciiNamesAskForTheALabel) {
  ConfigError e = expect_error(std::string(kMinimal) + "require_tls_from = [\"exämple.org\"]\n");
  EXPECT_TRUE(contains(e.message, "xn--")) << e.message;
}

TEST(Policy, DomainsAreLowerCasedAndKeptInFileOrder) {
  Config c = expect_ok(std::string(kMinimal) +
                       "[policy.domain.\"Zeta.Example\"]\nlevel = \"encrypt\"\n"
                       "[policy.domain.\"alpha.example\"]\nlevel = \"mta-sts\"\nmx = [\"*.Alpha.Example\", \"mx1.alpha.example\"]\n");
  ASSERT_EQ(c.policy.domains.size(), 2u);
  EXPECT_EQ(c.policy.domains[0].first, "zeta.example");
  EXPECT_EQ(c.policy.domains[0].second.level, TlsLevel::Encrypt);
  EXPECT_TRUE(c.policy.domains[0].second.mx.empty());
  EXPECT_EQ(c.policy.domains[1].first, "alpha.example");
  EXPECT_EQ(c.policy.domains[1].second.level, TlsLevel::MtaSts);
  EXPECT_EQ(c.policy.domains[1].second.mx, (std::vector<std::string>{"*.alpha.example", "mx1.alpha.example"}));
}

TEST(Policy, ErrorsInADomainNameTheQuotedKey) {
  ConfigError e = expect_error(std::string(kMinimal) + "[policy.domain.\"example.org\"]\nlevel = \"strict\"\n");
  EXPECT_EQ(e.to_string(),
            "mxguard.toml:4: policy.domain.\"example.org\".level: \"strict\" is not one of none, may, encrypt, verify, "
            "mta-sts, dane, dane-only");
}

TEST(Policy, DomainLevelIsRequired) {
  ConfigError e = expect_error(std::string(kMinimal) + "[policy.domain.\"example.org\"]\nmx = [\"mx.example.org\"]\n");
  EXPECT_EQ(e.line, 3);
  EXPECT_EQ(e.key, "policy.domain.\"example.org\".level");
  EXPECT_TRUE(contains(e.message, "required")) << e.message;
}

TEST(Policy, TheSameDomainInTwoCasesIsRefused) {
  ConfigError e = expect_error(std::string(kMinimal) + "[policy.domain.\"example.org\"]\nlevel = \"may\"\n"
                                                       "[policy.domain.\"Example.org\"]\nlevel = \"verify\"\n");
  EXPECT_EQ(e.line, 5);
  EXPECT_EQ(e.key, "policy.domain.\"Example.org\"");
  EXPECT_TRUE(contains(e.message, "configured twice")) << e.message;
}

TEST(Policy, DomainKeysMustBeDomainNames) {
  ConfigError e = expect_error(std::string(kMinimal) + "[policy.domain.\"not a domain\"]\nlevel = \"may\"\n");
  EXPECT_EQ(e.key, "policy.domain.\"not a domain\"");
  EXPECT_TRUE(contains(e.message, "is not a domain name")) << e.message;
}

TEST(Policy, DomainKeysThatReadAsAddressesAreRefused) {
  ConfigError e = expect_error(std::string(kMinimal) + "[policy.domain.\"192.0.2.1\"]\nlevel = \"may\"\n");
  EXPECT_EQ(e.key, "policy.domain.\"192.0.2.1\"");
  EXPECT_EQ(e.message, "\"192.0.2.1\" is not a domain name: it looks like an IP address");
}

TEST(Policy, UnquotedDottedDomainGetsAHint) {
  ConfigError e = expect_error(std::string(kMinimal) + "[policy.domain.example.org]\nlevel = \"verify\"\n");
  EXPECT_EQ(e.to_string(),
            "mxguard.toml:3: policy.domain.example: a domain name with dots must be quoted: "
            "[policy.domain.\"example.org\"]");
}

TEST(Policy, MxWildcardOnlyAsTheLeftMostLabel) {
  ConfigError e = expect_error(std::string(kMinimal) + "[policy.domain.\"example.org\"]\nlevel = \"verify\"\n"
                                                       "mx = [\"mx.*.example.org\"]\n");
  EXPECT_EQ(e.line, 5);
  EXPECT_EQ(e.key, "policy.domain.\"example.org\".mx[0]");
  EXPECT_TRUE(contains(e.message, "left-most label")) << e.message;
}

TEST(Policy, MxPatternsMustNameHostsNotAddresses) {
  for (const char* address : {"192.0.2.25", "[2001:db8::25]", "2001:db8::25", "*.0.2.25"}) {
    ConfigError e = expect_error(std::string(kMinimal) + "[policy.domain.\"example.org\"]\nlevel = \"verify\"\n"
                                                         "mx = [\"mx.example.org\", \"" + address + "\"]\n");
    EXPECT_EQ(e.line, 5) << address;
    EXPECT_EQ(e.key, "policy.domain.\"example.org\".mx[1]") << address;
    EXPECT_TRUE(contains(e.message, "is not an MX host name or pattern: it looks like an IP address")) << e.message;
  }
}

TEST(Policy, EveryLevelTheDomainTableAcceptsRoundTrips) {
  for (TlsLevel level : {TlsLevel::None, TlsLevel::May, TlsLevel::Encrypt, TlsLevel::Verify, TlsLevel::MtaSts,
                         TlsLevel::Dane, TlsLevel::DaneOnly}) {
    Config c = expect_ok(std::string(kMinimal) + "[policy.domain.\"example.org\"]\nlevel = \"" +
                         std::string(to_string(level)) + "\"\n");
    ASSERT_EQ(c.policy.domains.size(), 1u);
    EXPECT_EQ(c.policy.domains[0].second.level, level);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Outbound allow list (CIDRs)

TEST(Cidrs, Ipv4AndIpv6NetworksAreAccepted) {
  Config c = expect_ok(std::string(kMinimal) + "[outbound]\nallow = [\"10.0.0.0/8\", \"192.0.2.1/32\", \"2001:DB8::/32\"]\n");
  EXPECT_EQ(c.outbound.allow, (std::vector<std::string>{"10.0.0.0/8", "192.0.2.1/32", "2001:db8::/32"}));
}

TEST(Cidrs, AnEmptyAllowListIsKeptEmpty) {
  EXPECT_TRUE(expect_ok(std::string(kMinimal) + "[outbound]\nallow = []\n").outbound.allow.empty());
}

struct BadCidrCase {
  const char* text;
  const char* reason;
};

class BadCidr : public ::testing::TestWithParam<BadCidrCase> {};

TEST_P(BadCidr, IsRefusedWithTheReason) {
  ConfigError e = expect_error(std::string(kMinimal) + "[outbound]\nallow = [\"" + GetParam().text + "\"]\n");
  EXPECT_EQ(e.line, 4);
  EXPECT_EQ(e.key, "outbound.allow[0]");
  EXPECT_TRUE(contains(e.message, "is not a CIDR")) << e.message;
  EXPECT_TRUE(contains(e.message, GetParam().reason)) << e.message;
}

INSTANTIATE_TEST_SUITE_P(Spellings, BadCidr,
                         ::testing::Values(BadCidrCase{"127.0.0.1", "a prefix length is required"},
                                           BadCidrCase{"10.0.0.1/8", "did you mean \"10.0.0.0/8\"?"},
                                           BadCidrCase{"2001:db8::1/32", "did you mean \"2001:db8::/32\"?"},
                                           BadCidrCase{"1.2.3.4/33", "from 0 to 32"},
                                           BadCidrCase{"::1/129", "from 0 to 128"},
                                           BadCidrCase{"10.0.0.0/", "from 0 to 32"},
                                           BadCidrCase{"example.org/24", "is not an IP address"},
                                           BadCidrCase{"10.0.0.0/8/8", "from 0 to 32"},
                                           BadCidrCase{"::ffff:10.0.0.1/104", "did you mean \"::ffff:10.0.0.0/104\"?"}));

TEST(Cidrs, AllowingEveryAddressWarns) {
  Config c = expect_ok(std::string(kMinimal) + "backend_protocol = \"proxy-v2\"\n[outbound]\nallow = [\"0.0.0.0/0\"]\n");
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_TRUE(contains(c.warnings[0], "mxguard.toml:5: outbound.allow: \"0.0.0.0/0\" lets any address")) << c.warnings[0];
}

TEST(Cidrs, EveryIpv4AddressInTheMappedFormWarnsToo) {
  for (const char* all : {"::/0", "::ffff:0:0/96", "::ffff:0.0.0.0/96"}) {
    Config c = expect_ok(std::string(kMinimal) + "backend_protocol = \"proxy-v2\"\n[outbound]\nallow = [\"" + all + "\"]\n");
    EXPECT_EQ(c.warnings.size(), 1u) << all;
  }
  Config narrow = expect_ok(std::string(kMinimal) + "backend_protocol = \"proxy-v2\"\n[outbound]\nallow = [\"::ffff:10.0.0.0/104\"]\n");
  EXPECT_TRUE(narrow.warnings.empty());
}

// ---------------------------------------------------------------------------------------------------------
// Certificates

TEST(Certificates, KeepFileOrderAndTheirLines) {
  Config c = expect_ok(std::string(kMinimal) +
                       "[[inbound.certificate]]\ncert = \"/tls/ecdsa.crt\"\nkey = \"/tls/ecdsa.key\"\n\n"
                       "[[inbound.certificate]]\ncert = \"/tls/rsa.crt\"\nkey = \"/tls/rsa.key\"\n");
  ASSERT_EQ(c.inbound.certificates.size(), 2u);
  EXPECT_EQ(c.inbound.certificates[0].cert, "/tls/ecdsa.crt");
  EXPECT_EQ(c.inbound.certificates[0].line, 3);
  EXPECT_EQ(c.inbound.certificates[1].key, "/tls/rsa.key");
  EXPECT_EQ(c.inbound.certificates[1].line, 7);
}

TEST(Certificates, AnEntryWithoutItsKeyIsAnError) {
  ConfigError e = expect_error(std::string(kMinimal) + "[[inbound.certificate]]\ncert = \"a.crt\"\nkey = \"a.key\"\n"
                                                       "[[inbound.certificate]]\ncert = \"b.crt\"\n");
  EXPECT_EQ(e.to_string(), "mxguard.toml:6: inbound.certificate[1].key: required: the PEM private key file");
}

TEST(Certificates, EmptyPathsAreErrors) {
  ConfigError e = expect_error(std::string(kMinimal) + "[[inbound.certificate]]\ncert = \"\"\nkey = \"a.key\"\n");
  EXPECT_EQ(e.line, 4);
  EXPECT_EQ(e.key, "inbound.certificate[0].cert");
}

TEST(Certificates, InlineTablesWorkToo) {
  Config c = expect_ok(std::string(kMinimal) + "certificate = [{ cert = \"a.crt\", key = \"a.key\" }]\n");
  ASSERT_EQ(c.inbound.certificates.size(), 1u);
  EXPECT_EQ(c.inbound.certificates[0].line, 3);
}

// ---------------------------------------------------------------------------------------------------------
// Warnings

TEST(Warnings, PlainBackendProtocolWarnsOfAnOpenRelay) {
  Config c = expect_ok(std::string(kMinimal) + "backend_protocol = \"plain\"\n");
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_EQ(c.warnings[0],
            "mxguard.toml:3: inbound.backend_protocol: \"plain\": the backend sees every client as mxguard's own "
            "address; if it trusts that address (mynetworks), it is an open relay: use proxy-v2 or xclient");
}

TEST(Warnings, PlainByDefaultWarnsToo) {
  Config c = expect_ok(kMinimal);
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_TRUE(contains(c.warnings[0], "mxguard.toml:1: inbound.backend_protocol: \"plain\" (the default)")) << c.warnings[0];
}

TEST(Warnings, ProxyProtocolsAndXclientDoNotWarn) {
  for (const char* protocol : {"proxy-v1", "proxy-v2", "xclient", "tproxy"}) {
    EXPECT_TRUE(expect_ok(std::string(kMinimal) + "backend_protocol = \"" + protocol + "\"\n").warnings.empty()) << protocol;
  }
}

TEST(Warnings, TransparentOutboundModeIsNotAWarning) {
  // It reads the original destination now; there is nothing left to warn about.
  EXPECT_TRUE(expect_ok(std::string(kMinimal) +
                        "backend_protocol = \"proxy-v2\"\n[outbound]\nlisten = [\"127.0.0.1:10025\"]\nmode = \"transparent\"\n")
                  .warnings.empty());
}

TEST(Warnings, DisabledInboundDoesNotWarnAboutItsBackend) {
  EXPECT_TRUE(expect_ok("[inbound]\nenabled = false\n").warnings.empty());
}

}  // namespace
}  // namespace mxguard::config

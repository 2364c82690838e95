// The tables of every section of the configuration file: one row per key, in the order the loader reads
// them and the unknown-key messages list them. Adding a key here makes the loader accept it, and the
// schema tests demand it in docs/configuration.md and deploy/mxguard.toml.
#include "policy/config/schema.h"

#include "policy/config/entry_readers.h"
#include "policy/config/key_table.h"

namespace mxguard::config {
namespace {

// The default applies to every domain without an entry, most of which publish no MTA-STS policy and no
// TLSA records: an "mta-sts" or "dane-only" default would refuse them all. `dane` is the recommended
// default: DANE where the domain publishes it, its MTA-STS policy or opportunistic TLS where not. A domain
// entry may demand MTA-STS or DANE of its own domain.
constexpr TlsLevel kDefaultLevels[] = {TlsLevel::None, TlsLevel::May, TlsLevel::Encrypt, TlsLevel::Verify, TlsLevel::Dane};
constexpr TlsLevel kDomainLevels[] = {TlsLevel::None,   TlsLevel::May,  TlsLevel::Encrypt, TlsLevel::Verify,
                                      TlsLevel::MtaSts, TlsLevel::Dane, TlsLevel::DaneOnly};
constexpr std::string_view kNotADefault =
    "it would refuse every domain that publishes no such policy: use it in a [policy.domain] entry";

template <class T>
Key<T> required_path(std::string_view name, std::string T::*field, std::string_view what) {
  Key<T> key = path(name, field);
  key.read = [=](const Section& s, T& t) {
    if (!s.has(name)) return s.error(name, "required: " + std::string(what));
    s.read_path(name, t.*field);
  };
  key.show = {};
  return key;
}

const KeyTable<Server>& server_keys() {
  static const KeyTable<Server> keys = {
      custom<Server>("hostname", KeyKind::Value, read_hostname),
      integer("workers", &Server::workers, {0, 1024, "0 = one per CPU core"}),
      path("state_dir", &Server::state_dir),
      word("log_level", &Server::log_level, {"trace", "debug", "info", "warn", "error"}),
      duration("shutdown_grace", &Server::shutdown_grace, {0, kOneDay}),
  };
  return keys;
}

// [inbound.limits] and [outbound.limits]. Lower bounds are the sizes RFC 5321 §4.5.3.1 says every SMTP
// server must accept.
const KeyTable<Limits>& limit_keys() {
  static const KeyTable<Limits> keys = {
      integer("max_command_line", &Limits::max_command_line, {512, kMaxLine, "RFC 5321 §4.5.3.1.4: at least 512"}),
      integer("max_data_line", &Limits::max_data_line, {1000, kMaxLine, "RFC 5321 §4.5.3.1.6: at least 1000"}),
      integer("max_reply_line", &Limits::max_reply_line, {512, kMaxLine, "RFC 5321 §4.5.3.1.5: at least 512"}),
      integer("max_recipients", &Limits::max_recipients, {100, kMaxCount, "RFC 5321 §4.5.3.1.8: at least 100"}),
      integer("max_errors", &Limits::max_errors, {1, kMaxCount}),
      integer("max_junk_commands", &Limits::max_junk_commands, {1, kMaxCount}),
      integer("max_connections", &Limits::max_connections, {1, kMaxCount}),
      integer("max_connections_per_ip", &Limits::max_connections_per_ip, {1, kMaxCount}),
      duration("backend_connect_timeout", &Limits::backend_connect_timeout, {1, kOneDay}),
      duration("greeting_timeout", &Limits::greeting_timeout, {1, kOneDay}),
      duration("command_timeout", &Limits::command_timeout, {1, kOneDay}),
      duration("reply_timeout", &Limits::reply_timeout, {1, kOneDay}),
      duration("data_block_timeout", &Limits::data_block_timeout, {1, kOneDay}),
      duration("data_end_timeout", &Limits::data_end_timeout, {1, kOneDay}),
      duration("tls_handshake_timeout", &Limits::tls_handshake_timeout, {1, kOneDay}),
      duration("backend_write_timeout", &Limits::backend_write_timeout, {1, kOneDay}),
      integer("min_data_rate", &Limits::min_data_rate, {0, std::int64_t{1} << 30, "bytes per second; 0 = off"}),
      // 0 applies the rate from the first byte; past an hour it would never apply to a real message.
      duration("min_data_rate_grace", &Limits::min_data_rate_grace, {0, 3600}),
      duration("abuse_penalty", &Limits::abuse_penalty, {0, kOneDay}),
      integer("abuse_penalty_ipv4_prefix", &Limits::abuse_penalty_ipv4_prefix,
              {16, 32, "a shorter prefix would refuse whole providers"}),
      integer("abuse_penalty_ipv6_prefix", &Limits::abuse_penalty_ipv6_prefix,
              {32, 128, "a shorter prefix would refuse whole providers"}),
  };
  return keys;
}

const KeyTable<Certificate>& certificate_keys() {
  static const KeyTable<Certificate> keys = {
      required_path("cert", &Certificate::cert, "the PEM certificate chain file, leaf first"),
      required_path("key", &Certificate::key, "the PEM private key file"),
  };
  return keys;
}

const KeyTable<Listener>& listener_keys() {
  static const KeyTable<Listener> keys = {
      custom<Listener>("address", KeyKind::Value,
                       [](const Section& s, Listener& l) {
                         if (!s.has("address")) return s.error("address", "required: the address to listen on, e.g. \"0.0.0.0:465\"");
                         s.read_endpoint("address", l.endpoint, HostKind::NameOrAddress);
                       }),
      enumeration("tls", &Listener::implicit_tls, {{"starttls", false}, {"implicit", true}}),
  };
  return keys;
}

// As the file would write them: plain strings, unless a listener needs its table form.
std::string show_listeners(const Inbound& in) {
  std::vector<std::string> items;
  for (const Listener& l : in.listen) {
    items.push_back(l.implicit_tls ? "{ address = " + quoted(l.endpoint.text) + ", tls = \"implicit\" }"
                                   : quoted(l.endpoint.text));
  }
  return toml_array(items);
}

const KeyTable<Inbound>& inbound_keys() {
  static const KeyTable<Inbound> keys = {
      boolean("enabled", &Inbound::enabled),
      with_entries(custom<Inbound>("listen", KeyKind::Value,
                                   [](const Section& s, Inbound& in) { read_listeners(s, in.listen, listener_keys()); },
                                   show_listeners),
                   listener_keys(), ""),
      endpoint("backend", &Inbound::backend, HostKind::NameOrAddress),
      enumeration("backend_protocol", &Inbound::backend_protocol,
                  {{"plain", BackendProtocol::Plain},
                   {"proxy-v1", BackendProtocol::ProxyV1},
                   {"proxy-v2", BackendProtocol::ProxyV2},
                   {"xclient", BackendProtocol::Xclient},
                   {"tproxy", BackendProtocol::Tproxy}}),
      boolean("require_tls", &Inbound::require_tls),
      string_list("require_tls_from", &Inbound::require_tls_from, check_domain),
      enumeration("bare_newlines", &Inbound::bare_newlines,
                  {{"reject", BareNewlines::Reject}, {"normalize", BareNewlines::Normalize}}),
      integer("max_message_size", &Inbound::max_message_size, {1024, kNoMax}),
      with_entries(custom<Inbound>("certificate", KeyKind::ArrayOfTables,
                                   [](const Section& s, Inbound& in) { read_certificates(s, in.certificates, certificate_keys()); }),
                   certificate_keys(), ""),
      table("limits", &Inbound::limits, limit_keys()),
  };
  return keys;
}

const KeyTable<Outbound>& outbound_keys() {
  static const KeyTable<Outbound> keys = {
      endpoint_list("listen", &Outbound::listen, HostKind::NameOrAddress),
      word("mode", &Outbound::mode, {"relay", "transparent"}),
      custom<Outbound>("allow", KeyKind::Value, [](const Section& s, Outbound& out) { read_allow(s, out.allow); },
                       [](const Outbound& out) { return toml_string_array(out.allow); }),
      integer("port", &Outbound::port, {1, 65535}),
      path("ca_file", &Outbound::ca_file),
      custom<Outbound>("route", KeyKind::NamedValues, [](const Section& s, Outbound& out) { read_routes(s, out.routes); }),
      table("limits", &Outbound::limits, limit_keys()),
  };
  return keys;
}

const KeyTable<DomainPolicy>& domain_policy_keys() {
  static const KeyTable<DomainPolicy> keys = {
      // Required: the table exists to pin a level.
      custom<DomainPolicy>("level", KeyKind::Value,
                           [](const Section& s, DomainPolicy& p) { read_level(s, "level", p.level, kDomainLevels, "", true); }),
      string_list("mx", &DomainPolicy::mx, check_mx_pattern),
      custom<DomainPolicy>("expires", KeyKind::Value, [](const Section& s, DomainPolicy& p) { s.read_date("expires", p.expires); }),
      custom<DomainPolicy>("reason", KeyKind::Value, [](const Section& s, DomainPolicy& p) { read_log_text(s, "reason", p.reason); }),
  };
  return keys;
}

const KeyTable<Policy>& policy_keys() {
  static const KeyTable<Policy> keys = {
      custom<Policy>("default", KeyKind::Value,
                     [](const Section& s, Policy& p) { read_level(s, "default", p.default_level, kDefaultLevels, kNotADefault, false); },
                     [](const Policy& p) { return quoted(to_string(p.default_level)); }),
      with_entries(custom<Policy>("domain", KeyKind::NamedTables,
                                  [](const Section& s, Policy& p) { read_domains(s, p.domains, domain_policy_keys()); }),
                   domain_policy_keys(), ".*"),
  };
  return keys;
}

const KeyTable<MtaSts>& mta_sts_keys() {
  static const KeyTable<MtaSts> keys = {
      boolean("enabled", &MtaSts::enabled),
      path("cache_file", &MtaSts::cache_file),
      path("ca_file", &MtaSts::ca_file),
      integer("https_port", &MtaSts::https_port, {1, 65535}),
      path("fetcher", &MtaSts::fetcher),
      duration("fetch_timeout", &MtaSts::fetch_timeout, {1, 300}),
  };
  return keys;
}

const KeyTable<Dns>& dns_keys() {
  static const KeyTable<Dns> keys = {
      // The resolver cannot use itself to find its servers: addresses only.
      endpoint_list("servers", &Dns::servers, HostKind::AddressOnly),
      // DANE rests on the AD bit; off loopback, the path to the resolver can forge it.
      boolean("trust_ad", &Dns::trust_ad),
  };
  return keys;
}

const KeyTable<Audit>& audit_keys() {
  static const KeyTable<Audit> keys = {
      // audit.path = "" turns the audit log off, so an empty string is allowed here.
      custom<Audit>("path", KeyKind::Value,
                    [](const Section& s, Audit& a) {
                      if (const std::string* path = s.string("path")) a.path = *path;
                    },
                    [](const Audit& a) { return quoted(a.path); }),
  };
  return keys;
}

const KeyTable<Metrics>& metrics_keys() {
  static const KeyTable<Metrics> keys = {
      custom<Metrics>("listen", KeyKind::Value, [](const Section& s, Metrics& m) { read_optional_endpoint(s, "listen", m.listen); }),
  };
  return keys;
}

const KeyTable<Config>& document_keys() {
  static const KeyTable<Config> keys = {
      table("server", &Config::server, server_keys()),
      table("inbound", &Config::inbound, inbound_keys()),
      table("outbound", &Config::outbound, outbound_keys()),
      table("policy", &Config::policy, policy_keys()),
      table("mta_sts", &Config::mta_sts, mta_sts_keys()),
      table("dns", &Config::dns, dns_keys()),
      table("audit", &Config::audit, audit_keys()),
      table("metrics", &Config::metrics, metrics_keys()),
  };
  return keys;
}

}  // namespace

std::string toml_array(const std::vector<std::string>& quoted_items) {
  std::string out = "[";
  for (const std::string& item : quoted_items) out += (out.size() > 1 ? ", " : "") + item;
  return out + "]";
}

std::string toml_string_array(const std::vector<std::string>& items) {
  std::vector<std::string> quoted_items;
  for (const std::string& item : items) quoted_items.push_back(quoted(item));
  return toml_array(quoted_items);
}

void read_document(const Section& root, Config& config) {
  root.expect_keys(names_of(document_keys()));
  read_keys(root, document_keys(), config);
}

const std::vector<KeyDescription>& describe_schema() {
  static const std::vector<KeyDescription> all = [] {
    std::vector<KeyDescription> out;
    describe_keys<Config>("", document_keys(), [](const Config& c) { return &c; }, out);
    return out;
  }();
  return all;
}

}  // namespace mxguard::config

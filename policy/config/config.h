#pragma once
// The configuration model: one immutable snapshot per load (design.md, "Configuration"). Every key of the
// TOML file has a field here; config_loader.h turns a file into a Config or a precise error.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/bare_newlines.h"
#include "policy/tls_level.h"

namespace mxguard::config {

// "host:port" / "[v6]:port" as written by the operator, split; resolution happens at bind/connect time.
struct Endpoint {
  std::string host;   // literal IPv4/IPv6 address (no brackets) or a host name
  std::uint16_t port = 0;
  std::string text;   // the original spelling, for logs
};

// How the backend learns the client's address: not at all, a PROXY header, an XCLIENT command, or the
// connection itself comes from the client's address (tproxy: IP_TRANSPARENT, needs CAP_NET_ADMIN).
enum class BackendProtocol { Plain, ProxyV1, ProxyV2, Xclient, Tproxy };
using mxguard::BareNewlines;   // base/bare_newlines.h: the same enum the content filter takes
// The levels and their spellings are the policy's (policy/tls_level.h); the alias keeps config:: spellings working.
using TlsLevel = policy::TlsLevel;
using policy::to_string;

struct Certificate {
  std::string cert;   // PEM chain, leaf first
  std::string key;    // PEM private key
  int line = 0;       // where the [[inbound.certificate]] entry starts, for error messages
};

// Protocol limits and timeouts (RFC 5321 §4.5.3), the same keys in both directions. The "client" is the
// one that connects to mxguard (a remote MTA inbound, the legacy MTA outbound); the "far side" is the one
// mxguard connects to (the legacy backend inbound, the remote MX outbound). Defaults are the RFC's where it
// gives one; each direction adjusts some (default_inbound_limits, default_outbound_limits).
struct Limits {
  std::size_t max_command_line = 2048;         // bytes incl. CRLF; longer -> 500 5.5.2
  std::size_t max_data_line = 65536;           // bytes incl. CRLF; longer -> 500 5.5.2 after the data
  std::size_t max_reply_line = 4096;           // from the far side; longer -> the session fails closed
  std::size_t max_recipients = 1000;           // per transaction; more -> 452 4.5.3
  unsigned max_errors = 10;                    // bad commands per session; more -> 421 and close
  unsigned max_junk_commands = 100;            // NOOP, RSET, VRFY, EXPN, HELP, ETRN between messages; more -> 421
  std::size_t max_connections = 1000;          // all clients together, across workers; more -> 421 4.7.0
  std::size_t max_connections_per_ip = 20;     // per client address; more -> 421 4.7.0
  std::chrono::seconds backend_connect_timeout{30};   // connecting to the far side
  std::chrono::seconds greeting_timeout{300};      // the far side's greeting (RFC: 5 min)
  std::chrono::seconds command_timeout{300};       // client idle between commands (RFC: 5 min)
  std::chrono::seconds reply_timeout{300};         // far side's reply to a command (RFC: 5 min for MAIL/RCPT)
  std::chrono::seconds data_block_timeout{180};    // between content chunks (RFC: 3 min)
  std::chrono::seconds data_end_timeout{600};      // far side's reply to end-of-data (RFC: 10 min)
  std::chrono::seconds tls_handshake_timeout{60};
  std::chrono::seconds backend_write_timeout{180}; // far side taking none of our bytes (its back-pressure)
  std::uint64_t min_data_rate = 0;                 // bytes/s averaged over DATA; 0 = off
  std::chrono::seconds min_data_rate_grace{30};    // DATA may run this long before min_data_rate applies
  // After a session is ended for abuse (max_errors, max_junk_commands, talking before the greeting), new
  // connections from its address get 421 4.7.0 at once for this long. 0 = off (the default, as Postfix's
  // connection rate limits are): an address can be shared by many senders behind one NAT or relay.
  std::chrono::seconds abuse_penalty{0};
  // What the penalty is given to: the client's network of this many bits. An IPv6 host usually has a
  // whole /64 to take addresses from, so its exact address would be no obstacle.
  unsigned abuse_penalty_ipv4_prefix = 32;
  unsigned abuse_penalty_ipv6_prefix = 64;
};

// Inbound, the far side is the legacy backend next door, and the remote MTA waits for our greeting: the
// RFC's 5 minutes are what that client waits for us, not what we should wait for a backend. A silent
// backend must turn into a 421 soon enough (well under 20 s) that the remote MTA moves on to the next MX.
Limits default_inbound_limits();
// Outbound, the far side is a remote MX and the RFC's timeouts are ours to honour (RFC 5321 §4.5.3.2);
// the client is the legacy MTA, usually one address, so the per-address cap is the global cap.
Limits default_outbound_limits();

struct Server {
  std::string hostname;            // default: the machine's host name
  unsigned workers = 0;            // 0 = one per core
  std::string state_dir = "/var/lib/mxguard";   // self-signed certificate and other state
  std::string log_level = "info";  // trace | debug | info | warn | error
  std::chrono::seconds shutdown_grace{30};      // SIGTERM: how long live sessions may finish
};

// An inbound listening address. With implicit TLS (RFC 8314 §3, port 465) the TLS handshake starts as soon
// as the client connects; otherwise the session starts in plaintext and offers STARTTLS (RFC 3207).
struct Listener {
  Endpoint endpoint;
  bool implicit_tls = false;
};

struct Inbound {
  bool enabled = true;
  std::vector<Listener> listen = {{{"0.0.0.0", 25, "0.0.0.0:25"}}, {{"::", 25, "[::]:25"}}};
  Endpoint backend;                // required when enabled
  BackendProtocol backend_protocol = BackendProtocol::Plain;
  bool require_tls = false;
  std::vector<std::string> require_tls_from;   // lower-cased sender domains
  BareNewlines bare_newlines = BareNewlines::Reject;
  std::uint64_t max_message_size = 52428800;
  std::vector<Certificate> certificates;       // empty: a self-signed one is generated in state_dir
  Limits limits = default_inbound_limits();
};

struct Outbound {
  std::vector<Endpoint> listen;    // empty: no outbound listener
  std::string mode = "relay";      // relay | transparent
  // CIDRs, lower-case. Only the local machine may hand mail to the outbound listener unless the operator
  // says otherwise.
  std::vector<std::string> allow = {"127.0.0.1/32", "::1/128"};
  std::uint16_t port = 25;
  std::string ca_file = "/etc/ssl/certs/ca-certificates.crt";
  // [outbound.route]: static next hops by recipient domain (lower-case), in file order, like Postfix's
  // transport map. The domain's policy still applies; the certificate is checked for the next hop's name.
  std::vector<std::pair<std::string, Endpoint>> routes;
  Limits limits = default_outbound_limits();
};

struct DomainPolicy {
  TlsLevel level = TlsLevel::May;
  std::vector<std::string> mx;
  // An operator's exception may lapse on its own: the entry is in force through this day (UTC) and is
  // ignored from the next day on, so that "until the end of January" is written 2027-01-31.
  std::optional<std::chrono::year_month_day> expires;
  std::string reason;   // why the entry exists, for logs and the audit; "" when not given
};

struct Policy {
  TlsLevel default_level = TlsLevel::May;
  std::vector<std::pair<std::string, DomainPolicy>> domains;   // lower-cased domain -> policy
};

struct MtaSts {
  bool enabled = true;
  std::string cache_file = "/var/lib/mxguard/mta-sts.cache";
  std::string ca_file = "/etc/ssl/certs/ca-certificates.crt";
  std::uint16_t https_port = 443;
  // mxguard-fetch, the process that fetches policies over HTTPS. A name without '/' is looked for next to
  // the mxguard executable (where both are installed and built).
  std::string fetcher = "mxguard-fetch";
  std::chrono::seconds fetch_timeout{30};   // one policy fetch, connect included (connect alone: a third)
};

struct Dns {
  std::vector<Endpoint> servers;
  // Believe the AD bit (DNSSEC validated, RFC 4035 §3.2.3) of servers that are not on loopback. DANE rests
  // on it, and an AD bit that crossed a network can be forged by anyone on the path; a loopback resolver
  // (the usual validating unbound next to the MTA) is always believed.
  bool trust_ad = false;
};

struct Audit {
  std::string path = "/var/log/mxguard/audit.jsonl";   // empty: no audit log
};

struct Metrics {
  std::optional<Endpoint> listen;
};

struct Config {
  std::string source_path;   // the file it was read from
  Server server;
  Inbound inbound;
  Outbound outbound;
  Policy policy;
  MtaSts mta_sts;
  Dns dns;
  Audit audit;
  Metrics metrics;
  std::vector<std::string> warnings;   // non-fatal findings (e.g. backend_protocol = "plain"), for the log
};

// Whether the default or any entry is a DANE level (dane, dane-only): then the AD bit matters.
bool uses_dane(const Policy& policy);

// Whether `entry` no longer applies on `today` (UTC): its expiry day is behind us.
bool lapsed(const DomainPolicy& entry, std::chrono::year_month_day today);

// The domains of config.policy.domains whose entries have lapsed on `today`, in file order.
std::vector<std::string> lapsed_exceptions(const Config& config, std::chrono::year_month_day today);

// "2027-01-31"
std::string to_string(std::chrono::year_month_day day);

std::string_view to_string(BackendProtocol p);
std::string_view to_string(BareNewlines b);

}  // namespace mxguard::config

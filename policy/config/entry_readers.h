#pragma once
// Readers for the keys that need more than one typed read: defaults taken from the machine, arrays of
// tables, tables whose keys are domain names, and levels with their policy-specific limits.
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "policy/config/key_table.h"

namespace mxguard::config {

// server.hostname, defaulting to the machine's name.
void read_hostname(const Section& server, Server& out);

// inbound.listen: each entry an address ("0.0.0.0:25", STARTTLS) or an inline table
// { address = "0.0.0.0:465", tls = "implicit" } checked against `entry_keys`.
void read_listeners(const Section& inbound, std::vector<Listener>& out, const KeyTable<Listener>& entry_keys);

// [[inbound.certificate]] entries, each checked against `entry_keys`.
void read_certificates(const Section& inbound, std::vector<Certificate>& out, const KeyTable<Certificate>& entry_keys);

// [policy.domain."name"] tables, in file order, each checked against `entry_keys`.
void read_domains(const Section& policy, std::vector<std::pair<std::string, DomainPolicy>>& out,
                  const KeyTable<DomainPolicy>& entry_keys);

// [outbound.route]: "domain" = "host:port" pairs, in file order.
void read_routes(const Section& outbound, std::vector<std::pair<std::string, Endpoint>>& out);

// A TLS level out of `allowed` (in the order of the levels); "required" when `required` and absent. A real
// level that is not allowed here is refused with `why_not` appended (the reason it makes no sense there).
void read_level(const Section& s, std::string_view k, TlsLevel& out, std::span<const TlsLevel> allowed,
                std::string_view why_not, bool required);

// Free text that ends up in log lines and audit events: control characters (a newline would start a
// forged log line) are refused.
void read_log_text(const Section& s, std::string_view k, std::string& out);

// outbound.allow, with a warning for entries that let every address in.
void read_allow(const Section& outbound, std::vector<std::string>& allow);

// metrics.listen: "" is the same as absent.
void read_optional_endpoint(const Section& s, std::string_view k, std::optional<Endpoint>& out);

}  // namespace mxguard::config

#include "policy/config/entry_readers.h"

#include <algorithm>

#include "base/ascii.h"
#include "policy/names.h"
#include "policy/net/cidr.h"

namespace mxguard::config {

namespace {

// toml++ keeps keys sorted by name; the model keeps them in file order, as the operator wrote them.
std::vector<std::pair<std::string_view, const toml::node*>> in_file_order(const toml::table& table) {
  std::vector<std::pair<std::string_view, const toml::node*>> entries;
  for (const auto& [k, v] : table) entries.emplace_back(k.str(), &v);
  std::stable_sort(entries.begin(), entries.end(),
                   [](const auto& a, const auto& b) { return line_of(*a.second) < line_of(*b.second); });
  return entries;
}

// What is wrong with a recipient domain written as a table key (the whole message); empty when fine.
std::string domain_key_problem(std::string_view written) {
  std::string name = ascii::lower(written);
  std::string why = policy::looks_like_address_literal(name) ? "it looks like an IP address" : domain_problem(name);
  return why.empty() ? why : quoted(written) + " is not a domain name: " + why;
}

}  // namespace

void read_hostname(const Section& s, Server& server) {
  if (const std::string* name = s.string("hostname")) {
    if (std::string why = domain_problem(*name); !why.empty()) {
      s.error("hostname", quoted(*name) + " is not a host name: " + why);
    } else {
      server.hostname = *name;
    }
  } else if (!s.has("hostname")) {
    // The greeting and EHLO name default to the machine's name, as Postfix's myhostname does. No DNS
    // lookup: loading a configuration must not depend on the network.
    server.hostname = machine_hostname();
    if (std::string why = domain_problem(server.hostname); !why.empty()) {
      s.diagnostics().error(s.line(), s.key("hostname"),
                            "not set, and the machine's host name " + quoted(server.hostname) + " cannot be used (" +
                                why + "): set server.hostname");
    }
  }
}

void read_listeners(const Section& inbound, std::vector<Listener>& out, const KeyTable<Listener>& entry_keys) {
  const toml::array* items = inbound.array("listen");
  if (items == nullptr) return;
  Diagnostics& diag = inbound.diagnostics();
  std::vector<Listener> parsed;
  bool ok = true;
  for (std::size_t i = 0; i < items->size(); ++i) {
    const toml::node& item = *items->get(i);
    std::string k = index_key(inbound.key("listen"), i);
    int at = line_of(item) > 0 ? line_of(item) : inbound.line("listen");
    Listener listener;
    if (const auto* text = item.as_string()) {
      ok = inbound.check_endpoint(text->get(), HostKind::NameOrAddress, listener.endpoint, at, k) && ok;
    } else if (const toml::table* table = item.as_table()) {
      Section entry(diag, table, k, at);
      entry.expect_keys(names_of(entry_keys));
      read_keys(entry, entry_keys, listener);
      ok = ok && !listener.endpoint.text.empty();
    } else {
      diag.error(at, k, "expected a string, got " + type_name(item));
      ok = false;
    }
    if (listener.endpoint.text.empty()) continue;
    // The same address twice would be bound twice with SO_REUSEPORT and silently share its connections.
    auto same = [&](const Listener& seen) {
      return ascii::iequals(seen.endpoint.host, listener.endpoint.host) && seen.endpoint.port == listener.endpoint.port;
    };
    if (std::any_of(parsed.begin(), parsed.end(), same)) {
      diag.error(at, k, quoted(listener.endpoint.text) + " is listed twice");
      ok = false;
      continue;
    }
    parsed.push_back(std::move(listener));
  }
  if (ok) out = std::move(parsed);
}

void read_certificates(const Section& inbound, std::vector<Certificate>& out, const KeyTable<Certificate>& entry_keys) {
  const toml::node* node = inbound.find("certificate");
  if (node == nullptr) return;
  const toml::array* entries = node->as_array();
  if (entries == nullptr) {
    return inbound.error("certificate", "expected an array of tables: write [[inbound.certificate]] (double "
                                        "brackets) once per certificate, got " + type_name(*node));
  }
  for (std::size_t i = 0; i < entries->size(); ++i) {
    const toml::node& item = *entries->get(i);
    std::string k = index_key(inbound.key("certificate"), i);
    const toml::table* table = item.as_table();
    if (table == nullptr) {
      inbound.diagnostics().error(line_of(item), k, "expected a table with cert and key, got " + type_name(item));
      continue;
    }
    Certificate cert;
    cert.line = line_of(item);
    Section entry(inbound.diagnostics(), table, k, line_of(item));
    entry.expect_keys(names_of(entry_keys));
    read_keys(entry, entry_keys, cert);
    out.push_back(std::move(cert));
  }
}

void read_domains(const Section& policy, std::vector<std::pair<std::string, DomainPolicy>>& out,
                  const KeyTable<DomainPolicy>& entry_keys) {
  // The keys of [policy.domain] are domain names, so it is not checked against a list of known keys.
  const toml::node* node = policy.find("domain");
  if (node == nullptr) return;
  if (!node->is_table()) return policy.error("domain", "expected a table of domains, got " + type_name(*node));
  Diagnostics& diag = policy.diagnostics();
  Section domains = policy.view("domain");
  for (const auto& [written, value] : in_file_order(*node->as_table())) {
    std::string k = domains.key(written);
    std::string name = ascii::lower(written);
    if (std::string why = domain_key_problem(written); !why.empty()) {
      diag.error(line_of(*value), k, why);
      continue;
    }
    const toml::table* table = value->as_table();
    if (table == nullptr) {
      diag.error(line_of(*value), k, "expected a table: write [policy.domain." + quoted(name) + "] with level = ...");
      continue;
    }
    auto same = [&](const auto& seen) { return seen.first == name; };
    if (std::any_of(out.begin(), out.end(), same)) {
      diag.error(line_of(*value), k, quoted(name) + " is configured twice (domain names are case-insensitive)");
      continue;
    }
    // [policy.domain.example.org] without quotes nests a table per label: say how to write it.
    auto nested = std::find_if(table->begin(), table->end(), [](const auto& kv) { return kv.second.is_table(); });
    if (nested != table->end()) {
      std::string meant = std::string(written) + "." + std::string(nested->first.str());
      diag.error(line_of(*value), k, "a domain name with dots must be quoted: [policy.domain." + quoted(meant) + "]");
      continue;
    }
    DomainPolicy entry_policy;
    Section entry(diag, table, k, line_of(*value));
    entry.expect_keys(names_of(entry_keys));
    read_keys(entry, entry_keys, entry_policy);
    out.emplace_back(name, std::move(entry_policy));
  }
}

void read_routes(const Section& outbound, std::vector<std::pair<std::string, Endpoint>>& out) {
  // The keys of [outbound.route] are domain names, so it is not checked against a list of known keys.
  const toml::node* node = outbound.find("route");
  if (node == nullptr) return;
  if (!node->is_table()) {
    return outbound.error("route", "expected a table ([outbound.route]) of \"domain\" = \"host:port\", got " + type_name(*node));
  }
  Diagnostics& diag = outbound.diagnostics();
  Section routes = outbound.view("route");
  for (const auto& [written, value] : in_file_order(*node->as_table())) {
    std::string k = routes.key(written);
    int at = line_of(*value);
    std::string name = ascii::lower(written);
    if (std::string why = domain_key_problem(written); !why.empty()) {
      diag.error(at, k, why);
      continue;
    }
    // partner.example = "..." without quotes nests a table per label: say how to write it.
    if (const toml::table* nested = value->as_table(); nested != nullptr && !nested->empty()) {
      std::string meant = std::string(written) + "." + std::string(nested->begin()->first.str());
      diag.error(at, k, "a domain name with dots must be quoted: " + quoted(meant) + " = \"host:port\"");
      continue;
    }
    const auto* text = value->as_string();
    if (text == nullptr) {
      diag.error(at, k, "expected the next hop as a string (\"host:port\"), got " + type_name(*value));
      continue;
    }
    if (std::any_of(out.begin(), out.end(), [&](const auto& seen) { return seen.first == name; })) {
      diag.error(at, k, quoted(name) + " is routed twice (domain names are case-insensitive)");
      continue;
    }
    Endpoint next_hop;
    if (outbound.check_endpoint(text->get(), HostKind::NameOrAddress, next_hop, at, k)) out.emplace_back(name, next_hop);
  }
}

namespace {

bool is_allowed(std::span<const TlsLevel> allowed, TlsLevel level) {
  return std::find(allowed.begin(), allowed.end(), level) != allowed.end();
}

std::string level_names(std::span<const TlsLevel> allowed) {
  std::vector<std::string_view> names;
  for (const policy::TlsLevelName& entry : policy::tls_level_names()) {
    if (is_allowed(allowed, entry.level)) names.push_back(entry.name);
  }
  return one_of(names);
}

}  // namespace

// Levels outside `allowed` are refused like unknown words; real levels get the note why not here.
void read_level(const Section& s, std::string_view k, TlsLevel& out, std::span<const TlsLevel> allowed,
                std::string_view why_not, bool required) {
  if (required && !s.has(k)) return s.error(k, "required: one of " + level_names(allowed));
  const std::string* v = s.string(k);
  if (v == nullptr) return;
  std::optional<TlsLevel> level = policy::parse_tls_level(*v);
  if (level && is_allowed(allowed, *level)) {
    out = *level;
    return;
  }
  std::string message = quoted(*v) + " is not one of " + level_names(allowed);
  if (level && !why_not.empty()) message += " (" + std::string(why_not) + ")";
  s.error(k, message);
}

void read_log_text(const Section& s, std::string_view k, std::string& out) {
  const std::string* text = s.string(k);
  if (text == nullptr) return;
  auto control = [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; };
  if (std::any_of(text->begin(), text->end(), control)) {
    return s.error(k, quoted(*text) + " contains a control character: write it on one line, without tabs or escapes");
  }
  out = *text;
}

void read_allow(const Section& s, std::vector<std::string>& allow) {
  s.read_strings("allow", allow, check_cidr);
  for (const std::string& cidr : allow) {
    // ::ffff:0:0/96 is every IPv4 address too (policy/net/allow_list.h matches it as 0.0.0.0/0).
    if (policy::ipv4_form(policy::parse_cidr(cidr).cidr).prefix == 0) {
      s.warn("allow", quoted(cidr) + " lets any address send mail through mxguard: list only your own MTAs");
    }
  }
}

void read_optional_endpoint(const Section& s, std::string_view k, std::optional<Endpoint>& out) {
  if (const std::string* text = s.string(k); text != nullptr && !text->empty()) {
    Endpoint ep;
    if (s.read_endpoint(k, ep, HostKind::NameOrAddress)) out = ep;
  }
}

}  // namespace mxguard::config

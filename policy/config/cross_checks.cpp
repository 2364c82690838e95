#include "policy/config/cross_checks.h"

#include <algorithm>
#include <chrono>

#include "base/utc_day.h"
#include "base/ascii.h"
#include "policy/names.h"
#include "policy/net/cidr.h"

namespace mxguard::config {
namespace {

bool is_wildcard(const Endpoint& ep) { return ep.host == "0.0.0.0" || ep.host == "::"; }

// Two listeners collide when they could accept the same connection: with SO_REUSEPORT the kernel would
// spread connections between them instead of failing to bind.
bool overlaps(const Endpoint& a, const Endpoint& b) {
  if (a.port != b.port) return false;
  if (ascii::lower(a.host) == ascii::lower(b.host)) return true;
  auto covers = [](const Endpoint& wild, const Endpoint& other) {
    if (!is_wildcard(wild)) return false;
    bool wild_v6 = wild.host == "::";
    if (is_ipv4(other.host)) return !wild_v6;
    if (is_ipv6(other.host)) return wild_v6;
    return true;   // a host name may resolve to either family
  };
  return covers(a, b) || covers(b, a);
}

bool is_loopback_or_wildcard(const std::string& host) {
  return host.starts_with("127.") || host == "::1" || ascii::lower(host) == "localhost" || host == "0.0.0.0" || host == "::";
}

// Every listening address with the key that configured it and the line to report.
struct BoundAddress {
  std::string key;
  int line;
  const Endpoint* endpoint;
};

std::vector<BoundAddress> listeners(const Config& c, const Section& root) {
  std::vector<BoundAddress> out;
  auto add = [&](std::string_view section, std::size_t i, const Endpoint& endpoint) {
    out.push_back({index_key(std::string(section) + ".listen", i), root.view(section).line("listen"), &endpoint});
  };
  if (c.inbound.enabled) {
    for (std::size_t i = 0; i < c.inbound.listen.size(); ++i) add("inbound", i, c.inbound.listen[i].endpoint);
  }
  for (std::size_t i = 0; i < c.outbound.listen.size(); ++i) add("outbound", i, c.outbound.listen[i]);
  if (c.metrics.listen) out.push_back({"metrics.listen", root.view("metrics").line("listen"), &*c.metrics.listen});
  return out;
}

void check_listeners(const Config& c, const Section& root, Diagnostics& diag) {
  std::vector<BoundAddress> all = listeners(c, root);
  auto section_of = [](const std::string& k) { return k.substr(0, k.find('.')); };
  for (std::size_t i = 0; i < all.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      // Within one list, exact duplicates were refused while reading; wildcard plus specific is fine there.
      if (section_of(all[i].key) == section_of(all[j].key)) continue;
      if (!overlaps(*all[i].endpoint, *all[j].endpoint)) continue;
      return diag.error(all[i].line, all[i].key,
                        quoted(all[i].endpoint->text) + " overlaps " + all[j].key + " (" +
                            quoted(all[j].endpoint->text) + "): each listener needs its own address");
    }
  }
}

void check_inbound(const Config& c, const Section& root, Diagnostics& diag) {
  const Inbound& in = c.inbound;
  if (!in.enabled) return;
  Section inbound = root.view("inbound");
  if (in.backend.text.empty()) {
    return diag.error(inbound.line(), "inbound.backend",
                      "required when inbound is enabled: the legacy MTA's address, e.g. \"127.0.0.1:2525\"");
  }
  if (in.listen.empty()) {
    return inbound.error("listen", "must list at least one address when inbound is enabled");
  }
  for (const Listener& listener : in.listen) {
    const Endpoint& ep = listener.endpoint;
    bool same_host = ascii::lower(ep.host) == ascii::lower(in.backend.host) ||
                     (is_wildcard(ep) && is_loopback_or_wildcard(in.backend.host));
    if (ep.port == in.backend.port && same_host) {
      return inbound.error("backend", quoted(in.backend.text) + " is mxguard's own listener " + quoted(ep.text) +
                                          ": point it at the legacy MTA");
    }
  }
}

// How the file spells the key of `lower_name` in `table` (the operator may have written capitals), so
// that messages name the key as it is written.
std::string written_key(const Section& table, const std::string& lower_name) {
  if (const toml::table* all = table.table()) {
    for (const auto& [k, value] : *all) {
      if (ascii::lower(k.str()) == lower_name) return std::string(k.str());
    }
  }
  return lower_name;
}

// A next hop that is one of mxguard's own listeners would hand the mail back to mxguard, round and round.
void check_routes(const Config& c, const Section& root, Diagnostics& diag) {
  Section routes = root.view("outbound").view("route");
  for (const auto& [domain, next_hop] : c.outbound.routes) {
    for (const BoundAddress& own : listeners(c, root)) {
      bool same_host = ascii::iequals(own.endpoint->host, next_hop.host) ||
                       (is_wildcard(*own.endpoint) && is_loopback_or_wildcard(next_hop.host));
      if (own.endpoint->port != next_hop.port || !same_host) continue;
      return routes.error(written_key(routes, domain), quoted(next_hop.text) + " is mxguard's own listener " + own.key +
                                       ": the mail would come straight back");
    }
  }
}

void warn_plain_backend(const Config& c, const Section& root, Diagnostics& diag) {
  if (!c.inbound.enabled || c.inbound.backend_protocol != BackendProtocol::Plain) return;
  Section inbound = root.view("inbound");
  std::string spelled = inbound.has("backend_protocol") ? "\"plain\"" : "\"plain\" (the default)";
  inbound.warn("backend_protocol",
               spelled + ": the backend sees every client as mxguard's own address; if it trusts that address "
                         "(mynetworks), it is an open relay: use proxy-v2 or xclient");
}

// Port 25 is where MTAs deliver, in plaintext first (RFC 3207); port 465 is where clients start with TLS
// (RFC 8314 §3.3). The other way round, every client of that listener fails its first exchange.
void warn_tls_mode_against_port(const Config& c, const Section& root, Diagnostics& diag) {
  if (!c.inbound.enabled) return;
  Section inbound = root.view("inbound");
  for (std::size_t i = 0; i < c.inbound.listen.size(); ++i) {
    const Listener& l = c.inbound.listen[i];
    std::string k = index_key("inbound.listen", i);
    if (l.implicit_tls && l.endpoint.port == 25) {
      diag.warn(inbound.line("listen"), k,
                quoted(l.endpoint.text) + " with tls = \"implicit\": MTAs on port 25 start in plaintext and use "
                                          "STARTTLS; implicit TLS is for port 465 (RFC 8314)");
    } else if (!l.implicit_tls && l.endpoint.port == 465) {
      diag.warn(inbound.line("listen"), k,
                quoted(l.endpoint.text) + " uses STARTTLS, but clients on port 465 start with TLS (RFC 8314): write "
                                          "{ address = " + quoted(l.endpoint.text) + ", tls = \"implicit\" }");
    }
  }
}

// An exception that has lapsed is ignored, which is what the operator asked for; the warning makes sure
// somebody notices that the domain is back to the stricter policy (and removes or renews the entry).
void warn_lapsed_exceptions(const Config& c, const Section& root, Diagnostics& diag) {
  std::chrono::year_month_day today = today_utc();
  Section domains = root.view("policy").view("domain");
  for (const auto& [domain, entry] : c.policy.domains) {
    if (!lapsed(entry, today)) continue;
    std::string message = "the exception expired at the end of " + to_string(*entry.expires) + " and no longer applies: " +
                          domain + " is back to the default policy or its MTA-STS policy";
    if (!entry.reason.empty()) message += " (reason: " + quoted(entry.reason) + ")";
    domains.view(written_key(domains, domain)).warn("expires", message);
  }
}

// DANE believes only an AD bit that did not cross a network (or that the operator vouches for): with a
// remote resolver and trust_ad = false it never applies, which the operator should hear now rather than
// find in the audit log. (With servers = [] the resolver's servers come from /etc/resolv.conf, which the
// workers check when they start.)
void warn_dane_without_trusted_ad(const Config& c, const Section& root, Diagnostics& diag) {
  if (c.outbound.listen.empty() || !uses_dane(c.policy) || c.dns.trust_ad) return;
  for (std::size_t i = 0; i < c.dns.servers.size(); ++i) {
    auto address = policy::parse_ip(c.dns.servers[i].host);
    if (address && policy::is_loopback(*address)) continue;
    diag.warn(root.view("dns").line("servers"), index_key("dns.servers", i),
              quoted(c.dns.servers[i].text) + " is not on loopback and trust_ad is false: its AD bit is not believed, "
                                              "so DANE never applies (dane acts as the domain's other policy, "
                                              "dane-only refuses); run a validating resolver on loopback or set "
                                              "trust_ad = true");
    return;
  }
}

}  // namespace

void check_across_keys(const Config& config, const Section& root, Diagnostics& diag) {
  check_inbound(config, root, diag);
  if (diag.ok()) check_listeners(config, root, diag);
  if (diag.ok()) check_routes(config, root, diag);
}

void warn_across_keys(const Config& config, const Section& root, Diagnostics& diag) {
  warn_plain_backend(config, root, diag);
  warn_tls_mode_against_port(config, root, diag);
  warn_lapsed_exceptions(config, root, diag);
  warn_dane_without_trusted_ad(config, root, diag);
}

}  // namespace mxguard::config

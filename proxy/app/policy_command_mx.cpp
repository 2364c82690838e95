// The DNS half of `mxguard policy`: the next hops mxguard would try for the domain, in order, with their
// addresses, looked up through the same resolver and the same MX plan the outbound sessions use.
#include <uv.h>

#include <string>
#include <vector>

#include "policy/dns/ad_trust.h"
#include "policy/dns/mx_plan.h"
#include "policy/dns/resolver.h"
#include "proxy/app/policy_command.h"
#include "proxy/app/policy_command_dane.h"
#include "proxy/smtp/proxy_header.h"

namespace mxguard::app {

namespace {
using Hop = HostDns;

std::string address_list(const dns::AddressResult& result) {
  if (result.status != dns::Status::Ok) return "(no address: " + std::string(dns::to_string(result.status)) + ")";
  std::string out;
  for (const auto& a : result.addresses) {
    if (!out.empty()) out += " ";
    out += smtp::address_text(a);
  }
  return out;
}

// Whose AD bit DANE would believe, as the workers decide it (worker.cpp).
bool resolver_ad_trusted(const dns::Resolver& resolver, const config::Config& config, std::string& out) {
  std::vector<std::string> addresses;
  std::string list;
  for (const dns::Server& s : resolver.servers()) {
    addresses.push_back(s.address);
    list += (list.empty() ? "" : ", ") + s.address;
  }
  bool trusted = dns::ad_bit_trusted(addresses, config.dns.trust_ad);
  out += "dnssec:      the AD bit of " + (list.empty() ? std::string("no server") : list) +
         (trusted ? (config.dns.trust_ad ? " is believed ([dns] trust_ad)" : " is believed (loopback)")
                  : " is NOT believed (not on loopback, [dns] trust_ad = false): DANE never applies") +
         "\n";
  return trusted;
}
}  // namespace

std::string describe_next_hops(const config::Config& config, const policy::EffectivePolicy& policy,
                               const std::optional<config::Endpoint>& route, std::vector<ProbeTarget>* targets) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  std::vector<dns::Server> servers;
  for (const auto& ep : config.dns.servers) servers.push_back({ep.host, ep.port});
  std::string out;
  {
    auto made = dns::Resolver::create(&loop, servers);
    if (auto* error = std::get_if<std::string>(&made)) {
      uv_loop_close(&loop);
      return "MX lookup: no resolver: " + *error + "\n";
    }
    std::unique_ptr<dns::Resolver> resolver = std::move(std::get<std::unique_ptr<dns::Resolver>>(made));

    const bool ad_trusted = resolver_ad_trusted(*resolver, config, out);
    std::vector<Hop> hops;
    std::vector<dns::Query> queries;
    dns::MxPlan plan;
    bool mx_authenticated = true;   // a static route is the operator's word
    if (route) {
      hops.push_back({route->host, route->port, {}, std::nullopt});
    } else {
      queries.push_back(resolver->query_mx(policy.domain, [&](dns::MxResult r) {
        plan = dns::plan_mx(r, policy.domain, dns::system_random_index());
      }));
      uv_run(&loop, UV_RUN_DEFAULT);
      switch (plan.kind) {
        case dns::MxPlan::Kind::Hosts:
          out += "mx lookup: " + std::to_string(plan.hosts.size()) +
                 " host(s) in preference order (random among equal preferences)\n";
          break;
        case dns::MxPlan::Kind::ImplicitMx:
          out += "mx lookup: no MX records: the domain itself is the mail host (RFC 5321 §5.1)\n";
          break;
        case dns::MxPlan::Kind::NullMx:
          out += "mx lookup: null MX (RFC 7505): the domain accepts no mail; recipients get 556 5.1.10\n";
          break;
        case dns::MxPlan::Kind::NoSuchDomain:
          out += "mx lookup: the domain does not exist (" + plan.reason + ")\n";
          break;
        case dns::MxPlan::Kind::Temporary:
          out += "mx lookup: failed for now (" + plan.reason + "); mail would wait with 451 4.4.3\n";
          break;
      }
      mx_authenticated = ad_trusted && plan.authenticated_data;
      if (plan.kind == dns::MxPlan::Kind::Hosts || plan.kind == dns::MxPlan::Kind::ImplicitMx) {
        out += std::string("mx dnssec:   ") + (mx_authenticated ? "the MX answer is DNSSEC-validated"
                                                                : "the MX answer is not DNSSEC-validated (RFC 7672 "
                                                                  "§2.2.1: DANE still applies to hosts with validated "
                                                                  "TLSA records, except at dane-only)") +
               "\n";
      }
      for (const auto& h : plan.hosts) hops.push_back({h, config.outbound.port, {}, std::nullopt});
    }
    for (auto& hop : hops) {
      sockaddr_storage literal{};
      if (uv_ip4_addr(hop.host.c_str(), hop.port, reinterpret_cast<sockaddr_in*>(&literal)) == 0 ||
          uv_ip6_addr(hop.host.c_str(), hop.port, reinterpret_cast<sockaddr_in6*>(&literal)) == 0) {
        hop.addresses.status = dns::Status::Ok;
        hop.addresses.addresses.push_back(literal);
        continue;
      }
      queries.push_back(resolver->query_addresses(hop.host, [&hop](dns::AddressResult r) { hop.addresses = std::move(r); }));
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    // TLSA records behind validated addresses, whatever the level: the operator sees what DANE would do.
    for (auto& hop : hops) {
      if (!ad_trusted || hop.addresses.status != dns::Status::Ok || !hop.addresses.authenticated_data) continue;
      queries.push_back(resolver->query_tlsa(hop.host, hop.port, [&hop](dns::TlsaResult r) { hop.tlsa = std::move(r); }));
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    int n = 0;
    for (const auto& hop : hops) {
      out += "mx " + std::to_string(++n) + ": " + hop.host + " port " + std::to_string(hop.port) + ": " +
             address_list(hop.addresses);
      const bool allowed = policy::mx_allowed(policy, hop.host);
      out += allowed ? "\n" : "  SKIPPED: not allowed by the mx patterns\n";
      const policy::DaneLookup lookup = dane_lookup(hop, ad_trusted, mx_authenticated);
      if (allowed) out += describe_host_dane(n, hop, policy, lookup);
      if (targets) {
        // The probe holds each host to its own policy, DANE facts included, as a session would.
        ProbeTarget t{hop.host, {}, policy::policy_for_host(policy, policy::dane_facts(lookup))};
        if (hop.addresses.status == dns::Status::Ok) {
          for (sockaddr_storage a : hop.addresses.addresses) {
            smtp::set_address_port(a, hop.port);
            t.addresses.push_back(a);
          }
        }
        targets->push_back(std::move(t));
      }
    }
    queries.clear();
  }
  // The resolver closed its handles when it went: let the loop run their close callbacks.
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  return out;
}

}  // namespace mxguard::app

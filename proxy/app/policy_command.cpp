#include "proxy/app/policy_command.h"

#include <algorithm>
#include <cstdio>
#include <variant>

#include "base/utc_day.h"
#include "policy/config/config_loader.h"
#include "policy/engine/mta_sts_overlay.h"
#include "policy/engine/resolution.h"
#include "policy/mta_sts/policy_file.h"
#include "policy/engine/route.h"
#include "policy/names.h"
#include "proxy/app/policy_command_sts.h"

namespace mxguard::app {
namespace {

// Keys padded to one column, so that the report reads as a table and scripts can split at ": ".
void line(std::string& out, std::string_view key, std::string_view value) {
  std::string label = std::string(key) + ":";
  label.resize(std::max<std::size_t>(label.size() + 1, 13), ' ');
  out += label;
  out += value;
  out += '\n';
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

const config::DomainPolicy* entry_for(const config::Policy& policy, const std::string& domain) {
  for (const auto& [name, entry] : policy.domains) {
    if (name == domain) return &entry;
  }
  return nullptr;
}

void describe_entry(std::string& out, const config::Config& config, const policy::Resolution& resolution) {
  const config::DomainPolicy* entry = entry_for(config.policy, resolution.policy.domain);
  if (entry == nullptr) return line(out, "entry", "none ([policy] default applies)");
  line(out, "entry", "[policy.domain.\"" + resolution.policy.domain + "\"] level " +
                         std::string(policy::to_string(entry->level)));
  if (resolution.lapsed) {
    line(out, "expires", config::to_string(resolution.lapsed->expires) + ": LAPSED on " +
                             config::to_string(policy::lapse_day(resolution.lapsed->expires)) +
                             ", the entry no longer applies");
  } else if (entry->expires) {
    line(out, "expires", config::to_string(*entry->expires) + " (in force through that day, UTC)");
  } else {
    line(out, "expires", "never");
  }
  if (!entry->reason.empty()) line(out, "reason", entry->reason);
}

// Lines of "key: value" for `domain` (a domain name, normalised) on the UTC day `today`.
std::string policy_report(const config::Config& config, const std::string& domain, std::chrono::year_month_day today,
                          bool refresh, bool connect) {
  policy::Resolution resolution = policy::resolve_policy(domain, config.policy, today);
  policy::EffectivePolicy effective = resolution.policy;
  StsReport sts;
  if (config.mta_sts.enabled) sts = refresh ? refresh_sts_policy(config, domain) : cached_sts_policy(config, domain);
  // The same rule as the outbound path (mx_link.cpp): a pinned level decides alone, dane-only needs DANE.
  bool pinned = !policy::wants_mta_sts(effective);
  if (sts.policy && !pinned) effective = policy::with_mta_sts(std::move(effective), mta_sts::view(sts.policy->policy));
  std::string out;
  line(out, "domain", effective.domain);
  line(out, "level", std::string(policy::to_string(effective.level)) + (effective.testing ? " (testing: refusals are only reported)" : ""));
  line(out, "source", std::string(policy::to_string(effective.source)) +
                          (pinned && sts.policy ? " (the entry wins over the domain's MTA-STS policy)" : ""));
  describe_entry(out, config, resolution);
  line(out, "mx patterns", effective.mx_patterns.empty() ? "any" : joined(effective.mx_patterns));
  if (effective.level == policy::TlsLevel::Dane) {
    policy::EffectivePolicy other = policy::non_dane_policy(effective);
    line(out, "without dane", std::string(policy::to_string(other.level)) + " from " +
                                  std::string(policy::to_string(other.source)) +
                                  (other.testing ? " (testing)" : "") +
                                  " (MX hosts without DNSSEC-validated TLSA records)");
  } else if (effective.level == policy::TlsLevel::DaneOnly) {
    line(out, "without dane", "refused (451 4.7.5 dane-required)");
  }
  if (config.mta_sts.enabled) {
    out += sts.text;
  } else {
    line(out, "mta-sts", "disabled ([mta_sts] enabled = false)");
  }
  std::optional<config::Endpoint> route = policy::static_route(effective.domain, config.outbound);
  if (route) {
    line(out, "next hop", route->text + " ([outbound.route]; MX records are not used)");
  } else if (config.outbound.mode == "transparent") {
    // The address is known only per connection (SO_ORIGINAL_DST); the MX hosts below are what names it
    // (proxy/outbound/destination_name.h), and where a connection that was not redirected goes.
    line(out, "next hop", "the address each redirected connection was going to (transparent mode), named after the "
                          "MX host of " + effective.domain + " that has it, else the address itself; a connection "
                          "that was not redirected: the MX hosts of " + effective.domain + ", port " +
                          std::to_string(config.outbound.port));
  } else {
    line(out, "next hop", "the MX hosts of " + effective.domain + ", port " + std::to_string(config.outbound.port));
  }
  std::vector<ProbeTarget> targets;
  out += describe_next_hops(config, effective, route, connect ? &targets : nullptr);
  if (connect) out += probe_next_hops(config, effective, targets);
  return out;
}

}  // namespace

int policy_command(const std::string& domain, const std::string& config_path, bool refresh, bool connect) {
  std::string name = policy::normalize_domain(domain);
  std::string why = policy::looks_like_address_literal(name) ? "it looks like an IP address"
                                                              : policy::domain_syntax_problem(name);
  if (!why.empty()) {
    std::fprintf(stderr, "mxguard policy: \"%s\" is not a domain name: %s\n", domain.c_str(), why.c_str());
    return 2;
  }
  config::LoadResult loaded = config::load_config(config_path);
  if (const auto* error = std::get_if<config::ConfigError>(&loaded)) {
    std::fprintf(stderr, "%s\n", error->to_string().c_str());
    return 2;
  }
  const config::Config& config = std::get<config::Config>(loaded);
  std::fputs(policy_report(config, name, today_utc(), refresh, connect).c_str(), stdout);
  // The warnings are mostly about other keys and domains (this domain's lapsed entry is in the report);
  // check-config is where they are read.
  if (!config.warnings.empty()) {
    std::fprintf(stderr, "note: %s has %zu warning(s): see mxguard check-config\n", config_path.c_str(),
                 config.warnings.size());
  }
  return 0;
}

}  // namespace mxguard::app

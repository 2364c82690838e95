#pragma once
// `mxguard policy DOMAIN --config FILE`: what mxguard would demand of mail to DOMAIN, before any mail
// depends on it (issue 14): the effective level and where it comes from, the domain's entry with its
// expiry and reason, the allowed MX patterns, the static next hop, and the hosts that would be tried.
#include <optional>
#include <string>

#include "policy/config/config.h"
#include "policy/verdict.h"
#include "proxy/app/policy_probe.h"

namespace mxguard::app {

// Prints the report on stdout; exit status 0. A configuration that does not load prints the loader's
// "FILE:LINE: KEY: MESSAGE" on stderr, and DOMAIN that is not a domain name says why there: status 2.
// Only the number of the configuration's warnings is noted (stderr): check-config shows them.
// `refresh`: fetch the domain's MTA-STS policy now instead of reading the cache file.
// `connect`: also try each next hop (policy_probe.h) and say what it offered.
int policy_command(const std::string& domain, const std::string& config_path, bool refresh = false,
                   bool connect = false);

// The part that needs the DNS resolver (policy/dns/): the hosts that would be tried for `policy.domain`
// in order, each with its addresses, as lines ending in '\n'. With a static `route` that is its host;
// otherwise the domain's MX hosts (RFC 5321 §5.1 order, implicit MX, null MX). Until the resolver is in
// this build it says so rather than guess (policy_command_mx.cpp).
// `targets`, when given, receives the hosts with their addresses (port set), for --connect.
std::string describe_next_hops(const config::Config& config, const policy::EffectivePolicy& policy,
                               const std::optional<config::Endpoint>& route,
                               std::vector<ProbeTarget>* targets = nullptr);

}  // namespace mxguard::app

#include "policy/engine/dane_overlay.h"

#include <algorithm>

namespace mxguard::policy {

DaneFacts dane_facts(const DaneLookup& lookup) {
  DaneFacts facts;
  if (!lookup.ad_trusted) {
    facts.status = DaneStatus::Insecure;
    return facts;
  }
  facts.mx_secure = lookup.mx_authenticated;
  if (!lookup.addresses_authenticated) {
    facts.status = DaneStatus::Insecure;
    return facts;
  }
  switch (lookup.tlsa) {
    case DaneLookup::Tlsa::NotAsked: facts.status = DaneStatus::NotLookedUp; break;
    case DaneLookup::Tlsa::Failed: facts.status = DaneStatus::Failed; break;
    case DaneLookup::Tlsa::NoRecords:
      facts.status = lookup.tlsa_authenticated ? DaneStatus::NoRecords : DaneStatus::Insecure;
      break;
    case DaneLookup::Tlsa::Records:
      if (!lookup.tlsa_authenticated) {
        facts.status = DaneStatus::Insecure;
        break;
      }
      facts.records = lookup.records;
      facts.status = std::any_of(facts.records.begin(), facts.records.end(), usable_for_smtp) ? DaneStatus::Usable
                                                                                                : DaneStatus::Unusable;
      break;
  }
  return facts;
}

EffectivePolicy policy_for_host(const EffectivePolicy& domain_policy, const DaneFacts& facts) {
  if (domain_policy.level < TlsLevel::Dane) return domain_policy;
  EffectivePolicy host = domain_policy;
  host.dane = facts;
  switch (facts.status) {
    case DaneStatus::Usable:
    case DaneStatus::Unusable:
    case DaneStatus::Failed: host.source = PolicySource::Dane; break;
    case DaneStatus::Insecure:
    case DaneStatus::NoRecords:
    case DaneStatus::NotLookedUp: break;
  }
  return applicable_policy(host);
}

}  // namespace mxguard::policy

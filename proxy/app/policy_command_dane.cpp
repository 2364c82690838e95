#include "proxy/app/policy_command_dane.h"

namespace mxguard::app {
namespace {

std::string tlsa_summary(const HostDns& hop, const policy::DaneLookup& lookup) {
  const std::string name = policy::tlsa_owner_name(hop.host, hop.port);
  if (hop.addresses.status != dns::Status::Ok) return "not looked up: the host has no address";
  if (!lookup.ad_trusted) return "not looked up: the resolver's AD bit is not believed ([dns] trust_ad)";
  if (!lookup.addresses_authenticated) return "not looked up: the addresses of " + hop.host + " are not DNSSEC-validated";
  if (!hop.tlsa) return "not looked up";
  const dns::TlsaResult& r = *hop.tlsa;
  const std::string validated = r.authenticated_data ? "DNSSEC-validated" : "NOT DNSSEC-validated (ignored)";
  switch (r.status) {
    case dns::Status::Ok: {
      std::size_t usable = policy::usable_records(r.records).size();
      return name + ": " + validated + ", " + std::to_string(r.records.size()) + " record(s), " +
             std::to_string(usable) + " usable for SMTP";
    }
    case dns::Status::NoData:
    case dns::Status::NxDomain: return name + ": no TLSA records (" + validated + ")";
    case dns::Status::Temporary:
    case dns::Status::Malformed: break;
  }
  return name + ": lookup failed (" + std::string(dns::to_string(r.status)) +
         "): mail waits with 451 4.7.5 at the DANE levels, never a fallback";
}

std::string mechanism(const policy::EffectivePolicy& p, const std::string& mx) {
  const std::string source = " (source " + std::string(policy::to_string(p.source)) + ")";
  if (auto early = policy::decide_without_connecting(p, mx)) {
    std::string verdict = std::to_string(early->smtp_code) + " " + early->enhanced + " " +
                          std::string(policy::to_string(early->reason)) + ": " + early->detail;
    if (early->outcome == policy::Outcome::AllowedTesting) return "mta-sts in testing mode would refuse (" + verdict + ")";
    return "refused before connecting: " + verdict;
  }
  switch (policy::certificate_check(p)) {
    case policy::CertificateCheck::Dane:
      return "dane: TLS, and the certificate must match one of the usable TLSA records (DANE-EE: names and dates "
             "ignored; DANE-TA: the chain and the name are checked); SNI " + mx + source;
    case policy::CertificateCheck::WebPki:
      return std::string(policy::to_string(p.level)) + ": TLS with a WebPKI-valid certificate for " + mx + source;
    case policy::CertificateCheck::Recorded: break;
  }
  if (p.level >= policy::TlsLevel::Dane) return "dane: TLS required, any certificate (no usable TLSA record)" + source;
  switch (p.level) {
    case policy::TlsLevel::None: return "none: no STARTTLS" + source;
    case policy::TlsLevel::May: return "may: STARTTLS when offered, plaintext otherwise" + source;
    case policy::TlsLevel::Encrypt: return "encrypt: TLS required, any certificate" + source;
    default: break;
  }
  return std::string(policy::to_string(p.level)) + " in testing mode: refusals are only reported" + source;
}

}  // namespace

policy::DaneLookup dane_lookup(const HostDns& hop, bool ad_trusted, bool mx_authenticated) {
  policy::DaneLookup lookup;
  lookup.ad_trusted = ad_trusted;
  lookup.mx_authenticated = mx_authenticated;
  lookup.addresses_authenticated = hop.addresses.status == dns::Status::Ok && hop.addresses.authenticated_data;
  if (!hop.tlsa) return lookup;
  switch (hop.tlsa->status) {
    case dns::Status::Ok: lookup.tlsa = policy::DaneLookup::Tlsa::Records; break;
    case dns::Status::NoData:
    case dns::Status::NxDomain: lookup.tlsa = policy::DaneLookup::Tlsa::NoRecords; break;
    case dns::Status::Temporary:
    case dns::Status::Malformed: lookup.tlsa = policy::DaneLookup::Tlsa::Failed; break;
  }
  lookup.tlsa_authenticated = hop.tlsa->authenticated_data;
  lookup.records = hop.tlsa->records;
  return lookup;
}

std::string describe_host_dane(int n, const HostDns& hop, const policy::EffectivePolicy& domain_policy,
                               const policy::DaneLookup& lookup) {
  const std::string key = "mx " + std::to_string(n);
  std::string out = key + " tlsa: " + tlsa_summary(hop, lookup) + "\n";
  if (hop.tlsa) {
    int k = 0;
    for (const policy::TlsaRecord& r : hop.tlsa->records) {
      std::string_view why = policy::unusable_because(r);
      out += key + " tlsa " + std::to_string(++k) + ": " + policy::to_string(r) +
             (why.empty() ? " (usable)" : " (unusable: " + std::string(why) + ")") + "\n";
    }
  }
  if (hop.addresses.status == dns::Status::Ok) {
    policy::EffectivePolicy host = policy::policy_for_host(domain_policy, policy::dane_facts(lookup));
    out += key + " decides: " + mechanism(host, hop.host) + "\n";
  }
  return out;
}

}  // namespace mxguard::app

#include "proxy/outbound/mx_host_lookup.h"

#include <uv.h>

#include <utility>

#include "proxy/smtp/proxy_header.h"

namespace mxguard::outbound {
namespace {

// A route to an address literal: nothing to look up, and no name DANE could be about.
bool literal_address(const std::string& host, std::uint16_t port, sockaddr_storage& out) {
  return uv_ip4_addr(host.c_str(), port, reinterpret_cast<sockaddr_in*>(&out)) == 0 ||
         uv_ip6_addr(host.c_str(), port, reinterpret_cast<sockaddr_in6*>(&out)) == 0;
}

policy::DaneLookup::Tlsa tlsa_kind(dns::Status status) {
  switch (status) {
    case dns::Status::Ok: return policy::DaneLookup::Tlsa::Records;
    case dns::Status::NoData:
    case dns::Status::NxDomain: return policy::DaneLookup::Tlsa::NoRecords;
    case dns::Status::Temporary:
    case dns::Status::Malformed: break;
  }
  // Never "no records": an attacker's dropped or forged answer must not turn DANE off.
  return policy::DaneLookup::Tlsa::Failed;
}

}  // namespace

void MxHostLookup::start(MxHost host, policy::EffectivePolicy domain_policy, std::function<void(MxHostFacts)> done) {
  query_.cancel();
  host_ = std::move(host);
  domain_policy_ = std::move(domain_policy);
  done_ = std::move(done);
  facts_ = MxHostFacts{};
  sockaddr_storage literal{};
  if (literal_address(host_.name, host_.port, literal)) {
    facts_.addresses.status = dns::Status::Ok;
    facts_.addresses.addresses.push_back(literal);
    return finish(lookup_so_far(false));
  }
  if (!resolver_) {
    facts_.addresses.status = dns::Status::Temporary;
    return finish(policy::DaneLookup{});
  }
  query_ = resolver_->query_addresses(host_.name, [this](dns::AddressResult r) { on_addresses(std::move(r)); });
}

void MxHostLookup::on_addresses(dns::AddressResult result) {
  for (auto& a : result.addresses) smtp::set_address_port(a, host_.port);
  facts_.addresses = std::move(result);
  policy::DaneLookup lookup = lookup_so_far(facts_.addresses.authenticated_data);
  // TLSA records only matter at the DANE levels, and only behind validated addresses (RFC 7672 §2.2).
  bool ask = domain_policy_.level >= policy::TlsLevel::Dane && facts_.addresses.status == dns::Status::Ok &&
             ad_trusted_ && lookup.addresses_authenticated;
  if (!ask) return finish(lookup);
  facts_.tlsa_name = policy::tlsa_owner_name(host_.name, host_.port);
  query_ = resolver_->query_tlsa(host_.name, host_.port, [this](dns::TlsaResult r) { on_tlsa(std::move(r)); });
}

void MxHostLookup::on_tlsa(dns::TlsaResult result) {
  policy::DaneLookup lookup = lookup_so_far(facts_.addresses.authenticated_data);
  lookup.tlsa = tlsa_kind(result.status);
  lookup.tlsa_authenticated = result.authenticated_data;
  lookup.records = std::move(result.records);
  finish(std::move(lookup));
}

policy::DaneLookup MxHostLookup::lookup_so_far(bool addresses_authenticated) const {
  policy::DaneLookup lookup;
  lookup.ad_trusted = ad_trusted_;
  lookup.mx_authenticated = host_.mx_authenticated;
  lookup.addresses_authenticated = addresses_authenticated;
  return lookup;
}

void MxHostLookup::finish(policy::DaneLookup lookup) {
  facts_.policy = policy::policy_for_host(domain_policy_, policy::dane_facts(lookup));
  auto done = std::move(done_);
  done_ = nullptr;
  if (done) done(std::move(facts_));
}

}  // namespace mxguard::outbound

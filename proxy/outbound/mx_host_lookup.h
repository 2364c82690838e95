#pragma once
// The DNS half of one MX host for the outbound link (design.md, "Outbound" step 2; RFC 7672 §2.2): the
// host's addresses and, at the DANE levels, its TLSA records once the addresses proved DNSSEC-validated,
// turned into the host's own policy (policy::policy_for_host). Below the DANE levels it is the address
// lookup alone and the domain's policy unchanged.
//
// One lookup at a time: starting another, cancel(), or destroying the object cancels the one in flight,
// whose callback then never runs. The callback runs from the resolver's delivery, or inside start() when
// there is nothing to ask (an address literal, no resolver); it may start the next lookup.
#include <cstdint>
#include <functional>
#include <string>

#include "policy/dns/records.h"
#include "policy/dns/resolver.h"
#include "policy/engine/dane_overlay.h"
#include "policy/verdict.h"

namespace mxguard::outbound {

struct MxHost {
  std::string name;               // an MX target, a route's host, or an address literal (a route)
  std::uint16_t port = 25;        // the port connected to, also the TLSA name's (_25._tcp.<name>)
  bool mx_authenticated = false;  // found through a DNSSEC-validated MX answer, or a static route
};

struct MxHostFacts {
  dns::AddressResult addresses;      // Ok with the addresses (port set), or why there are none
  policy::EffectivePolicy policy;    // the host's policy
  std::string tlsa_name;             // the TLSA owner name asked, "" when none was asked (for the log)
};

class MxHostLookup {
 public:
  // `resolver` may be null (no resolver on this loop: every name is Temporary) and must outlive this.
  // `ad_trusted`: the resolver's AD bit is believed (dns/ad_trust.h).
  MxHostLookup(dns::Resolver* resolver, bool ad_trusted) : resolver_(resolver), ad_trusted_(ad_trusted) {}

  void start(MxHost host, policy::EffectivePolicy domain_policy, std::function<void(MxHostFacts)> done);
  void cancel() {
    query_.cancel();
    done_ = nullptr;
  }

 private:
  void on_addresses(dns::AddressResult result);
  void on_tlsa(dns::TlsaResult result);
  policy::DaneLookup lookup_so_far(bool addresses_authenticated) const;
  void finish(policy::DaneLookup lookup);

  dns::Resolver* resolver_;
  bool ad_trusted_;
  MxHost host_;
  policy::EffectivePolicy domain_policy_;
  std::function<void(MxHostFacts)> done_;
  MxHostFacts facts_;
  dns::Query query_;
};

}  // namespace mxguard::outbound

#pragma once
// The tls-policy audit event of one decision about one MX host (design.md, "Audit log"): the fields every
// such event carries, from the host's policy, so that `mxguard audit` can turn the log into RFC 8460
// TLS-RPT reports without guessing. Where DANE decided (policy_source "dane"), the host's TLSA records go
// in `tlsa` as strings (the report's policy-string, policy-type "tlsa"); at the DANE levels `dane` says
// what DNS said about the host ("usable", "insecure", ...), also when another policy decided for it.
#include <string_view>

#include "policy/verdict.h"
#include "proxy/audit/audit_log.h"

namespace mxguard::outbound {

// domain, policy (the level the host was held to), policy_source, dane and tlsa where they apply. The
// caller adds mx, mx_address, tls_version and cipher, verdict, reason, detail, exception and what TLS-RPT
// needs besides (policy_id, transaction, sending_ip, plaintext_retry).
audit::Event tls_policy_event(std::string_view session, std::string_view peer, std::string_view domain,
                              const policy::EffectivePolicy& host_policy);

}  // namespace mxguard::outbound

#pragma once
// The DNS half of `mxguard audit --tlsrpt`: the TXT records at _smtp._tls.<domain> (RFC 8460 §3),
// asked through the project's resolver (policy/dns) on a loop of its own, of the servers in [dns]
// servers (as the proxy asks them), all domains at once.
#include <map>
#include <string>
#include <vector>

#include "policy/config/config.h"
#include "policy/dns/records.h"

namespace mxguard::app {

// Domain -> the answer. `config` may be null (then /etc/resolv.conf's servers). A resolver that cannot
// be made gives every domain a Temporary answer and says why in `problem`.
std::map<std::string, dns::TxtResult> lookup_tlsrpt_records(const std::vector<std::string>& domains,
                                                            const config::Config* config, std::string& problem);

}  // namespace mxguard::app

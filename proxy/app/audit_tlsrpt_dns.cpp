#include "proxy/app/audit_tlsrpt_dns.h"

#include <uv.h>

#include <memory>

#include "policy/dns/resolver.h"

namespace mxguard::app {

std::map<std::string, dns::TxtResult> lookup_tlsrpt_records(const std::vector<std::string>& domains,
                                                            const config::Config* config, std::string& problem) {
  std::map<std::string, dns::TxtResult> answers;
  for (const std::string& d : domains) answers[d] = dns::TxtResult{};   // Temporary until answered
  uv_loop_t loop;
  uv_loop_init(&loop);
  {
    std::vector<dns::Server> servers;
    if (config) {
      for (const auto& ep : config->dns.servers) servers.push_back({ep.host, ep.port});
    }
    auto made = dns::Resolver::create(&loop, servers);
    if (auto* error = std::get_if<std::string>(&made)) {
      problem = "no DNS resolver: " + *error;
    } else {
      std::unique_ptr<dns::Resolver> resolver = std::move(std::get<std::unique_ptr<dns::Resolver>>(made));
      std::vector<dns::Query> queries;
      for (const std::string& d : domains) {
        // The callbacks run on this loop, inside uv_run below, and never throw.
        queries.push_back(resolver->query_txt("_smtp._tls." + d, [&answers, d](dns::TxtResult r) { answers[d] = std::move(r); }));
      }
      uv_run(&loop, UV_RUN_DEFAULT);
      queries.clear();
    }
  }
  // The resolver closed its handles when it went: let the loop run their close callbacks.
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  return answers;
}

}  // namespace mxguard::app

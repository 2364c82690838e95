#pragma once
// MTA-STS on one worker loop: the loop's mxguard-fetch child and its agent (policy/mta_sts), built from
// the configuration, and what each fetch report becomes: one process-log line and one audit event.
#include <uv.h>

#include <functional>
#include <memory>
#include <string>

#include "policy/config/config.h"
#include "policy/mta_sts/agent.h"
#include "policy/mta_sts/fetch_client.h"
#include "policy/mta_sts/shared_cache.h"
#include "proxy/audit/audit_log.h"

namespace mxguard::app {

struct MtaStsSettings {
  mta_sts::AgentOptions agent;
  mta_sts::FetcherOptions fetcher;
};

// From [mta_sts]; the fetcher's path resolved (a bare name is looked for next to this executable).
MtaStsSettings mta_sts_settings(const config::MtaSts& config);

// The audit event for a fetch report (event mta-sts-fetch, policy_source mta-sts).
audit::Event fetch_event(const mta_sts::FetchReport& report);

// The process log line and the audit event for a report.
void log_fetch(const mta_sts::FetchReport& report, audit::Log* audit);

class MtaStsLoop {
 public:
  // `on_report`: told of every report too, after the logs (the worker's metrics); may be empty.
  using OnReport = std::function<void(const mta_sts::FetchReport&)>;
  MtaStsLoop(uv_loop_t* loop, dns::Resolver* resolver, mta_sts::SharedCache* cache, const MtaStsSettings& settings,
             bool proactive_refresh, mta_sts::Agent::Post post, audit::Log* audit, OnReport on_report = {});
  mta_sts::Agent* agent() { return &agent_; }

 private:
  mta_sts::FetchClient fetcher_;
  mta_sts::Agent agent_;
};

}  // namespace mxguard::app

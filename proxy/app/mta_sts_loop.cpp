#include "proxy/app/mta_sts_loop.h"

#include <spdlog/spdlog.h>

#include "base/log_text.h"

namespace mxguard::app {
namespace {

std::string executable_directory() {
  char path[4096];
  std::size_t size = sizeof path;
  if (uv_exepath(path, &size) != 0) return {};
  std::string p(path, size);
  std::size_t slash = p.rfind('/');
  return slash == std::string::npos ? std::string() : p.substr(0, slash);
}

}  // namespace

MtaStsSettings mta_sts_settings(const config::MtaSts& config) {
  MtaStsSettings s;
  s.agent.enabled = config.enabled;
  s.agent.https_port = config.https_port;
  s.agent.ca_file = config.ca_file;
  s.agent.total_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(config.fetch_timeout);
  s.agent.connect_timeout = s.agent.total_timeout / 3;
  s.fetcher.executable = config.fetcher;
  if (config.fetcher.find('/') == std::string::npos) {
    std::string dir = executable_directory();
    if (!dir.empty()) s.fetcher.executable = dir + "/" + config.fetcher;
  }
  return s;
}

audit::Event fetch_event(const mta_sts::FetchReport& report) {
  audit::Event e(audit::EventKind::MtaStsFetch, audit::Direction::Outbound, "-", "-");
  e.set("domain", report.domain).set("policy_source", "mta-sts");
  if (!report.id.empty()) e.set("id", report.id);
  if (report.result == mta_sts::FetchReport::Result::Fetched && report.policy) {
    e.set("mode", mta_sts::to_string(report.policy->mode))
        .set("max_age", static_cast<std::int64_t>(report.policy->max_age))
        .set("changed", report.changed)
        .verdict(audit::Verdict::Fetched);
    std::string mx;
    for (const std::string& m : report.policy->mx) mx += (mx.empty() ? "" : " ") + m;
    e.set("mx", mx);
    // TLS-RPT's policy-string (RFC 8460 §4.4) is the policy itself: mxguard audit --tlsrpt finds it here
    // by domain and id.
    e.set("policy_lines", mta_sts::policy_lines(report.policy->text));
  } else {
    e.verdict(audit::Verdict::Failed)
        .reason(mta_sts::result_type(report.result))
        .set("detail", log_text::sanitize(report.detail))
        .set("cached_policy_in_force", report.cached_in_force);
  }
  return e;
}

void log_fetch(const mta_sts::FetchReport& report, audit::Log* audit) {
  if (report.result == mta_sts::FetchReport::Result::Fetched && report.policy) {
    auto level = report.changed ? spdlog::level::info : spdlog::level::debug;
    spdlog::log(level, "MTA-STS {}: policy id {} mode {} max_age {}s mx {} ({})", report.domain, report.id,
                mta_sts::to_string(report.policy->mode), report.policy->max_age, report.policy->mx.size(),
                report.changed ? "new" : "unchanged");
  } else {
    spdlog::warn("MTA-STS {}: {}: {}{}", report.domain, mta_sts::result_type(report.result),
                 log_text::sanitize(report.detail),
                 report.cached_in_force ? "; the cached policy stays in force" : "; no policy in force");
  }
  if (audit) audit->write(fetch_event(report));
}

MtaStsLoop::MtaStsLoop(uv_loop_t* loop, dns::Resolver* resolver, mta_sts::SharedCache* cache,
                       const MtaStsSettings& settings, bool proactive_refresh, mta_sts::Agent::Post post,
                       audit::Log* audit)
    : fetcher_(loop, settings.fetcher, [](const std::string& line) { spdlog::warn("{}", line); }),
      agent_(loop, resolver, cache, &fetcher_,
             [&] {
               mta_sts::AgentOptions o = settings.agent;
               o.proactive_refresh = proactive_refresh;
               return o;
             }(),
             std::move(post), [audit](const mta_sts::FetchReport& r) { log_fetch(r, audit); },
             [](const std::string& line) { spdlog::info("{}", line); }) {}

}  // namespace mxguard::app

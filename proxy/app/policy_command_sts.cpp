#include "proxy/app/policy_command_sts.h"

#include <uv.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "base/log_text.h"
#include "policy/config/config_loader.h"
#include "policy/dns/resolver.h"
#include "policy/mta_sts/agent.h"
#include "policy/engine/resolution.h"
#include "policy/mta_sts/cache_file.h"
#include "proxy/audit/report/timestamp.h"
#include "policy/names.h"
#include "proxy/app/mta_sts_loop.h"

namespace mxguard::app {
namespace {

mta_sts::Seconds now() { return std::chrono::floor<std::chrono::seconds>(mta_sts::Clock::now()); }

std::string describe(const mta_sts::CachedPolicy& p, mta_sts::Seconds at) {
  std::string mx;
  for (const std::string& m : p.policy.mx) mx += (mx.empty() ? "" : ", ") + m;
  std::string out;
  out += "mta-sts:     policy id " + p.id + ", mode " + std::string(mta_sts::to_string(p.policy.mode)) + ", max_age " +
         std::to_string(p.policy.max_age) + "s\n";
  out += "mta-sts mx:  " + (mx.empty() ? std::string("(none)") : mx) + "\n";
  out += "fetched:     " + audit::report::format_rfc3339_seconds(p.fetched_at) + "\n";
  out += "expires:     " + audit::report::format_rfc3339_seconds(p.expires_at()) + (p.expires_at() <= at ? " (EXPIRED: no longer in force)" : "") + "\n";
  return out;
}

std::optional<std::string> read_file(const std::string& path, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot be read";
    return std::nullopt;
  }
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

StsReport cached_sts_policy(const config::Config& config, const std::string& domain) {
  StsReport r;
  const std::string& path = config.mta_sts.cache_file;
  std::string error;
  std::optional<std::string> text = read_file(path, error);
  if (!text) {
    r.text = "mta-sts:     no cached policy (" + path + " " + (access(path.c_str(), F_OK) == 0 ? error : "does not exist yet") + ")\n";
    return r;
  }
  auto parsed = mta_sts::parse_cache(*text);
  if (auto* problem = std::get_if<std::string>(&parsed)) {
    r.text = "mta-sts:     cache file " + path + " is not readable as a cache: " + *problem + "\n";
    return r;
  }
  mta_sts::Seconds at = now();
  for (const mta_sts::CachedPolicy& p : std::get<mta_sts::ParsedCache>(parsed).entries) {
    if (p.domain != domain) continue;
    r.text = describe(p, at);
    if (p.expires_at() > at) r.policy = p;
    return r;
  }
  r.text = "mta-sts:     no cached policy for " + domain + " in " + path + "\n";
  return r;
}

StsReport refresh_sts_policy(const config::Config& config, const std::string& domain) {
  StsReport r;
  uv_loop_t loop;
  uv_loop_init(&loop);
  {
    std::vector<dns::Server> servers;
    for (const auto& ep : config.dns.servers) servers.push_back({ep.host, ep.port});
    auto made = dns::Resolver::create(&loop, servers);
    if (auto* error = std::get_if<std::string>(&made)) {
      uv_loop_close(&loop);
      r.text = "mta-sts:     no resolver: " + *error + "\n";
      return r;
    }
    auto resolver = std::move(std::get<std::unique_ptr<dns::Resolver>>(made));
    MtaStsSettings settings = mta_sts_settings(config.mta_sts);
    mta_sts::SharedCache cache("", {}, [&](const std::string& line) { r.text += "note:        " + line + "\n"; });
    mta_sts::FetchClient fetcher(&loop, settings.fetcher, [&](const std::string& line) { r.text += "note:        " + line + "\n"; });
    mta_sts::Agent agent(
        &loop, resolver.get(), &cache, &fetcher, settings.agent, [](std::function<void()> fn) { fn(); },
        [&](const mta_sts::FetchReport& report) {
          if (report.result == mta_sts::FetchReport::Result::Fetched) {
            r.text += "refresh:     fetched https://mta-sts." + domain + "/.well-known/mta-sts.txt\n";
          } else {
            r.text += "refresh:     " + std::string(mta_sts::result_type(report.result)) + ": " +
                      log_text::sanitize(report.detail) + "\n";
          }
        },
        [&](const std::string& line) { r.text += "refresh:     " + line + "\n"; });
    std::optional<mta_sts::Lookup> result;
    mta_sts::LookupTicket ticket = agent.refresh(domain, [&](mta_sts::Lookup l) {
      result = std::move(l);
      uv_stop(&loop);
    });
    uv_run(&loop, UV_RUN_DEFAULT);
    if (result && result->policy) {
      r.policy = result->policy;
      r.text += describe(*result->policy, now());
    } else {
      r.text += "mta-sts:     no policy in force" + (result && !result->detail.empty() ? " (" + result->detail + ")" : std::string()) + "\n";
    }
  }
  // Let the closed handles' callbacks run before the loop goes.
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  return r;
}

int mta_sts_purge(const std::string& domain, const std::string& config_path) {
  std::string name = policy::normalize_domain(domain);
  if (std::string why = policy::domain_syntax_problem(name); !why.empty()) {
    std::fprintf(stderr, "mxguard mta-sts purge: \"%s\" is not a domain name: %s\n", domain.c_str(), why.c_str());
    return 2;
  }
  config::LoadResult loaded = config::load_config(config_path);
  if (const auto* error = std::get_if<config::ConfigError>(&loaded)) {
    std::fprintf(stderr, "%s\n", error->to_string().c_str());
    return 2;
  }
  const std::string& path = std::get<config::Config>(loaded).mta_sts.cache_file;
  std::string error;
  std::optional<std::string> text = read_file(path, error);
  if (!text) {
    std::printf("%s: no cached policy (%s %s)\n", name.c_str(), path.c_str(), error.c_str());
    return 1;
  }
  auto parsed = mta_sts::parse_cache(*text);
  if (auto* problem = std::get_if<std::string>(&parsed)) {
    std::fprintf(stderr, "mxguard mta-sts purge: %s is not readable as a cache: %s\n", path.c_str(), problem->c_str());
    return 2;
  }
  std::vector<mta_sts::CachedPolicy> entries = std::get<mta_sts::ParsedCache>(std::move(parsed)).entries;
  auto before = entries.size();
  std::erase_if(entries, [&](const mta_sts::CachedPolicy& p) { return p.domain == name; });
  if (entries.size() == before) {
    std::printf("%s: no cached policy in %s\n", name.c_str(), path.c_str());
    return 1;
  }
  if (std::string failed = mta_sts::write_cache_file(path, mta_sts::serialize_cache(entries)); !failed.empty()) {
    std::fprintf(stderr, "mxguard mta-sts purge: %s\n", failed.c_str());
    return 2;
  }
  std::printf("%s: cached policy removed from %s; send SIGHUP to a running mxguard so that it forgets it too\n",
              name.c_str(), path.c_str());
  return 0;
}

}  // namespace mxguard::app

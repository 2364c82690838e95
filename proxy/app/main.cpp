// mxguard: a STARTTLS-enforcing SMTP proxy. Subcommands: run, check-config, healthcheck, policy, mta-sts, audit,
// version.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <sys/prctl.h>

#include <csignal>

#include "proxy/app/audit_command.h"
#include "proxy/app/healthcheck.h"
#include "proxy/app/log_output.h"
#include "proxy/app/policy_command.h"
#include "proxy/app/policy_command_sts.h"
#include "proxy/app/server.h"

#ifndef MXGUARD_VERSION
#define MXGUARD_VERSION "unknown"
#endif

int main(int argc, char** argv) {
  // Logs go to stderr (journald and container runtimes collect it), one line per event, UTC timestamps;
  // worker threads write theirs once per loop iteration (log_output.h).
  auto logger = std::make_shared<spdlog::logger>("mxguard", mxguard::app::make_log_output());
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
  // A peer that vanishes mid-write must not kill the process.
  std::signal(SIGPIPE, SIG_IGN);

  CLI::App app{"mxguard: a STARTTLS-enforcing SMTP proxy in front of a plaintext mail server"};
  app.require_subcommand(1);
  std::string config_path = "/etc/mxguard/mxguard.toml";
  auto* run = app.add_subcommand("run", "run the proxy until SIGTERM (SIGHUP reloads)");
  run->add_option("-c,--config", config_path, "configuration file")->capture_default_str();
  auto* check = app.add_subcommand("check-config", "validate the configuration and its certificate files, then exit");
  check->add_option("-c,--config", config_path, "configuration file")->capture_default_str();
  auto* health = app.add_subcommand("healthcheck", "exit 0 if the inbound listener relays a 220 greeting");
  health->add_option("-c,--config", config_path, "configuration file")->capture_default_str();
  int health_timeout = 5;
  health->add_option("--timeout", health_timeout, "seconds to wait for the greeting")->capture_default_str();
  auto* policy = app.add_subcommand("policy", "print the effective TLS policy of a recipient domain and where it comes from");
  std::string policy_domain;
  policy->add_option("domain", policy_domain, "recipient domain, e.g. example.org")->required();
  policy->add_option("-c,--config", config_path, "configuration file")->capture_default_str();
  bool policy_refresh = false;
  policy->add_flag("--refresh", policy_refresh, "fetch the domain's MTA-STS policy now instead of reading the cache");
  bool policy_connect = false;
  policy->add_flag("--connect", policy_connect,
                   "also connect to each next hop and show what it offers (STARTTLS, TLS, certificate); sends no mail");
  auto* sts = app.add_subcommand("mta-sts", "manage the MTA-STS policy cache");
  sts->require_subcommand(1);
  auto* purge = sts->add_subcommand("purge", "remove one domain's cached MTA-STS policy (then SIGHUP the running mxguard)");
  std::string purge_domain;
  purge->add_option("domain", purge_domain, "policy domain, e.g. example.org")->required();
  purge->add_option("-c,--config", config_path, "configuration file")->capture_default_str();
  auto* audit = app.add_subcommand("audit", "summarize audit files: TLS outcomes, downgrade attempts, MTA-STS fetches");
  mxguard::app::AuditOptions audit_options;
  audit->add_option("files", audit_options.files, "audit files, plain or gzip-compressed (default: [audit] path)");
  auto* audit_config = audit->add_option("-c,--config", config_path, "configuration file")->capture_default_str();
  audit->add_option("--since", audit_options.since, "from this time (RFC 3339) or UTC day (YYYY-MM-DD) on");
  audit->add_option("--until", audit_options.until, "up to this time (RFC 3339, excluded) or through this UTC day");
  audit->add_option("--domain", audit_options.domain, "only events about this domain");
  audit->add_option("--direction", audit_options.direction, "only inbound or only outbound events")
      ->check(CLI::IsMember({"inbound", "outbound"}));
  audit->add_flag("--json", audit_options.json, "JSON on stdout instead of text");
  audit->add_option("--tlsrpt", audit_options.tlsrpt_dir,
                    "write RFC 8460 TLS-RPT reports (one per policy domain per UTC day) and their emails to DIR");
  audit->add_option("--html", audit_options.html_file, "write a self-contained HTML report (inline SVG charts) to FILE");
  audit->add_option("--organization", audit_options.organization, "TLS-RPT organization-name (default: the submitter)");
  audit->add_option("--contact", audit_options.contact, "TLS-RPT contact-info (default: postmaster@SUBMITTER)");
  audit->add_option("--submitter", audit_options.submitter, "TLS-RPT submitter domain (default: [server] hostname)");
  audit->add_option("--from", audit_options.from, "From: of the report emails (default: the contact)");
  audit->add_flag("--no-dns", audit_options.no_dns, "do not look up _smtp._tls: write the reports only");
  auto* version = app.add_subcommand("version", "print the version");
  CLI11_PARSE(app, argc, argv);

  if (run->parsed()) {
#if !defined(__SANITIZE_ADDRESS__)
    // mxguard-fetch runs under the same uid when mxguard is not root (the container, the systemd unit):
    // not dumpable, the process that holds the private keys cannot be ptraced or read through /proc by
    // it. (LeakSanitizer traces its own process, so sanitizer builds keep the default.)
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
#endif
    return mxguard::app::run_server(config_path);
  }
  if (check->parsed()) return mxguard::app::check_config(config_path);
  if (health->parsed()) return mxguard::app::healthcheck(config_path, health_timeout);
  if (policy->parsed()) return mxguard::app::policy_command(policy_domain, config_path, policy_refresh, policy_connect);
  if (purge->parsed()) return mxguard::app::mta_sts_purge(purge_domain, config_path);
  if (audit->parsed()) {
    audit_options.config_path = config_path;
    audit_options.config_given = audit_config->count() > 0;
    return mxguard::app::audit_command(audit_options);
  }
  if (version->parsed()) {
    std::printf("mxguard %s\n", MXGUARD_VERSION);
    return 0;
  }
  return 2;
}

#include "proxy/app/settings_builder.h"

#include <spdlog/spdlog.h>

#include "proxy/tls/self_signed.h"

namespace mxguard::app {

std::variant<std::shared_ptr<const inbound::InboundSettings>, std::string> build_inbound_settings(
    const config::Config& config, const BuildOptions& options) {
  auto settings = std::make_shared<inbound::InboundSettings>();
  settings->inbound = config.inbound;
  settings->hostname = config.server.hostname;

  std::vector<tls::CertificateFiles> files;
  for (std::size_t i = 0; i < config.inbound.certificates.size(); ++i) {
    const auto& c = config.inbound.certificates[i];
    files.push_back({c.cert, c.key,
                     config.source_path + ":" + std::to_string(c.line) + ": inbound.certificate[" + std::to_string(i) + "]"});
  }
  if (files.empty()) {
    if (!options.allow_self_signed) return settings;   // check-config: nothing to check
    auto self_signed = tls::ensure_self_signed(config.server.state_dir, config.server.hostname);
    if (auto* error = std::get_if<std::string>(&self_signed)) {
      return config.source_path + ": server.state_dir: no [[inbound.certificate]] configured and " + *error;
    }
    const auto& made = std::get<tls::SelfSigned>(self_signed);
    spdlog::warn("no [[inbound.certificate]] configured: {} self-signed certificate {} for {} "
                 "(senders encrypt but cannot authenticate it; configure a real certificate)",
                 made.generated ? "generated" : "using the previously generated", made.cert_path,
                 config.server.hostname);
    files.push_back({made.cert_path, made.key_path, "self-signed certificate"});
  }
  auto tls = tls::ServerContext::create(files, {.workers = options.workers, .ticket_keys = options.ticket_keys});
  if (auto* error = std::get_if<std::string>(&tls)) return *error;
  settings->tls = std::get<std::shared_ptr<const tls::ServerContext>>(tls);
  return std::shared_ptr<const inbound::InboundSettings>(std::move(settings));
}

std::variant<std::shared_ptr<const Runtime>, std::string> build_runtime(const config::Config& config,
                                                                        const BuildOptions& options) {
  auto runtime = std::make_shared<Runtime>();
  auto inbound = build_inbound_settings(config, options);
  if (auto* error = std::get_if<std::string>(&inbound)) return *error;
  runtime->inbound = std::get<std::shared_ptr<const inbound::InboundSettings>>(std::move(inbound));
  runtime->dns_servers = config.dns.servers;
  runtime->dns_trust_ad = config.dns.trust_ad;
  if (!config.outbound.listen.empty()) {
    auto outbound = std::make_shared<outbound::OutboundSettings>();
    outbound->outbound = config.outbound;
    outbound->policy = config.policy;
    outbound->hostname = config.server.hostname;
    outbound->max_message_size = config.inbound.max_message_size;
    auto tls = tls::ClientContext::create(config.outbound.ca_file, options.workers);
    if (auto* error = std::get_if<std::string>(&tls)) {
      return config.source_path + ": outbound.ca_file: " + *error;
    }
    outbound->tls = std::get<std::shared_ptr<const tls::ClientContext>>(std::move(tls));
    auto allow = policy::AllowList::parse(config.outbound.allow);
    if (auto* error = std::get_if<std::string>(&allow)) return config.source_path + ": outbound.allow: " + *error;
    outbound->allow = std::get<policy::AllowList>(std::move(allow));
    runtime->outbound = std::move(outbound);
    if (config.mta_sts.enabled) runtime->mta_sts = std::make_shared<const MtaStsSettings>(mta_sts_settings(config.mta_sts));
  }
  return std::shared_ptr<const Runtime>(std::move(runtime));
}

}  // namespace mxguard::app

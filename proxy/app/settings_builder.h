#pragma once
// Turns a validated Config into what the workers run with: loads certificates (or the self-signed one).
// Used at start and at every reload, so a reload checks exactly what a start checks.
#include <memory>
#include <string>
#include <variant>

#include "policy/config/config.h"
#include "proxy/app/runtime.h"
#include "proxy/inbound/inbound_settings.h"
#include "proxy/tls/ticket_keys.h"

namespace mxguard::app {

struct BuildOptions {
  bool allow_self_signed = true;   // check-config only checks files and never writes one
  // The running number of workers (a reload keeps it whatever the file now says): one set of TLS
  // contexts each, inbound and outbound.
  unsigned workers = 1;
  // The process's session-ticket keys, shared by every load so that tickets survive a reload. Null: the
  // contexts get a source of their own (check-config).
  std::shared_ptr<tls::TicketKeySource> ticket_keys;
};

std::variant<std::shared_ptr<const inbound::InboundSettings>, std::string> build_inbound_settings(
    const config::Config& config, const BuildOptions& options = {});

// The whole snapshot for one configuration load. Error: a message naming file, line and key.
std::variant<std::shared_ptr<const Runtime>, std::string> build_runtime(const config::Config& config,
                                                                        const BuildOptions& options = {});

}  // namespace mxguard::app

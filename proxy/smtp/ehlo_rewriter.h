#pragma once
// Rewrites a backend's EHLO reply into what mxguard offers the client (design.md, inbound step 3). Pure.
#include <cstdint>
#include "proxy/smtp/reply_parser.h"

namespace mxguard::smtp {

struct EhloOffer {
  bool tls_active = false;          // the client session already runs TLS
  bool starttls_available = false;  // a certificate is loaded: offer STARTTLS (only before TLS)
  std::uint64_t max_message_size = 0;  // 0: keep the backend's SIZE; else advertise min(backend, this)
};

// Keeps the first line (the backend's domain and greeting text) and only the extensions mxguard can carry:
// SIZE, PIPELINING, 8BITMIME, DSN, ENHANCEDSTATUSCODES, SMTPUTF8, VRFY, ETRN, HELP, DELIVERBY, MT-PRIORITY,
// and AUTH / AUTH=... / REQUIRETLS only once TLS is active. Everything else is dropped (the backend's own
// STARTTLS, CHUNKING, BINARYMIME, XCLIENT, XFORWARD, unknown extensions that may change framing).
// Adds STARTTLS when starttls_available && !tls_active. A non-2xx reply is returned unchanged.
Reply rewrite_ehlo(const Reply& backend, const EhloOffer& offer);

}  // namespace mxguard::smtp

#include "proxy/tls/ssl_error.h"

#include <openssl/err.h>

namespace mxguard::tls {

std::string last_ssl_error() {
  uint32_t code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown error";
  const char* reason = ERR_reason_error_string(code);
  return reason ? reason : "unknown error";
}

}  // namespace mxguard::tls

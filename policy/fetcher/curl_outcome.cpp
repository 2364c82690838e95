#include "policy/fetcher/curl_outcome.h"

#include "base/log_text.h"

namespace mxguard::fetch {

Outcome outcome_of(CURLcode code) {
  switch (code) {
    case CURLE_PEER_FAILED_VERIFICATION:   // also the old name CURLE_SSL_CACERT
    case CURLE_SSL_CACERT_BADFILE:
      return Outcome::Certificate;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
      return Outcome::Tls;
    case CURLE_COULDNT_CONNECT:
      return Outcome::Connect;
    case CURLE_OPERATION_TIMEDOUT:
      return Outcome::Timeout;
    case CURLE_FILESIZE_EXCEEDED:
      return Outcome::TooLarge;
    default:
      return Outcome::Failed;
  }
}

std::string detail_text(CURLcode code, std::string_view error_buffer) {
  std::string_view text = error_buffer.substr(0, error_buffer.find('\0'));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  if (text.empty()) text = curl_easy_strerror(code);
  return log_text::sanitize(text, 512);
}

}  // namespace mxguard::fetch

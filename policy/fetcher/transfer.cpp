#include "policy/fetcher/transfer.h"

#include "policy/fetcher/curl_outcome.h"
#include "policy/fetcher/request_rules.h"

namespace mxguard::fetch {

std::unique_ptr<Transfer> Transfer::create(const Request& request, const std::string& user_agent, std::string& error) {
  auto self = std::make_unique<Transfer>(Key{});
  self->easy_.reset(curl_easy_init());
  if (!self->easy_) {
    error = "curl_easy_init failed";
    return nullptr;
  }
  // Only the request's addresses: curl never asks DNS itself (mxguard's resolver found these).
  // The entry goes into a DNS cache of this transfer's own, which dies with it. In the multi handle's
  // cache (where an easy handle's entries go by default) a CURLOPT_RESOLVE entry is permanent: it is
  // never pruned and lives as long as the fetcher, one per policy host and port ever fetched, about
  // 235 bytes each (docs/benchmarks.md, "mxguard-fetch over 20,000 fetches"): growth without bound
  // in a daemon that meets new domains for months.
  self->dns_cache_.reset(curl_share_init());
  if (!self->dns_cache_) {
    error = "curl_share_init failed";
    return nullptr;
  }
  if (CURLSHcode rc = curl_share_setopt(self->dns_cache_.get(), CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
      rc != CURLSHE_OK) {
    error = std::string("curl_share_setopt(CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS): ") + curl_share_strerror(rc);
    return nullptr;
  }
  std::string resolve = resolve_entry(request.domain, request.port, request.addresses);
  self->resolve_.reset(curl_slist_append(nullptr, resolve.c_str()));
  if (!self->resolve_) {
    error = "curl_slist_append failed";
    return nullptr;
  }
  std::string url = policy_url(request.domain, request.port);

  CURL* easy = self->easy_.get();
  CURLcode rc = CURLE_OK;
  CURLoption failed_option{};
  auto set = [&](CURLoption option, auto value) {
    if (rc != CURLE_OK) return;
    rc = curl_easy_setopt(easy, option, value);
    if (rc != CURLE_OK) failed_option = option;
  };
  set(CURLOPT_PRIVATE, static_cast<void*>(self.get()));
  set(CURLOPT_ERRORBUFFER, self->error_buffer_.data());
  set(CURLOPT_NOSIGNAL, 1L);
  set(CURLOPT_URL, url.c_str());
  set(CURLOPT_SHARE, self->dns_cache_.get());   // before CURLOPT_RESOLVE is used: at the transfer's start
  set(CURLOPT_RESOLVE, self->resolve_.get());
  // HTTPS and nothing else, also after a redirect (none is followed: mxguard refuses a 3xx itself).
  set(CURLOPT_PROTOCOLS_STR, "https");
  set(CURLOPT_REDIR_PROTOCOLS_STR, "https");
  set(CURLOPT_FOLLOWLOCATION, 0L);
  // A proxy would see (and could answer for) the policy host: never one, whatever the environment says.
  set(CURLOPT_PROXY, "");
  // Trust exactly the CA file: no CA directory, no built-in bundle; verify the chain and the name
  // (SNI and the name checked are the policy host).
  set(CURLOPT_CAINFO, request.ca_file.c_str());
  set(CURLOPT_CAPATH, static_cast<const char*>(nullptr));
  set(CURLOPT_SSL_VERIFYPEER, 1L);
  set(CURLOPT_SSL_VERIFYHOST, 2L);
  set(CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
  // A full handshake, and so a full certificate check, every time: no TLS session resumption, no
  // connection kept for a later request (whose addresses or CA file may differ).
  set(CURLOPT_SSL_SESSIONID_CACHE, 0L);
  set(CURLOPT_FORBID_REUSE, 1L);
  set(CURLOPT_FRESH_CONNECT, 1L);
  // HTTP/1.1: a few KiB once a day need no HTTP/2, and one parser less reads the server's bytes.
  set(CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  set(CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.connect_timeout_ms));
  set(CURLOPT_TIMEOUT_MS, static_cast<long>(request.total_timeout_ms));
  set(CURLOPT_USERAGENT, user_agent.c_str());
  // No Accept-Encoding is sent (CURLOPT_ACCEPT_ENCODING stays unset), and a body sent compressed anyway
  // is passed on as it came, for mxguard's strict parser to refuse. No cookie engine (no COOKIEFILE),
  // no .netrc, no HSTS or alt-svc cache: each fetch starts from nothing.
  set(CURLOPT_HTTP_CONTENT_DECODING, 0L);
  // A Content-Length over the cap ends the transfer before the body (CURLE_FILESIZE_EXCEEDED); on_body
  // catches a body without one.
  set(CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(kMaxBody));
  set(CURLOPT_WRITEFUNCTION, static_cast<curl_write_callback>(&on_body));
  set(CURLOPT_WRITEDATA, static_cast<void*>(self.get()));
  if (rc != CURLE_OK) {
    error = "curl_easy_setopt(" + std::to_string(static_cast<int>(failed_option)) + "): " + curl_easy_strerror(rc);
    return nullptr;
  }
  return self;
}

Transfer* Transfer::of(CURL* easy) {
  void* self = nullptr;
  curl_easy_getinfo(easy, CURLINFO_PRIVATE, &self);
  return static_cast<Transfer*>(self);
}

std::size_t Transfer::on_body(char* data, std::size_t size, std::size_t count, void* self) noexcept {
  auto* me = static_cast<Transfer*>(self);
  std::size_t bytes = size * count;
  if (bytes > kMaxBody - me->body_.size()) {
    me->too_large_ = true;
    return 0;   // anything but `bytes` aborts the transfer (CURLE_WRITE_ERROR)
  }
  try {
    me->body_.append(data, bytes);
  } catch (...) {   // out of memory: abort this transfer, never unwind into curl
    return 0;
  }
  return bytes;
}

Answer Transfer::finish(CURLcode result) {
  Answer answer;
  if (too_large_) {
    answer.outcome = Outcome::TooLarge;
    answer.detail = "the body is over " + std::to_string(kMaxBody) + " bytes";
    return answer;
  }
  if (result != CURLE_OK) {
    answer.outcome = outcome_of(result);
    answer.detail = detail_text(result, std::string_view(error_buffer_.data(), error_buffer_.size()));
    return answer;
  }
  long status = 0;
  char* content_type = nullptr;
  curl_easy_getinfo(easy_.get(), CURLINFO_RESPONSE_CODE, &status);
  curl_easy_getinfo(easy_.get(), CURLINFO_CONTENT_TYPE, &content_type);
  answer.outcome = Outcome::Http;
  answer.status = static_cast<std::uint16_t>(status);
  if (content_type) answer.content_type = content_type;
  answer.body = std::move(body_);
  return answer;
}

}  // namespace mxguard::fetch

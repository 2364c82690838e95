#pragma once
// One HTTPS GET of an MTA-STS policy: a curl easy handle set up from a Request (which request_rules.h
// has accepted), and what came back. The handle only ever talks HTTPS to the request's own addresses,
// trusts only the request's CA file, follows no redirect and reads at most kMaxBody bytes of body.
// Running it is CurlMultiLoop's job; finish() turns curl's result into the Answer.
#include <curl/curl.h>

#include <array>
#include <memory>
#include <string>

#include "policy/fetcher/protocol.h"

namespace mxguard::fetch {

class Transfer {
 public:
  // nullptr (and why, in `error`) if curl refuses the setup.
  static std::unique_ptr<Transfer> create(const Request& request, const std::string& user_agent, std::string& error);
  struct Key {   // only create() constructs one
    explicit Key() = default;
  };
  explicit Transfer(Key) {}
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;

  CURL* easy() const { return easy_.get(); }
  // The answer to curl's `result` (Answer::id is left 0: the caller answers each id that asked). Once:
  // the body moves into the answer.
  Answer finish(CURLcode result);
  // The Transfer that owns `easy` (from CURLOPT_PRIVATE).
  static Transfer* of(CURL* easy);

 private:
  struct EasyCleanup {
    void operator()(CURL* easy) const { curl_easy_cleanup(easy); }
  };
  struct SlistFree {
    void operator()(curl_slist* list) const { curl_slist_free_all(list); }
  };
  struct ShareCleanup {
    void operator()(CURLSH* share) const { curl_share_cleanup(share); }
  };
  static std::size_t on_body(char* data, std::size_t size, std::size_t count, void* self) noexcept;

  // Declared first, destroyed last: the easy handle points at all of these until curl_easy_cleanup
  // (curl_share_cleanup refuses a share an easy handle still uses, and would leak it).
  std::unique_ptr<CURLSH, ShareCleanup> dns_cache_;   // this transfer's DNS cache: its one resolve entry
  std::unique_ptr<curl_slist, SlistFree> resolve_;
  std::array<char, CURL_ERROR_SIZE> error_buffer_{};
  std::string body_;
  bool too_large_ = false;
  std::unique_ptr<CURL, EasyCleanup> easy_;
};

}  // namespace mxguard::fetch

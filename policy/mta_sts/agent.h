#pragma once
// MTA-STS on one worker loop (RFC 8461 §3, §5): what policy a recipient domain has now, learned through
// the loop's resolver (TXT _mta-sts.<domain>, the policy host's addresses) and its mxguard-fetch child,
// and kept in the process's SharedCache.
//
// A lookup answers at once from a policy in force (and then, at most once per txt_recheck per domain,
// looks at the TXT record in the background: a new id fetches the new policy). Without one it waits for
// discovery and, when a policy is published, for the fetch: the first mail to a domain is protected by
// its policy, not only the second. A lookup that learns nothing (no record, a DNS failure, a failed
// fetch) answers "no policy": RFC 8461 §3.3 says to deliver as though the domain had none, and the
// failure is reported (FetchReport) for the audit log.
//
// The loop's agent with `proactive_refresh` (one per process) also refreshes policies before they
// expire. Every fetch's result, and every TXT record that is not valid, is reported.
#include <uv.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "policy/dns/resolver.h"
#include "policy/libuv/deferred_calls.h"
#include "policy/libuv/handle.h"
#include "policy/mta_sts/fetch_client.h"
#include "policy/mta_sts/shared_cache.h"
#include "policy/mta_sts/ticket.h"

namespace mxguard::mta_sts {

struct AgentOptions {
  bool enabled = true;
  std::uint16_t https_port = 443;
  std::string ca_file;
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds total_timeout{30000};
  std::chrono::seconds txt_recheck{300};     // how often a domain with a policy in force has its TXT looked at
  bool proactive_refresh = false;            // this loop refreshes policies before they expire
  std::chrono::seconds refresh_tick{60};
};

// What one fetch (or one unusable TXT record) came to, for the audit and process logs.
struct FetchReport {
  enum class Result {
    Fetched,         // a valid policy; it is now in force (mode none included)
    FetchError,      // no policy could be fetched (no address, connect, timeout, non-200, the fetcher died)
    PolicyInvalid,   // what was fetched is not a valid policy (content type, syntax, size), or the TXT record is not valid
    WebPkiInvalid,   // the policy host's certificate did not verify
  };
  std::string domain;
  Result result = Result::FetchError;
  std::string id;                  // the TXT record's id ("" when the record itself was the problem)
  std::optional<Policy> policy;    // Fetched
  bool changed = false;            // Fetched: a different policy (or id) than the one in force before
  bool cached_in_force = false;    // not Fetched: a previously fetched policy stays in force
  std::string detail;              // why, in words ("HTTP 404", "SSL certificate problem: ...")
};

// The RFC 8460 result type of a report: "sts-policy-fetch-error", "sts-policy-invalid",
// "sts-webpki-invalid"; "" for Fetched.
std::string_view result_type(FetchReport::Result result);

struct Lookup {
  bool enabled = true;                  // false: [mta_sts] enabled = false
  std::optional<CachedPolicy> policy;   // the policy in force, if any
  std::string detail;                   // without a policy: why ("no _mta-sts record", "fetch failed: ...")
};

using LookupTicket = Ticket<Lookup>;

class Agent {
 public:
  using Post = std::function<void(std::function<void()>)>;   // runs a function on this agent's loop; any thread
  using Report = std::function<void(const FetchReport&)>;
  using LogFn = std::function<void(const std::string&)>;
  using Now = std::function<Seconds()>;

  Agent(uv_loop_t* loop, dns::Resolver* resolver, SharedCache* cache, FetchClient* fetcher, AgentOptions options,
        Post post, Report report, LogFn log, Now now = {});
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // The policy of `domain` (lower-case). The callback runs on the loop, never inside lookup().
  LookupTicket lookup(const std::string& domain, std::function<void(Lookup)> callback);
  // Discovers and fetches now, whatever the cache holds (`mxguard policy --refresh`); the callback gets
  // the policy in force afterwards.
  LookupTicket refresh(const std::string& domain, std::function<void(Lookup)> callback);

  std::size_t flights() const { return flights_.size(); }

 private:
  struct Flight;
  using Waiter = std::shared_ptr<std::function<void(Lookup)>>;

  LookupTicket start(const std::string& domain, std::function<void(Lookup)> callback, bool forced);
  void begin(Flight& flight);
  void on_txt(const std::string& domain, dns::TxtResult answer);
  void on_host_addresses(const std::string& domain, dns::AddressResult answer);
  void on_fetched(const std::string& domain, fetch::Answer answer);
  void fetch_failed(Flight& flight, FetchReport::Result result, std::string detail);
  void finish(const std::string& domain, std::string detail);
  void post_answer(Waiter waiter, Lookup lookup);
  void on_tick();
  Seconds now() const;

  uv_loop_t* loop_;
  dns::Resolver* resolver_;
  SharedCache* cache_;
  FetchClient* fetcher_;
  AgentOptions options_;
  Post post_;
  Report report_;
  LogFn log_;
  Now now_;
  std::map<std::string, std::unique_ptr<Flight>> flights_;
  libuv::DeferredCalls answers_;   // lookups are answered on a later loop turn, never inside lookup()
  libuv::Handle<uv_timer_t> tick_timer_;
  std::shared_ptr<Agent*> self_;   // what other loops' callbacks hold (weakly) to find this agent
};

}  // namespace mxguard::mta_sts

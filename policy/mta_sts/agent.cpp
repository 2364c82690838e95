#include "policy/mta_sts/agent.h"

#include <random>

#include "policy/mta_sts/record.h"
#include "policy/net/socket_address.h"

namespace mxguard::mta_sts {

// One domain's discovery and fetch on this loop, and the lookups waiting for it.
struct Agent::Flight {
  std::string domain;
  bool forced = false;
  bool claimed = false;      // this flight holds the process-wide claim on the domain
  std::string id;            // the TXT id being fetched
  std::vector<Waiter> waiters;
  dns::Query query;
  FetchTicket fetch;
};

namespace {

// Proactive refreshes of many policies fetched at one moment should not all fall due at one moment.
std::chrono::seconds refresh_jitter(std::uint32_t max_age) {
  thread_local std::minstd_rand random{std::random_device{}()};
  std::uint32_t span = std::min<std::uint32_t>(max_age / 16, 3600);
  return std::chrono::seconds(span == 0 ? 0 : random() % span);
}

}  // namespace

std::string_view result_type(FetchReport::Result result) {
  switch (result) {
    case FetchReport::Result::Fetched: return "";
    case FetchReport::Result::FetchError: return "sts-policy-fetch-error";
    case FetchReport::Result::PolicyInvalid: return "sts-policy-invalid";
    case FetchReport::Result::WebPkiInvalid: return "sts-webpki-invalid";
  }
  return "sts-policy-fetch-error";
}

Agent::Agent(uv_loop_t* loop, dns::Resolver* resolver, SharedCache* cache, FetchClient* fetcher, AgentOptions options,
             Post post, Report report, LogFn log, Now now)
    : loop_(loop),
      resolver_(resolver),
      cache_(cache),
      fetcher_(fetcher),
      options_(std::move(options)),
      post_(std::move(post)),
      report_(std::move(report)),
      log_(std::move(log)),
      now_(std::move(now)),
      answers_(loop),
      self_(std::make_shared<Agent*>(this)) {
  uv_timer_init(loop_, tick_timer_.get());
  tick_timer_.mark_initialized();
  tick_timer_.get()->data = this;
  if (options_.enabled && options_.proactive_refresh) {
    auto tick = static_cast<std::uint64_t>(std::chrono::milliseconds(options_.refresh_tick).count());
    uv_timer_start(tick_timer_.get(), [](uv_timer_t* t) { static_cast<Agent*>(t->data)->on_tick(); }, tick, tick);
    uv_unref(tick_timer_.base());   // the refresh alone does not keep a stopping loop alive
  }
}

Agent::~Agent() {
  self_.reset();
  for (auto& [domain, flight] : flights_) {
    if (flight->claimed) cache_->release(domain);
  }
}

Seconds Agent::now() const {
  return now_ ? now_() : std::chrono::floor<std::chrono::seconds>(Clock::now());
}

LookupTicket Agent::lookup(const std::string& domain, std::function<void(Lookup)> callback) {
  return start(domain, std::move(callback), false);
}

LookupTicket Agent::refresh(const std::string& domain, std::function<void(Lookup)> callback) {
  return start(domain, std::move(callback), true);
}

LookupTicket Agent::start(const std::string& domain, std::function<void(Lookup)> callback, bool forced) {
  auto waiter = std::make_shared<std::function<void(Lookup)>>(std::move(callback));
  LookupTicket ticket{std::weak_ptr<std::function<void(Lookup)>>(waiter)};
  if (!options_.enabled) {
    post_answer(waiter, Lookup{.enabled = false, .policy = {}, .detail = "MTA-STS is disabled ([mta_sts] enabled)"});
    return ticket;
  }
  Seconds t = now();
  std::optional<CachedPolicy> in_force = cache_->in_force(domain, t);
  bool look_again = forced || !in_force || cache_->take_txt_check(domain, t, options_.txt_recheck);
  if (in_force && !forced) {
    post_answer(waiter, Lookup{.enabled = true, .policy = std::move(in_force), .detail = {}});
    waiter.reset();   // the background look at the TXT record below has nobody waiting
  }
  if (!look_again) return ticket;

  auto [it, fresh] = flights_.try_emplace(domain);
  if (waiter) {
    if (!fresh) {
      it->second->waiters.push_back(std::move(waiter));
      it->second->forced = it->second->forced || forced;
      return ticket;
    }
  } else if (!fresh) {
    return ticket;   // a flight is under way already
  }
  it->second = std::make_unique<Flight>();
  Flight& flight = *it->second;
  flight.domain = domain;
  flight.forced = forced;
  if (waiter) flight.waiters.push_back(std::move(waiter));
  begin(flight);
  return ticket;
}

void Agent::begin(Flight& flight) {
  std::weak_ptr<Agent*> weak = self_;
  std::string domain = flight.domain;
  Post post = post_;
  // When another worker holds the claim, this flight waits for that one to end and then answers from
  // the cache, so that a domain is fetched once however many workers send to it.
  flight.claimed = cache_->claim(domain, [weak, domain, post] {
    post([weak, domain] {
      if (auto self = weak.lock()) (*self)->finish(domain, "fetched by another worker: no policy in force");
    });
  });
  if (!flight.claimed) return;
  if (!resolver_) {
    finish(domain, "no DNS resolver on this loop");
    return;
  }
  flight.query = resolver_->query_txt("_mta-sts." + domain,
                                      [this, domain](dns::TxtResult answer) { on_txt(domain, std::move(answer)); });
}

void Agent::on_txt(const std::string& domain, dns::TxtResult answer) {
  auto it = flights_.find(domain);
  if (it == flights_.end()) return;
  Flight& flight = *it->second;
  Discovery found = discover(answer);
  Seconds t = now();
  bool cached = cache_->in_force(domain, t).has_value();
  switch (found.kind) {
    case Discovery::Kind::None:
      finish(domain, "no MTA-STS record at _mta-sts." + domain);
      return;
    case Discovery::Kind::Temporary:
      // Nothing is known: a policy in force stays, and without one the mail goes as though there were none.
      log_("MTA-STS " + domain + ": TXT lookup failed (" + found.detail + ")" +
           (cached ? "; the cached policy stays in force" : ""));
      finish(domain, "TXT lookup for _mta-sts." + domain + " failed: " + found.detail);
      return;
    case Discovery::Kind::Invalid: {
      FetchReport r;
      r.domain = domain;
      r.result = FetchReport::Result::PolicyInvalid;
      r.cached_in_force = cached;
      r.detail = "TXT record at _mta-sts." + domain + ": " + found.detail;
      report_(r);
      finish(domain, r.detail);
      return;
    }
    case Discovery::Kind::Published:
      break;
  }
  Next next = flight.forced ? Next::Fetch : cache_->after_discovery(domain, found, t);
  if (next == Next::UsePolicy || next == Next::NoPolicy) {
    finish(domain, next == Next::NoPolicy ? "a recent fetch failed; not tried again yet" : "");
    return;
  }
  flight.id = found.id;
  flight.query = resolver_->query_addresses(
      "mta-sts." + domain, [this, domain](dns::AddressResult r) { on_host_addresses(domain, std::move(r)); });
}

void Agent::on_host_addresses(const std::string& domain, dns::AddressResult answer) {
  auto it = flights_.find(domain);
  if (it == flights_.end()) return;
  Flight& flight = *it->second;
  if (answer.status != dns::Status::Ok) {
    fetch_failed(flight, FetchReport::Result::FetchError,
                 "no address for mta-sts." + domain + " (" + std::string(dns::to_string(answer.status)) + ")");
    return;
  }
  fetch::Request request;
  request.domain = domain;
  request.port = options_.https_port;
  for (const sockaddr_storage& a : answer.addresses) {
    if (request.addresses.size() == fetch::kMaxAddresses) break;
    request.addresses.push_back(policy::address_text(a));
  }
  request.ca_file = options_.ca_file;
  request.connect_timeout_ms = static_cast<std::uint32_t>(options_.connect_timeout.count());
  request.total_timeout_ms = static_cast<std::uint32_t>(options_.total_timeout.count());
  if (!fetcher_) {
    fetch_failed(flight, FetchReport::Result::FetchError, "no MTA-STS fetcher on this loop");
    return;
  }
  flight.fetch = fetcher_->fetch(std::move(request),
                                 [this, domain](fetch::Answer a) { on_fetched(domain, std::move(a)); });
}

void Agent::on_fetched(const std::string& domain, fetch::Answer answer) {
  auto it = flights_.find(domain);
  if (it == flights_.end()) return;
  Flight& flight = *it->second;
  using R = FetchReport::Result;
  switch (answer.outcome) {
    case fetch::Outcome::Http: break;
    case fetch::Outcome::Certificate: fetch_failed(flight, R::WebPkiInvalid, answer.detail); return;
    case fetch::Outcome::TooLarge: fetch_failed(flight, R::PolicyInvalid, "the policy is over 64 KiB"); return;
    default:
      fetch_failed(flight, R::FetchError, std::string(fetch::to_string(answer.outcome)) + ": " + answer.detail);
      return;
  }
  if (answer.status != 200) {
    std::string why = "HTTP " + std::to_string(answer.status);
    if (answer.status >= 300 && answer.status < 400) why += " (a redirect, which RFC 8461 §3.3 forbids following)";
    fetch_failed(flight, R::FetchError, why);
    return;
  }
  if (!is_text_plain(answer.content_type)) {
    fetch_failed(flight, R::PolicyInvalid,
                 "Content-Type \"" + answer.content_type + "\" is not text/plain (RFC 8461 §3.3)");
    return;
  }
  auto parsed = parse_policy(answer.body);
  if (auto* problem = std::get_if<std::string>(&parsed)) {
    fetch_failed(flight, R::PolicyInvalid, "the policy " + *problem);
    return;
  }
  Seconds t = now();
  std::optional<CachedPolicy> before = cache_->in_force(domain, t);
  CachedPolicy fresh;
  fresh.domain = domain;
  fresh.id = flight.id;
  fresh.fetched_at = t;
  fresh.policy = std::get<Policy>(std::move(parsed));
  FetchReport r;
  r.domain = domain;
  r.result = R::Fetched;
  r.id = flight.id;
  r.policy = fresh.policy;
  r.changed = !before || before->id != fresh.id || before->policy.text != fresh.policy.text;
  cache_->store(fresh, refresh_jitter(fresh.policy.max_age));
  report_(r);
  finish(domain, "");
}

void Agent::fetch_failed(Flight& flight, FetchReport::Result result, std::string detail) {
  Seconds t = now();
  cache_->fetch_failed(flight.domain, t);
  FetchReport r;
  r.domain = flight.domain;
  r.result = result;
  r.id = flight.id;
  r.cached_in_force = cache_->in_force(flight.domain, t).has_value();
  r.detail = std::move(detail);
  report_(r);
  std::string domain = flight.domain;
  finish(domain, "policy fetch failed: " + r.detail);
}

void Agent::finish(const std::string& domain, std::string detail) {
  auto it = flights_.find(domain);
  if (it == flights_.end()) return;
  std::unique_ptr<Flight> flight = std::move(it->second);
  flights_.erase(it);
  std::optional<CachedPolicy> in_force = cache_->in_force(domain, now());
  for (Waiter& w : flight->waiters) {
    post_answer(w, Lookup{.enabled = true, .policy = in_force, .detail = in_force ? std::string() : detail});
  }
  if (flight->claimed) cache_->release(domain);   // may post to other loops' flights
}

void Agent::post_answer(Waiter waiter, Lookup lookup) {
  // A callback may destroy the agent (its worker stopping): the answers after it are then never run.
  answers_.post([waiter = std::move(waiter), lookup = std::move(lookup)]() mutable {
    run_once(waiter, std::move(lookup));
  });
}

void Agent::on_tick() {
  for (const std::string& domain : cache_->due_for_refresh(now())) {
    if (flights_.count(domain)) continue;
    auto flight = std::make_unique<Flight>();
    flight->domain = domain;
    Flight& f = *flight;
    flights_.emplace(domain, std::move(flight));
    begin(f);
  }
}

}  // namespace mxguard::mta_sts

#include "proxy/app/worker.h"

#include "policy/dns/ad_trust.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <random>

#include "proxy/app/log_output.h"
#include "proxy/app/worker_local_owner.h"
#include "proxy/uv/before_poll.h"
#include "proxy/net/listener_options.h"
#include "proxy/session/thresholds.h"
#include "proxy/smtp/proxy_header.h"

namespace mxguard::app {
namespace {

// The listener's own address, for a log line (only when something went wrong: one system call).
std::string local_address_text(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return "a listener";
  return smtp::address_with_port(addr);
}

// What the operator can do about EMFILE: the limit in force, and where to raise it.
std::string descriptor_limit_note(int error) {
  if (error != EMFILE) return error == ENFILE ? " (the system's file table is full: fs.file-max)" : "";
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return "";
  return " (the process's file descriptor limit, RLIMIT_NOFILE " + std::to_string(lim.rlim_cur) +
         ": raise LimitNOFILE or ulimit -n)";
}

}  // namespace

Worker::Worker(unsigned index, std::vector<WorkerListener> listeners, std::shared_ptr<const Runtime> runtime,
               audit::Log* audit, session::ConnectionLimiter* limiter, mta_sts::SharedCache* sts_cache,
               metrics::WorkerMetrics* metrics, std::function<void()> on_exit)
    : index_(index),
      pending_listeners_(std::move(listeners)),
      runtime_(for_this_worker(std::move(runtime))),
      audit_(audit),
      limiter_(limiter),
      audit_observer_(audit),
      metrics_observer_(metrics ? std::make_unique<metrics::MetricsObserver>(*metrics) : nullptr),
      sts_cache_(sts_cache),
      on_exit_(std::move(on_exit)) {
  uv_loop_init(&loop_);
  std::random_device rd;
  id_prefix_ = rd() & 0xffffff;
}

// The snapshot with its session-held parts owned per worker (worker_local_owner.h): sessions copy those
// pointers, and their counts then live on this worker's cache lines.
std::shared_ptr<const Runtime> Worker::for_this_worker(std::shared_ptr<const Runtime> shared) {
  if (!shared) return shared;
  auto local = std::make_shared<Runtime>(*shared);
  local->inbound = worker_local_owner(shared->inbound);
  local->outbound = worker_local_owner(shared->outbound);
  return local;
}

Worker::~Worker() {
  join();
  // Every handle was closed by the loop's last turns; closing the loop is all that is left.
  uv_loop_close(&loop_);
}

// Whether DANE can believe the resolver's AD bit: the servers it really asks (those of /etc/resolv.conf
// when [dns] servers is empty) are all on loopback, or the operator said so. Said once, by worker 0.
bool Worker::ad_trusted(const dns::Resolver& resolver) const {
  std::vector<std::string> addresses;
  for (const dns::Server& s : resolver.servers()) addresses.push_back(s.address);
  bool trusted = dns::ad_bit_trusted(addresses, runtime_->dns_trust_ad);
  bool dane = runtime_->outbound && config::uses_dane(runtime_->outbound->policy);
  if (index_ == 0 && dane) {
    std::string list;
    for (const std::string& a : addresses) list += (list.empty() ? "" : ", ") + a;
    if (trusted) {
      spdlog::info("DNS: the AD bit of {} is believed ({}): DANE applies where TLSA records are validated", list,
                   runtime_->dns_trust_ad ? "[dns] trust_ad" : "loopback");
    } else {
      spdlog::warn("DNS: {} is not on loopback and [dns] trust_ad is false: its AD bit is not believed, so DANE "
                   "never applies (dane acts as the domain's other policy, dane-only refuses)",
                   list.empty() ? "no server" : list);
    }
  }
  return trusted;
}

void Worker::start() {
  wakeup_ = std::make_unique<uv::Handle<uv_async_t>>();
  if (uv_async_init(&loop_, wakeup_->get(), [](uv_async_t* a) { static_cast<Worker*>(a->data)->drain_posted(); }) == 0) {
    wakeup_->mark_initialized();
  }
  wakeup_->get()->data = this;
  services_.worker = index_;
  services_.outbound.worker = index_;
  std::vector<dns::Server> servers;
  for (const auto& ep : runtime_->dns_servers) servers.push_back({ep.host, ep.port});
  auto resolver = dns::Resolver::create(&loop_, servers);
  if (auto* error = std::get_if<std::string>(&resolver)) {
    // Outbound sessions then answer every recipient with a temporary DNS failure: mail waits, never lost.
    spdlog::error("worker {}: DNS resolver not available: {}", index_, *error);
  } else {
    resolver_ = std::move(std::get<std::unique_ptr<dns::Resolver>>(resolver));
    services_.outbound.resolver = resolver_.get();
    services_.outbound.ad_trusted = ad_trusted(*resolver_);
  }
  if (runtime_->mta_sts && sts_cache_) {
    // Worker 0 alone refreshes policies before they expire: the cache is shared, one refresher is enough.
    MtaStsLoop::OnReport counted;
    if (metrics_observer_) counted = [m = metrics_observer_.get()](const mta_sts::FetchReport& r) { m->on_fetch(r); };
    mta_sts_ = std::make_unique<MtaStsLoop>(&loop_, resolver_.get(), sts_cache_, *runtime_->mta_sts, index_ == 0,
                                            [this](std::function<void()> fn) { post(std::move(fn)); }, audit_,
                                            std::move(counted));
    services_.outbound.sts = mta_sts_->agent();
  }
  services_.outbound.observer = metrics_observer_.get();
  turns_ = std::make_unique<session::TurnQueue>(&loop_, session::kQueuedTurnsPerIteration);
  for (auto& planned : pending_listeners_) {
    auto listener = std::make_unique<Listening>();
    listener->factory = std::move(planned.factory);
    Listening* raw = listener.get();
    net::Acceptor::Events events;
    events.accepted = [this, raw](int fd) { on_connection(*raw, fd); };
    events.failing = [this, raw](int error) {
      // Once per streak, not per connection: a flood must not fill the log.
      spdlog::error("worker {}: cannot accept connections on {}: {}{}; sessions go on, new connections wait in "
                    "the listen queue (retried every {} ms)", index_, local_address_text(raw->acceptor->fd()),
                    std::strerror(error), descriptor_limit_note(error),
                    net::Acceptor::kResourcePause.count());
    };
    events.accepting_again = [this, raw](std::uint64_t pauses) {
      spdlog::info("worker {}: accepting connections on {} again (after {} pause(s))", index_,
                   local_address_text(raw->acceptor->fd()), pauses);
    };
    listener->acceptor = std::make_unique<net::Acceptor>(&loop_, planned.fd, std::move(events));
    // Inherited by every accepted connection (a socket handed over by a predecessor or systemd too).
    if (int opt = net::set_client_socket_options(planned.fd); opt != 0) {
      spdlog::warn("worker {}: cannot set TCP_NODELAY and the send buffer on a listener: {}", index_, uv_strerror(opt));
    }
    if (int rc = listener->acceptor->start(1024); rc != 0) {
      spdlog::error("worker {}: cannot listen: {}", index_, uv_strerror(rc));
    }
    listeners_.push_back(std::move(listener));
  }
  pending_listeners_.clear();   // the fds are owned by the acceptors now
  thread_ = std::thread([this] { run(); });
}

void Worker::run() {
  {
    // This thread's log lines and audit events leave once per iteration, before the loop polls.
    LoopLogBatch log_batch(&loop_);
    std::optional<audit::Log::ThreadBatch> audit_batch;
    std::optional<uv::BeforePoll> audit_flush;
    if (audit_) {
      audit_batch.emplace(*audit_);
      audit_flush.emplace(&loop_, [&audit_batch] { audit_batch->flush(); });
    }
    uv_run(&loop_, UV_RUN_DEFAULT);
    if (audit_batch) audit_batch->flush();   // what the loop's last turns audited
    if (audit_flush) audit_flush->close();
    log_batch.close();
  }
  uv_run(&loop_, UV_RUN_DEFAULT);   // the handles closed just now
  if (on_exit_) on_exit_();
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::post(std::function<void()> fn) {
  std::lock_guard lock(posted_mutex_);
  if (wakeup_closed_ || !wakeup_ || !wakeup_->initialized()) return;   // the loop is gone or going
  posted_.push_back(std::move(fn));
  uv_async_send(wakeup_->get());
}

void Worker::drain_posted() {
  std::vector<std::function<void()>> work;
  {
    std::lock_guard lock(posted_mutex_);
    work.swap(posted_);
  }
  for (auto& fn : work) fn();
}

void Worker::reload(std::shared_ptr<const Runtime> runtime) {
  post([this, runtime = std::move(runtime)]() mutable { runtime_ = for_this_worker(std::move(runtime)); });
}

void Worker::stop(std::chrono::seconds grace, bool tell_sessions) {
  post([this, grace, tell_sessions] { begin_stop(grace, tell_sessions); });
}

void Worker::on_connection(Listening& listener, int fd) {
  char id[24];
  std::snprintf(id, sizeof id, "%06x%02x%06llx", id_prefix_, index_ & 0xff,
                static_cast<unsigned long long>(++next_session_ & 0xffffff));
  session::Environment env;
  env.loop = &loop_;
  env.id = id;
  env.audit = audit_;
  env.limiter = limiter_;
  env.turns = turns_.get();
  env.observers = {&audit_observer_};
  if (metrics_observer_) env.observers.push_back(metrics_observer_.get());
  // The session reports its end only after its last handle closed; erasing it then is safe.
  env.on_finished = [this](session::SessionCore& done) {
    sessions_.erase(&done);
    maybe_exit();
  };
  std::unique_ptr<session::SessionCore> session = listener.factory(*runtime_, std::move(env), services_);
  session::SessionCore* raw = session.get();
  sessions_.emplace(raw, std::move(session));
  raw->start(fd);
  if (stopping_ && telling_sessions_ && sessions_.count(raw)) raw->drain();
}

void Worker::begin_stop(std::chrono::seconds grace, bool tell_sessions) {
  if (stopping_) {
    if (grace_timer_) grace_timer_->start(std::chrono::duration_cast<std::chrono::milliseconds>(grace));
    return;
  }
  stopping_ = true;
  telling_sessions_ = tell_sessions;
  // A successor may hold the same sockets: closing ours then closes nothing but this process's share.
  for (auto& l : listeners_) l->acceptor->close();
  spdlog::info("worker {}: stopped accepting; {} session(s) may finish within {}s", index_, sessions_.size(),
               grace.count());
  if (tell_sessions) {
    for (auto& [raw, session] : sessions_) session->drain();
  }
  grace_timer_ = std::make_unique<uv::Timer>(&loop_, [this] {
    // shutdown() may finish a session synchronously: iterate over a copy of the keys.
    std::vector<session::SessionCore*> live;
    for (auto& [raw, session] : sessions_) live.push_back(raw);
    for (auto* s : live) {
      if (sessions_.count(s)) s->shutdown();
    }
  });
  grace_timer_->start(std::chrono::duration_cast<std::chrono::milliseconds>(grace));
  maybe_exit();
}

void Worker::maybe_exit() {
  if (!stopping_ || !sessions_.empty()) return;
  // Nothing left to serve: closing the last handles lets uv_run return.
  if (grace_timer_) grace_timer_->close();
  {
    std::lock_guard lock(posted_mutex_);
    wakeup_closed_ = true;
  }
  if (wakeup_) wakeup_->close();
  services_.outbound.sts = nullptr;
  mta_sts_.reset();   // the agent uses the resolver; its fetcher child gets EOF and exits
  services_.outbound.resolver = nullptr;
  resolver_.reset();   // closes its handles on this loop, so uv_run can return
  if (turns_) turns_->close();
}

}  // namespace mxguard::app

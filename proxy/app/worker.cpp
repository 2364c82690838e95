#include "proxy/app/worker.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <random>

#include "proxy/session/thresholds.h"

namespace mxguard::app {

Worker::Worker(unsigned index, std::vector<WorkerListener> listeners, std::shared_ptr<const Runtime> runtime,
               audit::Log* audit, session::ConnectionLimiter* limiter, std::function<void()> on_exit)
    : index_(index),
      pending_listeners_(std::move(listeners)),
      runtime_(std::move(runtime)),
      audit_(audit),
      limiter_(limiter),
      audit_observer_(audit),
      on_exit_(std::move(on_exit)) {
  uv_loop_init(&loop_);
  std::random_device rd;
  id_prefix_ = rd() & 0xffffff;
}

Worker::~Worker() {
  join();
  // Every handle was closed by the loop's last turns; closing the loop is all that is left.
  uv_loop_close(&loop_);
}

void Worker::start() {
  wakeup_ = std::make_unique<uv::Handle<uv_async_t>>();
  if (uv_async_init(&loop_, wakeup_->get(), [](uv_async_t* a) { static_cast<Worker*>(a->data)->drain_posted(); }) == 0) {
    wakeup_->mark_initialized();
  }
  wakeup_->get()->data = this;
  std::vector<dns::Server> servers;
  for (const auto& ep : runtime_->dns_servers) servers.push_back({ep.host, ep.port});
  auto resolver = dns::Resolver::create(&loop_, servers);
  if (auto* error = std::get_if<std::string>(&resolver)) {
    // Outbound sessions then answer every recipient with a temporary DNS failure: mail waits, never lost.
    spdlog::error("worker {}: DNS resolver not available: {}", index_, *error);
  } else {
    resolver_ = std::move(std::get<std::unique_ptr<dns::Resolver>>(resolver));
    services_.outbound.resolver = resolver_.get();
  }
  turns_ = std::make_unique<session::TurnQueue>(&loop_, session::kQueuedTurnsPerIteration);
  for (auto& planned : pending_listeners_) {
    auto listener = std::make_unique<Listening>();
    listener->factory = std::move(planned.factory);
    uv_tcp_init(&loop_, listener->handle.get());
    listener->handle.mark_initialized();
    listener->handle.get()->data = this;
    int rc = uv_tcp_open(listener->handle.get(), planned.fd);
    if (rc == 0) {
      rc = uv_listen(listener->handle.stream(), 1024, [](uv_stream_t* server, int status) {
        if (status != 0) return;
        auto* self = static_cast<Worker*>(server->data);
        for (auto& l : self->listeners_) {
          if (l->handle.stream() == server) self->on_connection(*l);
        }
      });
    }
    if (rc != 0) spdlog::error("worker {}: cannot listen: {}", index_, uv_strerror(rc));
    listeners_.push_back(std::move(listener));
  }
  pending_listeners_.clear();   // the fds are owned by the handles now
  thread_ = std::thread([this] { run(); });
}

void Worker::run() {
  uv_run(&loop_, UV_RUN_DEFAULT);
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
  post([this, runtime = std::move(runtime)]() mutable { runtime_ = std::move(runtime); });
}

void Worker::stop(std::chrono::seconds grace) {
  post([this, grace] { begin_stop(grace); });
}

void Worker::on_connection(Listening& listener) {
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
  // The session reports its end only after its last handle closed; erasing it then is safe.
  env.on_finished = [this](session::SessionCore& done) {
    sessions_.erase(&done);
    maybe_exit();
  };
  std::unique_ptr<session::SessionCore> session = listener.factory(*runtime_, std::move(env), services_);
  session::SessionCore* raw = session.get();
  sessions_.emplace(raw, std::move(session));
  raw->start(listener.handle.stream());
  if (stopping_ && sessions_.count(raw)) raw->drain();
}

void Worker::begin_stop(std::chrono::seconds grace) {
  if (stopping_) {
    if (grace_timer_) grace_timer_->start(std::chrono::duration_cast<std::chrono::milliseconds>(grace));
    return;
  }
  stopping_ = true;
  for (auto& l : listeners_) l->handle.close();
  spdlog::info("worker {}: stopped accepting; {} session(s) may finish within {}s", index_, sessions_.size(),
               grace.count());
  for (auto& [raw, session] : sessions_) session->drain();
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
  services_.outbound.resolver = nullptr;
  resolver_.reset();   // closes its handles on this loop, so uv_run can return
  if (turns_) turns_->close();
}

}  // namespace mxguard::app

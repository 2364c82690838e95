#include "proxy/app/worker.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <random>

namespace mxguard::app {

Worker::Worker(unsigned index, std::vector<int> listen_fds, std::shared_ptr<const inbound::InboundSettings> settings,
               audit::Log* audit, inbound::ConnectionLimiter* limiter, std::function<void()> on_exit)
    : index_(index),
      listen_fds_(std::move(listen_fds)),
      settings_(std::move(settings)),
      audit_(audit),
      limiter_(limiter),
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
  for (int fd : listen_fds_) {
    auto listener = std::make_unique<uv::Handle<uv_tcp_t>>();
    uv_tcp_init(&loop_, listener->get());
    listener->mark_initialized();
    listener->get()->data = this;
    int rc = uv_tcp_open(listener->get(), fd);
    if (rc == 0) {
      rc = uv_listen(listener->stream(), 1024, [](uv_stream_t* server, int status) {
        if (status == 0) static_cast<Worker*>(server->data)->on_connection(server);
      });
    }
    if (rc != 0) spdlog::error("worker {}: cannot listen: {}", index_, uv_strerror(rc));
    listeners_.push_back(std::move(listener));
  }
  listen_fds_.clear();   // owned by the handles now
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

void Worker::reload(std::shared_ptr<const inbound::InboundSettings> settings) {
  post([this, settings = std::move(settings)]() mutable { settings_ = std::move(settings); });
}

void Worker::stop(std::chrono::seconds grace) {
  post([this, grace] { begin_stop(grace); });
}

void Worker::on_connection(uv_stream_t* listener) {
  char id[24];
  std::snprintf(id, sizeof id, "%06x%02x%06llx", id_prefix_, index_ & 0xff,
                static_cast<unsigned long long>(++next_session_ & 0xffffff));
  // The session reports its end only after its last handle closed; erasing it then is safe.
  auto session = std::make_unique<inbound::InboundSession>(inbound::SessionEnvironment{
      .loop = &loop_, .settings = settings_, .audit = audit_, .limiter = limiter_, .id = id,
      .on_finished = [this](inbound::InboundSession& done) {
        sessions_.erase(&done);
        maybe_exit();
      }});
  inbound::InboundSession* raw = session.get();
  sessions_.emplace(raw, std::move(session));
  raw->start(listener);
  if (stopping_) raw->drain();
}

void Worker::begin_stop(std::chrono::seconds grace) {
  if (stopping_) {
    if (grace_timer_) grace_timer_->start(std::chrono::duration_cast<std::chrono::milliseconds>(grace));
    return;
  }
  stopping_ = true;
  for (auto& l : listeners_) l->close();
  spdlog::info("worker {}: stopped accepting; {} session(s) may finish within {}s", index_, sessions_.size(),
               grace.count());
  for (auto& [raw, session] : sessions_) session->drain();
  grace_timer_ = std::make_unique<uv::Timer>(&loop_, [this] {
    // shutdown() may finish a session synchronously: iterate over a copy of the keys.
    std::vector<inbound::InboundSession*> live;
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
}

}  // namespace mxguard::app

#include "bench/loadgen/flood_runner.h"

#include <cstdio>
#include <cstdlib>

namespace mxguard::bench {
namespace {
constexpr uint64_t kTickMs = 50;
}

FloodRunner::FloodRunner(FloodPlan plan) : plan_(std::move(plan)) {}

FloodRunner::~FloodRunner() { stop(); }

void FloodRunner::start() {
  if (uv_loop_init(&loop_) != 0) {
    std::fprintf(stderr, "loadgen: cannot create the flood's loop\n");
    std::exit(1);
  }
  loop_ready_ = true;
  // Initialised here, before the thread exists: uv_async_send from the driver's thread is then safe.
  uv_async_init(&loop_, stop_signal_.get(), [](uv_async_t* a) { static_cast<FloodRunner*>(a->data)->wind_down(); });
  stop_signal_.mark_initialized();
  stop_signal_.get()->data = this;
  uv_timer_init(&loop_, ticker_.get());
  ticker_.mark_initialized();
  ticker_.get()->data = this;
  uv_timer_start(ticker_.get(), [](uv_timer_t* t) { static_cast<FloodRunner*>(t->data)->tick(); }, kTickMs, kTickMs);
  if (plan_.kind == FloodKind::Drip) {
    uv_timer_init(&loop_, dripper_.get());
    dripper_.mark_initialized();
    dripper_.get()->data = this;
    auto every = static_cast<uint64_t>(plan_.drip_interval_ms);
    uv_timer_start(
        dripper_.get(),
        [](uv_timer_t* t) {
          for (auto& [raw, f] : static_cast<FloodRunner*>(t->data)->floods_) f->drip();
        },
        every, every);
  }
  for (int i = 0; i < plan_.connections; ++i) open_one();
  thread_ = std::thread([this] { run(); });
}

void FloodRunner::run() { uv_run(&loop_, UV_RUN_DEFAULT); }

void FloodRunner::open_one() {
  auto f = std::make_unique<FloodConn>(&loop_, plan_.kind, plan_.target, plan_.source ? &*plan_.source : nullptr,
                                       plan_.half_hello, stats_, *this);
  FloodConn* raw = f.get();
  floods_.emplace(raw, std::move(f));
  raw->start();
}

void FloodRunner::tick() {
  for (; to_reopen_ > 0 && !stopping_; --to_reopen_) open_one();
}

void FloodRunner::flood_closed(FloodConn& f) {
  floods_.erase(&f);
  if (!stopping_) ++to_reopen_;
}

void FloodRunner::wind_down() {
  stopping_ = true;
  to_reopen_ = 0;
  // Closing is asynchronous: nothing leaves the map while it is walked; once every connection and handle
  // is closed, uv_run returns and the thread ends.
  for (auto& [raw, f] : floods_) f->stop();
  ticker_.close();
  dripper_.close();
  stop_signal_.close();
}

void FloodRunner::stop() {
  if (!loop_ready_) return;
  if (thread_.joinable()) {
    uv_async_send(stop_signal_.get());
    thread_.join();
  }
  // Connections that were still closing when the handles went are finished by one more run.
  uv_run(&loop_, UV_RUN_DEFAULT);
  uv_loop_close(&loop_);
  loop_ready_ = false;
}

}  // namespace mxguard::bench

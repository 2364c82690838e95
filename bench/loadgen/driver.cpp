#include "bench/loadgen/driver.h"

#include <csignal>
#include <cstdio>
#include <fstream>
#include <string_view>

namespace mxguard::bench {
namespace {

constexpr uint64_t kTickMs = 50;

uint64_t seconds_ns(double s) { return static_cast<uint64_t>(s * 1e9); }
uint32_t micros_since(uint64_t start_ns, uint64_t now_ns) { return static_cast<uint32_t>((now_ns - start_ns) / 1000); }

}  // namespace

Driver::Driver(uv_loop_t* loop, const Options& options, SSL_CTX* tls) : loop_(loop), options_(options) {
  config_.target = options.target;
  config_.tls = options.tls ? tls : nullptr;
  config_.pipelining = options.pipelining;
  config_.idle = options.idle > 0;
  config_.recipients = options.recipients;
  config_.messages = options.messages_per_session;
  config_.rcpt_domain = options.rcpt_domain;
  config_.timeout_ns = seconds_ns(options.timeout_s);
  config_.message_end =
      build_message(options.message_size, options.rcpt_domain, options.stamp, config_.stamp_offset) + ".\r\n";
  config_.message_end_quit = config_.message_end + "QUIT\r\n";
  if (options.flood == FloodKind::Handshake) half_hello_ = half_client_hello(tls);
}

std::string Driver::build_message(std::size_t size, const std::string& rcpt_domain, bool stamp,
                                  std::size_t& stamp_offset) {
  std::string m = "From: <loadgen@bench.test>\r\nTo: <rcpt1@" + rcpt_domain + ">\r\nSubject: mxguard benchmark\r\n";
  stamp_offset = std::string::npos;
  if (stamp) {
    // 20 digits, overwritten per message (Session::send_content); the sink looks for this header name.
    m += "X-Bench-Sent: ";
    stamp_offset = m.size();
    m += "00000000000000000000\r\n";
  }
  m += "Message-ID: <loadgen@bench.test>\r\nDate: Thu, 1 Jan 2026 00:00:00 +0000\r\n\r\n";
  // Body lines of ordinary text: never a leading dot, so no dot-stuffing muddles the sizes.
  static constexpr std::string_view kLine =
      "The quick brown fox jumps over the lazy dog; pack my box with five dozen jugs";
  while (m.size() + 2 < size) {
    std::size_t room = size - m.size() - 2;
    m.append(kLine.substr(0, std::min(room, kLine.size())));
    m += "\r\n";
  }
  return m;
}

bool Driver::run(std::string& error) {
  if (options_.flood == FloodKind::Handshake && half_hello_.empty()) {
    error = "could not build a ClientHello for the handshake flood";
    return false;
  }
  uv_timer_init(loop_, ticker_.get());
  ticker_.mark_initialized();
  ticker_.get()->data = this;
  uv_timer_start(ticker_.get(), [](uv_timer_t* t) { static_cast<Driver*>(t->data)->tick(); }, kTickMs, kTickMs);
  for (auto* h : {&sigint_, &sigterm_}) {
    uv_signal_init(loop_, h->get());
    h->mark_initialized();
    h->get()->data = this;
    uv_signal_start(h->get(), [](uv_signal_t* s, int) { static_cast<Driver*>(s->data)->stop("signal"); },
                    h == &sigint_ ? SIGINT : SIGTERM);
  }
  if (options_.flood) {
    stage_ = Stage::FloodWarmup;
    stage_since_ns_ = uv_hrtime();
    flood_ = std::make_unique<FloodRunner>(FloodPlan{*options_.flood, options_.target, options_.flood_source,
                                                     options_.flood_connections, options_.drip_interval_ms,
                                                     half_hello_});
    flood_->start();
  } else {
    start_measuring();
  }
  uv_run(loop_, UV_RUN_DEFAULT);
  return true;
}

void Driver::start_measuring() {
  stage_ = Stage::Measuring;
  measure_start_ns_ = uv_hrtime();
  if (open_loop()) {
    uint64_t total = options_.duration_s > 0 ? ArrivalSchedule::for_duration(options_.rate, options_.duration_s)
                                             : (options_.sessions > 0 ? options_.sessions : 1000);
    schedule_ = ArrivalSchedule{options_.rate, total, measure_start_ns_};
    // libuv's timers count whole milliseconds: each tick starts the arrivals due since the last one.
    uv_timer_init(loop_, pacer_.get());
    pacer_.mark_initialized();
    pacer_.get()->data = this;
    uv_timer_start(pacer_.get(), [](uv_timer_t* t) { static_cast<Driver*>(t->data)->pace(); }, 1, 1);
    pace();
    return;
  }
  for (int i = 0; i < options_.concurrency && may_launch(); ++i) launch();
  maybe_over();
}

void Driver::pace() {
  if (stage_ != Stage::Measuring) return;
  uint64_t now = uv_hrtime();
  for (uint64_t due = schedule_.due(now); arrivals_ < due; ++arrivals_) {
    if (sessions_.size() >= static_cast<std::size_t>(options_.concurrency)) {
      ++skipped_at_cap_;
      continue;
    }
    uint64_t at = schedule_.scheduled_ns(arrivals_);
    start_lag_us_.push_back(now > at ? micros_since(at, now) : 0);
    last_start_ns_ = now;
    launch();
    max_in_flight_ = std::max(max_in_flight_, sessions_.size());
  }
  if (arrivals_ == schedule_.total) {
    pacer_.close();
    maybe_over();
  }
}

bool Driver::may_launch() const {
  if (stage_ != Stage::Measuring) return false;
  if (open_loop()) return arrivals_ < schedule_.total;
  if (options_.idle > 0) return launched_ < options_.idle;
  if (options_.duration_s > 0) return uv_hrtime() - measure_start_ns_ < seconds_ns(options_.duration_s);
  return launched_ < (options_.sessions > 0 ? options_.sessions : 1000);
}

void Driver::launch() {
  ++launched_;
  auto s = std::make_unique<Session>(loop_, config_, *this);
  Session* raw = s.get();
  sessions_.emplace(raw, std::move(s));
  raw->start();   // a connect that fails at once ends it through session_finished, closed asynchronously
}

void Driver::tick() {
  uint64_t now = uv_hrtime();
  if (stage_ == Stage::FloodWarmup && now - stage_since_ns_ >= seconds_ns(options_.flood_warmup_s)) {
    start_measuring();
  }
  if (stage_ == Stage::Measuring) {
    // finish() only closes asynchronously, so no session leaves the map while it is being walked.
    for (auto& [raw, s] : sessions_) s->check_timeout(now);
    if (options_.duration_s > 0) maybe_over();
  }
  if (stage_ == Stage::Holding && options_.hold_s > 0 && now - hold_start_ns_ >= seconds_ns(options_.hold_s)) {
    stop("hold over");
  }
}

void Driver::session_idle(Session& s) {
  ++idle_ready_;
  idle_setup_us_.push_back(micros_since(s.started_ns(), uv_hrtime()));
  if (may_launch()) launch();   // its setup slot is free
  if (stage_ == Stage::Measuring && idle_ready_ + failed_ == options_.idle) all_idle_ready();
}

void Driver::session_finished(Session& s, const std::string& failure) {
  if (failure.empty()) {
    ++completed_;
    last_finish_ns_ = s.finished_ns();
    latencies_us_.push_back(micros_since(s.started_ns(), s.finished_ns()));
    return;
  }
  ++failures_[failure];
  if (s.phase() == Session::Phase::Idle) {
    ++idle_dropped_;   // the server ended a held session
    return;
  }
  ++failed_;
  if (options_.idle > 0 && stage_ == Stage::Measuring && idle_ready_ + failed_ == options_.idle) all_idle_ready();
}

void Driver::message_accepted(Session&, uint64_t start_ns, uint64_t end_ns) {
  ++messages_;
  message_latencies_us_.push_back(micros_since(start_ns, end_ns));
}

void Driver::session_closed(Session& s) {
  bool was_held = s.phase() == Session::Phase::Idle;
  sessions_.erase(&s);
  if (!was_held && !open_loop() && may_launch()) launch();   // a closed loop replaces it
  maybe_over();
}

void Driver::all_idle_ready() {
  stage_ = Stage::Holding;
  hold_start_ns_ = uv_hrtime();
  std::fprintf(stderr, "loadgen: idle: %llu sessions established, %llu failed; holding %s\n",
               static_cast<unsigned long long>(idle_ready_), static_cast<unsigned long long>(failed_),
               options_.hold_s > 0 ? "for the hold time" : "until SIGINT/SIGTERM");
  if (!options_.ready_file.empty()) {
    std::ofstream(options_.ready_file) << idle_ready_ << " established " << failed_ << " failed\n";
  }
}

void Driver::stop(const char* why) {
  if (stage_ == Stage::Draining || stage_ == Stage::Over) return;
  if (stage_ == Stage::Holding) hold_end_ns_ = uv_hrtime();
  if (std::string_view(why) == "signal" && stage_ != Stage::Holding) {
    std::fprintf(stderr, "loadgen: stopped by a signal; sessions in flight are not counted\n");
  }
  stage_ = Stage::Draining;
  // Closing is asynchronous: nothing leaves either map while it is walked here.
  for (auto& [raw, s] : sessions_) s->release();
  if (flood_) flood_->stop();   // joins the flood's thread: its figures are final from here
  maybe_over();
}

void Driver::maybe_over() {
  if (stage_ == Stage::Measuring && options_.idle == 0 && !may_launch() && sessions_.empty()) stop("done");
  if (stage_ == Stage::Draining && sessions_.empty()) {
    stage_ = Stage::Over;
    // With these closed the loop has nothing left, and run() returns.
    ticker_.close();
    pacer_.close();
    sigint_.close();
    sigterm_.close();
  }
}

Report Driver::report() {
  Report r;
  r.label = options_.label;
  r.target = options_.target_text;
  r.tls = options_.tls;
  r.pipelining = options_.pipelining;
  r.concurrency = options_.concurrency;
  r.message_size = options_.message_size;
  r.recipients = options_.recipients;
  r.messages_per_session = options_.messages_per_session;
  r.rcpt_domain = options_.rcpt_domain;
  r.stamp = options_.stamp;
  r.completed = completed_;
  r.messages = messages_;
  r.start_ns = measure_start_ns_;
  r.end_ns = last_finish_ns_;
  r.failed = failed_;
  r.failures = failures_;
  if (completed_ > 0) r.elapsed_s = static_cast<double>(last_finish_ns_ - measure_start_ns_) / 1e9;
  r.latency = percentiles(latencies_us_);
  r.message_latency = percentiles(message_latencies_us_);
  if (options_.idle > 0) {
    r.idle = true;
    r.idle_requested = options_.idle;
    r.idle_established = idle_ready_;
    r.idle_dropped = idle_dropped_;
    if (hold_end_ns_ > hold_start_ns_) r.hold_s = static_cast<double>(hold_end_ns_ - hold_start_ns_) / 1e9;
    r.idle_setup = percentiles(idle_setup_us_);
  }
  if (open_loop()) {
    r.open_loop = true;
    r.rate = options_.rate;
    r.arrivals_scheduled = schedule_.total;
    r.arrivals_started = start_lag_us_.size();
    r.skipped_at_cap = skipped_at_cap_;
    r.max_in_flight = max_in_flight_;
    if (last_start_ns_ > measure_start_ns_) r.start_span_s = static_cast<double>(last_start_ns_ - measure_start_ns_) / 1e9;
    r.start_lag = percentiles(start_lag_us_);
  }
  if (options_.flood) {
    r.flood = true;
    r.flood_kind = *options_.flood;
    r.flood_connections = options_.flood_connections;
    if (flood_) r.flood_stats = flood_->stats();
  }
  return r;
}

}  // namespace mxguard::bench

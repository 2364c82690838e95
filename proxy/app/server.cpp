#include "proxy/app/server.h"

#include <spdlog/spdlog.h>
#include <uv.h>

#include <unistd.h>

#include <cstdio>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "base/utc_day.h"
#include "policy/config/config_loader.h"
#include "proxy/app/descriptor_budget.h"
#include "proxy/app/listen_sockets.h"
#include "proxy/app/runtime.h"
#include "proxy/app/settings_builder.h"
#include "proxy/app/tproxy_capability.h"
#include "proxy/app/worker.h"
#include "proxy/audit/audit_log.h"
#include "policy/engine/lapses.h"
#include "proxy/uv/handle.h"
#include "proxy/uv/timer.h"

namespace mxguard::app {
namespace {

void apply_log_level(const std::string& level) {
  spdlog::set_level(spdlog::level::from_str(level));
}

unsigned worker_count(const config::Config& config) {
  if (config.server.workers != 0) return config.server.workers;
  unsigned cores = std::thread::hardware_concurrency();
  return cores == 0 ? 1 : cores;
}

std::variant<config::Config, std::string> load(const std::string& path) {
  auto loaded = config::load_config(path);
  if (auto* error = std::get_if<config::ConfigError>(&loaded)) return error->to_string();
  return std::get<config::Config>(std::move(loaded));
}

class Server {
 public:
  Server(std::string path, config::Config config) : path_(std::move(path)), config_(std::move(config)) {
    uv_loop_init(&loop_);
  }
  ~Server() {
    // Close whatever is still open and let the loop run the close callbacks, so nothing leaks on the
    // early-error paths either.
    close_main_handles();
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_loop_close(&loop_);
  }

  int run() {
    // Signals are watched before anything listens: a SIGTERM the moment the port opens must drain, not kill.
    watch_signal(sighup_, SIGHUP);
    watch_signal(sigterm_, SIGTERM);
    watch_signal(sigint_, SIGINT);
    watch_lapses();
    for (const auto& w : config_.warnings) spdlog::warn("{}", w);
    if (auto missing = tproxy_capability_warning(config_)) spdlog::warn("{}: {}", path_, *missing);
    auto runtime = build_runtime(config_);
    if (auto* error = std::get_if<std::string>(&runtime)) {
      spdlog::error("{}", *error);
      return 1;
    }
    auto audit = audit::Log::open(config_.audit.path);
    if (auto* error = std::get_if<std::string>(&audit)) {
      spdlog::error("{}: audit.path: {}", path_, *error);
      return 1;
    }
    audit_ = std::move(std::get<std::unique_ptr<audit::Log>>(audit));
    if (std::get<std::shared_ptr<const Runtime>>(runtime)->mta_sts) {
      // Loaded before any worker runs: a policy learned before a restart is in force for the first mail.
      sts_cache_ = std::make_unique<mta_sts::SharedCache>(config_.mta_sts.cache_file, mta_sts::Cache::Options{},
                                                          [](const std::string& line) { spdlog::warn("{}", line); });
      spdlog::info("MTA-STS: {} cached polic{} from {}", sts_cache_->size(), sts_cache_->size() == 1 ? "y" : "ies",
                   config_.mta_sts.cache_file);
    }

    unsigned workers = worker_count(config_);
    {
      // Inbound and outbound share the process's descriptors; the larger max_connections is the ask.
      std::size_t asked = std::max(config_.inbound.limits.max_connections, config_.outbound.limits.max_connections);
      std::string note;
      limiter_.set_descriptor_cap(raise_descriptor_limit(workers, asked, note));
      if (!note.empty()) spdlog::warn("{}", note);
    }
    std::vector<ListenerPlan> plans = plan_listeners(config_);
    std::vector<config::Endpoint> endpoints;
    for (const auto& p : plans) endpoints.push_back(p.endpoint);
    auto fds = bind_listeners(endpoints, workers);
    if (auto* error = std::get_if<std::string>(&fds)) {
      spdlog::error("{}", *error);
      return 1;
    }
    auto& per_worker = std::get<std::vector<std::vector<int>>>(fds);
    const auto& snapshot = std::get<std::shared_ptr<const Runtime>>(runtime);
    if (uv_async_init(&loop_, workers_done_.get(), [](uv_async_t* a) { static_cast<Server*>(a->data)->on_worker_exit(); }) == 0) {
      workers_done_.mark_initialized();
    }
    workers_done_.get()->data = this;
    running_workers_ = workers;
    for (unsigned i = 0; i < workers; ++i) {
      std::vector<WorkerListener> listeners;
      for (std::size_t l = 0; l < plans.size(); ++l) listeners.push_back({per_worker[i][l], plans[l].factory});
      workers_.push_back(std::make_unique<Worker>(i, std::move(listeners), snapshot, audit_.get(), &limiter_, sts_cache_.get(), [this] {
        std::lock_guard lock(exit_mutex_);
        --running_workers_;
        if (workers_done_.initialized()) uv_async_send(workers_done_.get());
      }));
      workers_.back()->start();
    }
    for (const auto& p : plans) spdlog::info("{}", p.description);
    spdlog::info("mxguard started: {} worker(s), hostname {}, audit log {}", workers, config_.server.hostname,
                 config_.audit.path.empty() ? "off" : config_.audit.path);

    uv_run(&loop_, UV_RUN_DEFAULT);
    for (auto& w : workers_) w->join();
    spdlog::info("mxguard stopped");
    return 0;
  }

 private:
  void watch_signal(uv::Handle<uv_signal_t>& handle, int signum) {
    uv_signal_init(&loop_, handle.get());
    handle.mark_initialized();
    handle.get()->data = this;
    uv_signal_start(handle.get(), [](uv_signal_t* s, int signum) { static_cast<Server*>(s->data)->on_signal(signum); },
                    signum);
  }

  void on_signal(int signum) {
    if (signum == SIGHUP) {
      if (stopping_) {
        spdlog::info("SIGHUP while stopping: ignored");   // still handled: logrotate must not kill a drain
        return;
      }
      reload();
      return;
    }
    if (stopping_) {
      spdlog::warn("second stop signal: closing every session now");
      for (auto& w : workers_) w->stop(std::chrono::seconds(0));
      return;
    }
    stopping_ = true;
    spdlog::info("{}: stopping; live sessions have {}s to finish", signum == SIGTERM ? "SIGTERM" : "SIGINT",
                 config_.server.shutdown_grace.count());
    for (auto& w : workers_) w->stop(config_.server.shutdown_grace);
    // The signal handles stay open until every worker has ended (on_worker_exit): a further signal is
    // handled, never fatal.
  }

  // An operator's exception lapses at midnight UTC on its own; the day it does is said once in the log and
  // the audit log, not on every delivery. Looking once an hour is plenty for a day's resolution.
  void watch_lapses() {
    lapses_checked_ = today_utc();   // the loader warned about what had lapsed by the load
    lapse_timer_ = std::make_unique<uv::Timer>(&loop_, [this] {
      std::chrono::year_month_day today = today_utc();
      for (const policy::LapsedException& lapsed : policy::lapsed_since(config_.policy, lapses_checked_, today)) {
        spdlog::warn("{}", policy::describe(lapsed));
        if (audit_) {
          audit_->write(audit::Event(audit::EventKind::ExceptionLapsed, audit::Direction::Outbound, "-", "-")
                            .set("domain", lapsed.domain)
                            .set("policy", policy::to_string(lapsed.level))
                            .set("expires", config::to_string(lapsed.expires))
                            .verdict(audit::Verdict::Lapsed)
                            .reason(lapsed.reason));
        }
      }
      lapses_checked_ = today;
      lapse_timer_->start(std::chrono::hours(1));
    });
    lapse_timer_->start(std::chrono::hours(1));
  }

  void on_worker_exit() {
    std::lock_guard lock(exit_mutex_);
    if (running_workers_ == 0) close_main_handles();
  }

  // Call with exit_mutex_ held once workers exist: no worker may signal a closing uv_async_t.
  void close_main_handles() {
    if (lapse_timer_) lapse_timer_->close();
    sighup_.close();
    sigterm_.close();
    sigint_.close();
    workers_done_.close();
  }

  void reload() {
    spdlog::info("SIGHUP: reloading {}", path_);
    auto loaded = load(path_);
    if (auto* error = std::get_if<std::string>(&loaded)) {
      spdlog::error("reload refused, keeping the running configuration: {}", *error);
      return;
    }
    auto& next = std::get<config::Config>(loaded);
    auto runtime = build_runtime(next);
    if (auto* error = std::get_if<std::string>(&runtime)) {
      spdlog::error("reload refused, keeping the running configuration: {}", *error);
      return;
    }
    for (const auto& w : next.warnings) spdlog::warn("{}", w);
    if (next.inbound.listen.size() != config_.inbound.listen.size() ||
        !std::equal(next.inbound.listen.begin(), next.inbound.listen.end(), config_.inbound.listen.begin(),
                    [](const auto& a, const auto& b) { return a.endpoint.text == b.endpoint.text; }) ||
        next.server.workers != config_.server.workers) {
      spdlog::warn("reload: inbound.listen and server.workers take effect only at restart");
    }
    if (std::string error = audit_->reopen(); !error.empty()) spdlog::error("{}", error);
    if (sts_cache_) {
      // `mxguard mta-sts purge` edits the file; the running cache takes it over here.
      sts_cache_->reload();
      const config::MtaSts& a = next.mta_sts;
      const config::MtaSts& b = config_.mta_sts;
      if (a.enabled != b.enabled || a.cache_file != b.cache_file || a.ca_file != b.ca_file ||
          a.https_port != b.https_port || a.fetcher != b.fetcher || a.fetch_timeout != b.fetch_timeout) {
        // The workers' agents and fetcher children are made once, at start.
        spdlog::warn("reload: the [mta_sts] keys take effect only at restart");
      }
    }
    apply_log_level(next.server.log_level);
    const auto& snapshot = std::get<std::shared_ptr<const Runtime>>(runtime);
    for (auto& w : workers_) w->reload(snapshot);
    config_.inbound = next.inbound;
    config_.server.shutdown_grace = next.server.shutdown_grace;
    config_.policy = next.policy;   // the loader warned about what had lapsed by now
    lapses_checked_ = today_utc();
    spdlog::info("reload done: new sessions use the new configuration and certificates");
  }

  std::string path_;
  config::Config config_;
  uv_loop_t loop_{};
  uv::Handle<uv_signal_t> sighup_, sigterm_, sigint_;
  std::unique_ptr<uv::Timer> lapse_timer_;
  std::optional<std::chrono::year_month_day> lapses_checked_;
  uv::Handle<uv_async_t> workers_done_;
  std::mutex exit_mutex_;
  unsigned running_workers_ = 0;   // guarded by exit_mutex_
  std::unique_ptr<audit::Log> audit_;
  std::unique_ptr<mta_sts::SharedCache> sts_cache_;   // outlives the workers (declared before them)
  session::ConnectionLimiter limiter_;
  std::vector<std::unique_ptr<Worker>> workers_;
  bool stopping_ = false;
};

}  // namespace

int run_server(const std::string& config_path) {
  auto loaded = load(config_path);
  if (auto* error = std::get_if<std::string>(&loaded)) {
    spdlog::error("{}", *error);
    return 2;
  }
  auto& config = std::get<config::Config>(loaded);
  apply_log_level(config.server.log_level);
  Server server(config_path, std::move(config));
  return server.run();
}

int check_config(const std::string& config_path) {
  auto loaded = load(config_path);
  if (auto* error = std::get_if<std::string>(&loaded)) {
    std::fprintf(stderr, "%s\n", error->c_str());
    return 2;
  }
  auto& config = std::get<config::Config>(loaded);
  auto runtime = build_runtime(config, BuildOptions{.allow_self_signed = false});
  if (auto* error = std::get_if<std::string>(&runtime)) {
    std::fprintf(stderr, "%s\n", error->c_str());
    return 2;
  }
  for (const auto& w : config.warnings) std::printf("warning: %s\n", w.c_str());
  if (!config.outbound.listen.empty() && config.mta_sts.enabled) {
    std::string fetcher = mta_sts_settings(config.mta_sts).fetcher.executable;
    if (access(fetcher.c_str(), X_OK) != 0) {
      std::printf("%s: warning: mta_sts.fetcher: %s is not an executable file: MTA-STS policies cannot be "
                  "fetched (mail to domains without a cached policy goes as if they published none)\n",
                  config_path.c_str(), fetcher.c_str());
    }
  }
  if (auto note = tproxy_note(config)) std::printf("%s: note: %s\n", config_path.c_str(), note->c_str());
  if (auto missing = tproxy_capability_warning(config)) {
    std::printf("%s: warning: %s\n", config_path.c_str(), missing->c_str());
  }
  if (config.inbound.certificates.empty()) {
    std::printf("%s: note: no [[inbound.certificate]]: a self-signed certificate will be generated in %s\n",
                config_path.c_str(), config.server.state_dir.c_str());
  }
  std::printf("%s: OK\n", config_path.c_str());
  return 0;
}

}  // namespace mxguard::app

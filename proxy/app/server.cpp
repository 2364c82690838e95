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
#include "proxy/app/inherited_sockets.h"
#include "proxy/app/runtime.h"
#include "proxy/app/service_notify.h"
#include "proxy/app/settings_builder.h"
#include "proxy/app/tproxy_capability.h"
#include "proxy/app/successor.h"
#include "proxy/app/worker.h"
#include "proxy/audit/audit_log.h"
#include "proxy/metrics/registry.h"
#include "proxy/metrics/scrape_server.h"
#include "policy/engine/lapses.h"
#include "proxy/uv/handle.h"
#include "proxy/uv/timer.h"

#ifndef MXGUARD_VERSION
#define MXGUARD_VERSION "unknown"
#endif

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
    // Before any thread: the sockets a predecessor or systemd handed over, and the variables that said so.
    InheritedSockets inherited = take_inherited_sockets();
    for (const auto& p : inherited.problems) spdlog::warn("inherited sockets: {}", p);
    executable_ = own_executable();
    // Signals are watched before anything listens: a SIGTERM the moment the port opens must drain, not kill.
    watch_signal(sighup_, SIGHUP);
    watch_signal(sigterm_, SIGTERM);
    watch_signal(sigint_, SIGINT);
    watch_signal(sigusr2_, SIGUSR2);
    watch_lapses();
    for (const auto& w : config_.warnings) spdlog::warn("{}", w);
    if (auto missing = tproxy_capability_warning(config_)) spdlog::warn("{}: {}", path_, *missing);
    workers_count_ = worker_count(config_);
    auto runtime = build_runtime(config_, build_options());
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

    if (std::string error = start_metrics(); !error.empty()) {
      spdlog::error("{}", error);
      return 1;
    }

    unsigned workers = workers_count_;
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
    std::size_t handed_over = inherited.fds.size();
    std::vector<std::string> unused;
    auto fds = assemble_listeners(endpoints, workers, inherited, unused);
    for (const auto& address : unused) {
      spdlog::warn("inherited listening socket {} is not in the configuration: closed", address);
    }
    if (auto* error = std::get_if<std::string>(&fds)) {
      spdlog::error("{}", *error);
      return 1;
    }
    auto& per_worker = std::get<WorkerSockets>(fds);
    const auto& snapshot = std::get<std::shared_ptr<const Runtime>>(runtime);
    if (uv_async_init(&loop_, workers_done_.get(), [](uv_async_t* a) { static_cast<Server*>(a->data)->on_worker_exit(); }) == 0) {
      workers_done_.mark_initialized();
    }
    workers_done_.get()->data = this;
    running_workers_ = workers;
    for (unsigned i = 0; i < workers; ++i) {
      std::vector<WorkerListener> listeners;
      for (std::size_t l = 0; l < plans.size(); ++l) {
        for (int fd : per_worker[i][l]) {
          listeners.push_back({fd, plans[l].factory});
          listen_fds_.push_back(fd);   // what a successor inherits
        }
      }
      metrics::WorkerMetrics* counted = scrape_ ? registry_.add_worker() : nullptr;
      workers_.push_back(std::make_unique<Worker>(i, std::move(listeners), snapshot, audit_.get(), &limiter_, sts_cache_.get(),
                                                  counted, [this] {
        std::lock_guard lock(exit_mutex_);
        --running_workers_;
        if (workers_done_.initialized()) uv_async_send(workers_done_.get());
      }));
      workers_.back()->start();
    }
    for (const auto& p : plans) spdlog::info("{}", p.description);
    if (scrape_) spdlog::info("metrics at http://{}/metrics", config_.metrics.listen->text);
    if (!inherited.source.empty()) {
      spdlog::info("listening on {} socket(s) inherited from {}", handed_over - unused.size(), inherited.source);
    }
    spdlog::info("mxguard started: {} worker(s), hostname {}, audit log {}", workers, config_.server.hostname,
                 config_.audit.path.empty() ? "off" : config_.audit.path);
    // Every listener accepts now: the predecessor may stop, or systemd (Type=notify) may call us started.
    if (inherited.ready_fd >= 0) {
      tell_predecessor_ready(inherited.ready_fd);
    } else {
      notify_service_manager("READY=1");
    }

    uv_run(&loop_, UV_RUN_DEFAULT);
    for (auto& w : workers_) w->join();
    spdlog::info("mxguard stopped");
    return 0;
  }

 private:
  // The metrics endpoint, on this (the main) loop: a scrape never runs on a worker. Bound before the
  // workers start, so a port in use is one clear error before anything listens.
  std::string start_metrics() {
    if (!config_.metrics.listen) return {};
    auto fds = bind_listeners({*config_.metrics.listen}, 1);
    if (auto* error = std::get_if<std::string>(&fds)) return "metrics.listen: " + *error;
    int fd = std::get<std::vector<std::vector<int>>>(fds)[0][0];
    metrics::ProcessSources sources;
    sources.audit_write_errors = [this] { return audit_->write_errors(); };
    if (sts_cache_) {
      sources.sts_cache_write_errors = [this] { return sts_cache_->write_errors(); };
      sources.sts_cache_policies = [this] { return static_cast<std::uint64_t>(sts_cache_->size()); };
    }
    registry_.set_sources(std::move(sources));
    // Scrapers are operators' tools on a trusted address: what they get wrong is debugging detail.
    scrape_ = std::make_unique<metrics::ScrapeServer>(&loop_, [this] { return registry_.render(); },
                                                      [](const std::string& line) { spdlog::debug("{}", line); });
    if (std::string error = scrape_->start(fd); !error.empty()) {
      scrape_.reset();
      return "metrics.listen: cannot listen on " + config_.metrics.listen->text + ": " + error;
    }
    return {};
  }

  void watch_signal(uv::Handle<uv_signal_t>& handle, int signum) {
    uv_signal_init(&loop_, handle.get());
    handle.mark_initialized();
    handle.get()->data = this;
    uv_signal_start(handle.get(), [](uv_signal_t* s, int signum) { static_cast<Server*>(s->data)->on_signal(signum); },
                    signum);
  }

  void on_signal(int signum) {
    if (signum == SIGUSR2) {
      start_successor();
      return;
    }
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

  // SIGUSR2: a new mxguard (this executable, as installed now, and the configuration file as it is now)
  // on the same listening sockets; this one stops accepting once the new one says it serves.
  void start_successor() {
    if (stopping_) {
      spdlog::info("SIGUSR2 while stopping: ignored");
      return;
    }
    if (successor_ && !successor_->settled()) {
      spdlog::info("SIGUSR2: a restart is already under way (pid {}): ignored", successor_->pid());
      return;
    }
    auto started = Successor::start(
        &loop_, {executable_, "run", "--config", path_}, listen_fds_, kSuccessorPatience,
        {.ready = [this](int pid) { on_successor_ready(pid); },
         .failed = [](const std::string& why) {
           spdlog::error("restart failed: {}; this mxguard goes on serving", why);
         }});
    if (auto* error = std::get_if<std::string>(&started)) {
      spdlog::error("SIGUSR2: restart failed: {}; this mxguard goes on serving", *error);
      return;
    }
    successor_ = std::move(std::get<std::unique_ptr<Successor>>(started));
    spdlog::info("SIGUSR2: started a new mxguard (pid {}) on the same {} listening socket(s)", successor_->pid(),
                 listen_fds_.size());
  }

  void on_successor_ready(int pid) {
    if (stopping_) return;   // stopped meanwhile: the new one serves, this one drains as it was told
    stopping_ = true;
    // systemd: the service's main process is the new one from now on (NotifyAccess=main: only we may say so).
    notify_service_manager("MAINPID=" + std::to_string(pid));
    spdlog::info("restart: mxguard pid {} serves the listening sockets; this one stops accepting, live sessions have "
                 "{}s to finish", pid, config_.server.shutdown_grace.count());
    for (auto& w : workers_) w->stop(config_.server.shutdown_grace, /*tell_sessions=*/false);
  }

  static std::string own_executable() {
    // Read now: once the file is replaced by an upgrade, /proc/self/exe names the deleted old one, and the
    // successor is meant to be what is installed at this path then.
    char buf[4096];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string("/proc/self/exe");
  }

  void on_worker_exit() {
    std::lock_guard lock(exit_mutex_);
    if (running_workers_ == 0) close_main_handles();
  }

  // Call with exit_mutex_ held once workers exist: no worker may signal a closing uv_async_t.
  void close_main_handles() {
    if (scrape_) scrape_->close();   // scrapes are answered until the last worker has ended
    if (lapse_timer_) lapse_timer_->close();
    sighup_.close();
    sigterm_.close();
    sigint_.close();
    sigusr2_.close();
    if (successor_) successor_->close();
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
    auto runtime = build_runtime(next, build_options());
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
    auto listen_text = [](const config::Metrics& m) { return m.listen ? m.listen->text : std::string(); };
    if (listen_text(next.metrics) != listen_text(config_.metrics)) {
      spdlog::warn("reload: metrics.listen takes effect only at restart");
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

  // What every configuration load builds with: the running worker count, the process's ticket keys.
  BuildOptions build_options() const {
    BuildOptions options;
    options.workers = workers_count_;
    options.ticket_keys = ticket_keys_;
    return options;
  }

  std::string path_;
  config::Config config_;
  unsigned workers_count_ = 1;   // fixed at start (server.workers takes effect at restart only)
  // Session-ticket keys for every inbound TLS context of this process, across reloads (tls/ticket_keys.h).
  std::shared_ptr<tls::TicketKeySource> ticket_keys_ = std::make_shared<tls::TicketKeySource>();
  uv_loop_t loop_{};
  static constexpr std::chrono::seconds kSuccessorPatience{60};   // to load, bind and say ready
  uv::Handle<uv_signal_t> sighup_, sigterm_, sigint_, sigusr2_;
  std::string executable_;
  std::vector<int> listen_fds_;             // every worker's listening socket, owned by the workers
  std::unique_ptr<Successor> successor_;
  std::unique_ptr<uv::Timer> lapse_timer_;
  std::optional<std::chrono::year_month_day> lapses_checked_;
  uv::Handle<uv_async_t> workers_done_;
  std::mutex exit_mutex_;
  unsigned running_workers_ = 0;   // guarded by exit_mutex_
  std::unique_ptr<audit::Log> audit_;
  std::unique_ptr<mta_sts::SharedCache> sts_cache_;   // outlives the workers (declared before them)
  metrics::Registry registry_{MXGUARD_VERSION};        // the workers' instruments: outlives them too
  std::unique_ptr<metrics::ScrapeServer> scrape_;      // null: [metrics] listen is off
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
  BuildOptions options;
  options.allow_self_signed = false;
  auto runtime = build_runtime(config, options);
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

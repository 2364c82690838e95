#include "proxy/metrics/registry.h"

#include "proxy/metrics/exposition.h"

namespace mxguard::metrics {
namespace {

using policy::PolicySource;
using policy::ResultType;
using policy::TlsLevel;

constexpr audit::Direction kDirectionList[] = {audit::Direction::Inbound, audit::Direction::Outbound};
constexpr TlsState kTlsStateList[] = {TlsState::Established, TlsState::Failed, TlsState::None};
constexpr PolicyVerdict kVerdictList[] = {PolicyVerdict::Delivered, PolicyVerdict::Refused, PolicyVerdict::AllowedTesting};
constexpr StsFetch kStsFetchList[] = {StsFetch::Fetched, StsFetch::FetchError, StsFetch::PolicyInvalid,
                                      StsFetch::WebPkiInvalid};
constexpr PolicySource kSourceList[] = {PolicySource::Default, PolicySource::Config, PolicySource::MtaSts};

// Sums one instrument over every worker.
class Sum {
 public:
  explicit Sum(const std::vector<std::unique_ptr<WorkerMetrics>>& workers) : workers_(workers) {}
  template <typename F>
  std::uint64_t operator()(F counter) const {
    std::uint64_t total = 0;
    for (const auto& w : workers_) total += counter(*w).value();
    return total;
  }
  template <typename F>
  std::int64_t gauge(F gauge) const {
    std::int64_t total = 0;
    for (const auto& w : workers_) total += gauge(*w).value();
    return total;
  }
  // A histogram's per-bucket counts and its sum in seconds, over every worker.
  template <typename H, typename F>
  void histogram(TextWriter& out, std::string_view name, std::initializer_list<Label> labels, F get) const {
    std::array<std::uint64_t, H::kBuckets + 1> counts{};
    std::uint64_t sum_ns = 0;
    for (const auto& w : workers_) {
      const H& h = get(*w);
      for (std::size_t i = 0; i < counts.size(); ++i) counts[i] += h.counts()[i].value();
      sum_ns += h.sum_ns();
    }
    out.histogram(name, labels, H::bounds(), counts, static_cast<double>(sum_ns) / 1e9);
  }

 private:
  const std::vector<std::unique_ptr<WorkerMetrics>>& workers_;
};

}  // namespace

WorkerMetrics* Registry::add_worker() {
  workers_.push_back(std::make_unique<WorkerMetrics>());
  return workers_.back().get();
}

std::string Registry::render() const {
  TextWriter out;
  Sum sum(workers_);

  out.family("mxguard_build_info", "mxguard's version; always 1.", Type::Gauge);
  out.sample("mxguard_build_info", {{"version", version_}}, std::int64_t{1});

  out.family("mxguard_sessions_total",
             "Sessions that ended, by TLS state. Inbound: a remote client's session. Outbound: one connection to "
             "a remote MX that reached a TLS decision.",
             Type::Counter);
  for (auto d : kDirectionList) {
    for (auto t : kTlsStateList) {
      out.sample("mxguard_sessions_total", {{"direction", audit::to_string(d)}, {"tls", to_string(t)}},
                 sum([&](const WorkerMetrics& w) -> const Counter& { return w.sessions[ix(d)][ix(t)]; }));
    }
  }
  out.family("mxguard_sessions_active", "Sessions with clients open now (remote MTAs inbound, the legacy MTA outbound).",
             Type::Gauge);
  for (auto d : kDirectionList) {
    out.sample("mxguard_sessions_active", {{"direction", audit::to_string(d)}},
               sum.gauge([&](const WorkerMetrics& w) -> const Gauge& { return w.active[ix(d)]; }));
  }
  out.family("mxguard_session_duration_seconds", "How long sessions with clients lasted, from accept to close.",
             Type::Histogram);
  for (auto d : kDirectionList) {
    sum.histogram<Histogram<kSessionBuckets>>(out, "mxguard_session_duration_seconds", {{"direction", audit::to_string(d)}},
                                              [&](const WorkerMetrics& w) -> const auto& { return w.session_seconds[ix(d)]; });
  }
  out.family("mxguard_relayed_bytes_total", "Message content written to the far side (the backend inbound, the MX outbound).",
             Type::Counter);
  for (auto d : kDirectionList) {
    out.sample("mxguard_relayed_bytes_total", {{"direction", audit::to_string(d)}},
               sum([&](const WorkerMetrics& w) -> const Counter& { return w.relayed_bytes[ix(d)]; }));
  }

  struct Step {
    const char* name;
    const char* help;
    Counters<kDirections> WorkerMetrics::*counters;
  };
  const Step steps[] = {
      {"mxguard_starttls_offered_total",
       "STARTTLS offered: in mxguard's EHLO reply (inbound, once per session), by the MX (outbound, per connection).",
       &WorkerMetrics::starttls_offered},
      {"mxguard_starttls_attempted_total",
       "STARTTLS attempted: the client's STARTTLS accepted (inbound), sent to the MX (outbound).",
       &WorkerMetrics::starttls_attempted},
      {"mxguard_starttls_succeeded_total", "STARTTLS handshakes that completed.", &WorkerMetrics::starttls_succeeded},
  };
  for (const Step& step : steps) {
    out.family(step.name, step.help, Type::Counter);
    for (auto d : kDirectionList) {
      out.sample(step.name, {{"direction", audit::to_string(d)}},
                 sum([&](const WorkerMetrics& w) -> const Counter& { return (w.*step.counters)[ix(d)]; }));
    }
  }
  out.family("mxguard_tls_handshake_failures_total", "TLS handshakes that began and did not complete, by reason.",
             Type::Counter);
  for (auto d : kDirectionList) {
    for (std::size_t r = 0; r < session::kHandshakeFailures; ++r) {
      out.sample("mxguard_tls_handshake_failures_total",
                 {{"direction", audit::to_string(d)}, {"reason", session::to_string(static_cast<session::HandshakeFailure>(r))}},
                 sum([&](const WorkerMetrics& w) -> const Counter& { return w.handshake_failures[ix(d)][r]; }));
    }
  }
  out.family("mxguard_tls_handshake_duration_seconds", "How long completed TLS handshakes took.", Type::Histogram);
  for (auto d : kDirectionList) {
    sum.histogram<Histogram<kHandshakeBuckets>>(
        out, "mxguard_tls_handshake_duration_seconds", {{"direction", audit::to_string(d)}},
        [&](const WorkerMetrics& w) -> const auto& { return w.handshake_seconds[ix(d)]; });
  }
  out.family("mxguard_connections_refused_total",
             "Connections refused with 421 before their session began, by reason: an address serving an abuse "
             "penalty, max_connections, max_connections_per_ip, the descriptor limit.", Type::Counter);
  for (auto d : kDirectionList) {
    for (std::size_t r = 0; r < session::kLimiterVerdicts; ++r) {
      auto verdict = static_cast<session::ConnectionLimiter::Verdict>(r);
      if (verdict == session::ConnectionLimiter::Verdict::Admitted) continue;   // not a refusal
      out.sample("mxguard_connections_refused_total",
                 {{"direction", audit::to_string(d)}, {"reason", session::to_string(verdict)}},
                 sum([&](const WorkerMetrics& w) -> const Counter& { return w.refused_at_door[ix(d)][r]; }));
    }
  }
  out.family("mxguard_abuse_penalties_total",
             "Abuse penalties begun (limits.abuse_penalty): sessions ended past max_errors or max_junk_commands, "
             "or for talking before the greeting, whose address's network is then refused for a while.", Type::Counter);
  for (auto d : kDirectionList) {
    out.sample("mxguard_abuse_penalties_total", {{"direction", audit::to_string(d)}},
               sum([&](const WorkerMetrics& w) -> const Counter& { return w.abuse_penalties[ix(d)]; }));
  }
  out.family("mxguard_inbound_downgrades_refused_total",
             "Inbound MAIL refused because a require_tls_from sender came without TLS.", Type::Counter);
  out.sample("mxguard_inbound_downgrades_refused_total", {},
             sum([](const WorkerMetrics& w) -> const Counter& { return w.downgrades_refused; }));

  out.family("mxguard_outbound_policy_verdicts_total",
             "Outbound TLS decisions about an MX, by policy level, policy source and verdict. A level and source "
             "appear, with all three verdicts, once anything was decided for them.",
             Type::Counter);
  for (std::size_t level = 0; level < kLevels; ++level) {
    for (auto source : kSourceList) {
      std::uint64_t values[kPolicyVerdicts];
      std::uint64_t any = 0;
      for (auto v : kVerdictList) {
        values[ix(v)] = sum([&](const WorkerMetrics& w) -> const Counter& { return w.policy_verdicts[level][ix(source)][ix(v)]; });
        any += values[ix(v)];
      }
      if (any == 0) continue;
      for (auto v : kVerdictList) {
        out.sample("mxguard_outbound_policy_verdicts_total",
                   {{"level", policy::to_string(static_cast<TlsLevel>(level))},
                    {"source", policy::to_string(source)},
                    {"verdict", to_string(v)}},
                   values[ix(v)]);
      }
    }
  }
  out.family("mxguard_outbound_policy_failures_total",
             "Outbound TLS decisions that refused an MX or would have (MTA-STS testing), by RFC 8460 result type.",
             Type::Counter);
  for (auto v : {PolicyVerdict::Refused, PolicyVerdict::AllowedTesting}) {
    std::size_t row = v == PolicyVerdict::Refused ? 0 : 1;
    for (std::size_t r = 1; r < kResultTypes; ++r) {
      out.sample("mxguard_outbound_policy_failures_total",
                 {{"verdict", to_string(v)}, {"reason", policy::to_string(static_cast<ResultType>(r))}},
                 sum([&](const WorkerMetrics& w) -> const Counter& { return w.policy_failures[row][r]; }));
    }
  }

  out.family("mxguard_mta_sts_fetches_total", "MTA-STS policy fetches (and unusable TXT records), by result.",
             Type::Counter);
  for (auto f : kStsFetchList) {
    out.sample("mxguard_mta_sts_fetches_total", {{"result", to_string(f)}},
               sum([&](const WorkerMetrics& w) -> const Counter& { return w.sts_fetches[ix(f)]; }));
  }
  if (sources_.sts_cache_policies) {
    out.family("mxguard_mta_sts_cached_policies", "MTA-STS policies in the cache now.", Type::Gauge);
    out.sample("mxguard_mta_sts_cached_policies", {}, sources_.sts_cache_policies());
  }
  if (sources_.sts_cache_write_errors) {
    out.family("mxguard_mta_sts_cache_write_errors_total", "Failed writes of the MTA-STS cache file.", Type::Counter);
    out.sample("mxguard_mta_sts_cache_write_errors_total", {}, sources_.sts_cache_write_errors());
  }
  out.family("mxguard_audit_write_errors_total", "Audit events lost to a failed write (a full disk, an unwritable file).",
             Type::Counter);
  out.sample("mxguard_audit_write_errors_total", {},
             sources_.audit_write_errors ? sources_.audit_write_errors() : std::uint64_t{0});
  return out.take();
}

}  // namespace mxguard::metrics

// bench/loadgen: the SMTP load generator of mxguard's benchmark (see docs/benchmarks.md). It drives one
// server on 127.0.0.1 with full sessions (STARTTLS or plaintext, pipelined or not, one message or several
// per session) in a closed loop or arriving at a fixed rate (open loop), holds idle sessions, or plays
// hostile clients while it measures, and prints one report as text or JSON. As the legacy MTA of the
// outbound benchmark it is a plaintext client of the relay under test (--plain), and --stamp lets the sink
// behind that relay time each message end to end.
#include <CLI/CLI.hpp>
#include <openssl/ssl.h>
#include <sys/resource.h>

#include <csignal>
#include <cstdio>

#include "bench/common/loopback.h"
#include "bench/loadgen/driver.h"

#ifndef OPENSSL_IS_BORINGSSL
#error "the load generator must be built against BoringSSL (android-libboringssl-dev), not OpenSSL"
#endif

namespace {

bssl::UniquePtr<SSL_CTX> client_context() {
  bssl::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_method()));
  if (!ctx) return nullptr;
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  // The benchmark measures the servers: the client does not check the chain (the handshake's signature is
  // still verified), and never resumes, because an MX mostly sees senders it has not seen lately.
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  return ctx;
}

}  // namespace

int main(int argc, char** argv) {
  using mxguard::bench::Options;
  Options o;
  bool plain = false, json = false;
  std::string flood_name;
  CLI::App app{"loadgen: SMTP load generator for mxguard's benchmark (127.0.0.1 only)"};
  app.add_option("--target", o.target_text, "server to drive, 127.x.y.z:PORT")->capture_default_str();
  app.add_option("-c,--concurrency", o.concurrency,
                 "sessions in flight (--rate: at most; idle mode: being set up)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  auto* sessions = app.add_option("-n,--sessions", o.sessions, "sessions to run (default 1000)");
  app.add_option("-d,--duration", o.duration_s, "seconds to keep starting sessions, instead of a count")
      ->excludes(sessions)
      ->check(CLI::PositiveNumber);
  auto* rate = app.add_option("--rate", o.rate, "open loop: start this many sessions per second on a schedule, "
                              "whether or not earlier ones are done (-n or -d: how many or how long)")
                   ->check(CLI::PositiveNumber);
  app.add_option("--message-size", o.message_size, "bytes of each message, headers included")
      ->capture_default_str()
      ->check(CLI::Range(64, 64 * 1024 * 1024));
  app.add_flag("--plain", plain, "no STARTTLS (default: STARTTLS, then EHLO again)");
  app.add_flag("--pipelining", o.pipelining, "MAIL+RCPT+DATA in one write, content+QUIT in one write");
  app.add_option("--recipients", o.recipients, "RCPT TO per message")->capture_default_str()->check(CLI::Range(1, 1000));
  app.add_option("-m,--messages-per-session", o.messages_per_session, "transactions per session")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  app.add_option("--rcpt-domain", o.rcpt_domain, "domain of the recipients (rcptN@DOMAIN)")->capture_default_str();
  app.add_flag("--stamp", o.stamp, "an X-Bench-Sent header in each message: its MAIL FROM time, for the sink");
  app.add_option("--timeout", o.timeout_s, "seconds a session may take before it counts as failed")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  auto* idle = app.add_option("--idle", o.idle, "idle mode: set up N sessions (STARTTLS + EHLO) and hold them")
                   ->excludes(rate);
  app.add_option("--hold", o.hold_s, "idle mode: seconds to hold (default: until SIGINT/SIGTERM)")->needs(idle);
  app.add_option("--ready-file", o.ready_file, "idle mode: file written once every session is set up")->needs(idle);
  auto* flood = app.add_option("--flood", flood_name, "hostile clients during the run: rcpt, noop, drip, handshake")
                    ->check(CLI::IsMember({"rcpt", "noop", "drip", "handshake"}))
                    ->excludes(idle);
  app.add_option("--flood-connections", o.flood_connections, "hostile connections kept open")
      ->capture_default_str()
      ->needs(flood)
      ->check(CLI::Range(1, 100000));
  app.add_option("--flood-warmup", o.flood_warmup_s, "seconds between opening the flood and measuring")
      ->capture_default_str()
      ->needs(flood);
  std::string flood_source;
  app.add_option("--flood-source", flood_source,
                 "the hostile connections' own address, e.g. 127.0.0.2 (they are another client than the measured sessions)")
      ->needs(flood);
  app.add_option("--drip-interval-ms", o.drip_interval_ms, "drip flood: milliseconds between bytes")
      ->capture_default_str()
      ->needs(flood)
      ->check(CLI::Range(1, 600000));
  app.add_option("--label", o.label, "name printed with the report (e.g. mxguard, nginx)");
  app.add_flag("--json", json, "print the report as one JSON object");
  CLI11_PARSE(app, argc, argv);

  std::string error;
  auto target = mxguard::bench::parse_loopback(o.target_text, error);
  if (!target) {
    std::fprintf(stderr, "loadgen: --target: %s\n", error.c_str());
    return 2;
  }
  o.target = *target;
  if (!flood_source.empty()) {
    auto source = mxguard::bench::parse_loopback_host(flood_source, error);   // port 0: the kernel picks
    if (!source) {
      std::fprintf(stderr, "loadgen: --flood-source: %s\n", error.c_str());
      return 2;
    }
    o.flood_source = *source;
  }
  o.tls = !plain;
  if (!flood_name.empty()) o.flood = mxguard::bench::parse_flood_kind(flood_name);
  std::signal(SIGPIPE, SIG_IGN);

  bssl::UniquePtr<SSL_CTX> ctx = client_context();
  if (!ctx) {
    std::fprintf(stderr, "loadgen: cannot create a TLS context\n");
    return 1;
  }
  mxguard::bench::Driver driver(uv_default_loop(), o, ctx.get());
  if (!driver.run(error)) {
    std::fprintf(stderr, "loadgen: %s\n", error.c_str());
    return 1;
  }
  mxguard::bench::Report r = driver.report();
  // Its own CPU time tells whether the load generator, not the server, was the bottleneck.
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  r.cpu_s = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
            static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  std::fputs((json ? mxguard::bench::to_json(r) : mxguard::bench::to_text(r)).c_str(), stdout);
  // Exit 1 when anything measured went wrong, so scripts notice without parsing the report.
  bool ok = r.idle ? (r.idle_established > 0 && r.failed == 0) : (r.completed > 0 && r.failed == 0);
  return ok ? 0 : 1;
}

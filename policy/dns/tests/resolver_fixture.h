#pragma once
// What the resolver tests share: a private libuv loop per test (closed at the end, which fails if any
// handle was left open), the test DNS server's address, and servers that never answer.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "policy/dns/resolver.h"
#include "policy/net/socket_address.h"

namespace mxguard::dns::testing_support {

using namespace std::chrono_literals;

// "127.0.0.1:5353" / "[::1]:5353" -> Server.
inline std::optional<Server> parse_server(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return Server{host, static_cast<std::uint16_t>(std::stoi(text.substr(colon + 1)))};
}

// The unbound that tests/fixtures/dns_server.py started for this test binary (ctest runs it that way).
inline std::optional<Server> test_dns_server(const char* variable = "MXGUARD_TEST_DNS") {
  const char* value = std::getenv(variable);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return parse_server(value);
}

// A UDP socket on 127.0.0.1 that is bound but never read: queries to it are never answered (timeout).
class SilentServer {
 public:
  SilentServer() : fd_(socket(AF_INET, SOCK_DGRAM, 0)) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sin;
    if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&sin), sizeof sin) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&sin), &len) != 0) {
      ADD_FAILURE() << "cannot bind a UDP socket on 127.0.0.1";
    }
    port_ = ntohs(sin.sin_port);
  }
  ~SilentServer() {
    if (fd_ >= 0) close(fd_);
  }
  SilentServer(const SilentServer&) = delete;
  SilentServer& operator=(const SilentServer&) = delete;
  Server server() const { return {"127.0.0.1", port_}; }

 private:
  int fd_;
  std::uint16_t port_ = 0;
};

// A UDP port on 127.0.0.1 with nobody on it: the kernel answers port-unreachable (connection refused).
inline Server closed_port() {
  SilentServer taken;
  return taken.server();   // closed again when `taken` goes
}

class LoopTest : public testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(uv_loop_init(&loop_), 0); }

  void TearDown() override {
    resolver_.reset();
    // Every handle the resolver and the test opened must close and be freed: then the loop closes.
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop_), 0) << "a libuv handle was left open";
  }

  std::unique_ptr<Resolver> make(const std::vector<Server>& servers, Options options = {}) {
    auto made = Resolver::create(&loop_, servers, options);
    if (auto* error = std::get_if<std::string>(&made)) {
      ADD_FAILURE() << *error;
      return nullptr;
    }
    return std::move(std::get<std::unique_ptr<Resolver>>(made));
  }

  // The resolver on the test DNS server; fails the test (never skips it) when there is none.
  Resolver& live(Options options = {}) {
    auto server = test_dns_server();
    if (!server) {
      ADD_FAILURE() << "MXGUARD_TEST_DNS is not set: run this test through ctest, or as\n"
                       "  python3 tests/fixtures/dns_server.py run --zone policy/dns/tests/zones/mx.test.zone "
                       "--zone policy/dns/tests/zones/plain.test.zone --zone policy/dns/tests/zones/bogus.test.zone "
                       "-- build/policy/dns/dns_test";
      server = Server{"127.0.0.1", 9};   // the discard port: every lookup then fails, and says so
    }
    resolver_ = make({*server}, options);
    return *resolver_;
  }

  // Runs the loop until `done()` or `limit` passes; returns done(). A 1 ms tick checks the condition (a
  // plain UV_RUN_ONCE would sleep in its poll even after a timer callback made the condition true).
  bool run_until(std::function<bool()> done, std::chrono::milliseconds limit = 10s) {
    struct Tick {
      std::function<bool()>* done;
      std::chrono::steady_clock::time_point deadline;
    } state{&done, std::chrono::steady_clock::now() + limit};
    uv_timer_t tick;
    uv_timer_init(&loop_, &tick);
    tick.data = &state;
    uv_timer_start(&tick, [](uv_timer_t* t) {
      auto* s = static_cast<Tick*>(t->data);
      if ((*s->done)() || std::chrono::steady_clock::now() >= s->deadline) uv_stop(t->loop);
    }, 1, 1);
    if (!done()) uv_run(&loop_, UV_RUN_DEFAULT);
    // The tick lives on this stack frame: close it and let the loop release it before returning.
    uv_close(reinterpret_cast<uv_handle_t*>(&tick), nullptr);
    uv_run(&loop_, UV_RUN_NOWAIT);
    return done();
  }

  // Runs c-ares's side only, until it holds no exchange: the answers are in and parsed, but the
  // callbacks (which run from a timer on a later iteration) have not run yet. UV_RUN_NOWAIT never runs
  // timers after its poll, so the delivery timer started by an answer stays pending.
  void run_until_answers_received(std::chrono::milliseconds limit = 10s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (resolver_ && resolver_->in_flight() != 0 && std::chrono::steady_clock::now() < deadline) {
      uv_run(&loop_, UV_RUN_NOWAIT);
    }
    ASSERT_TRUE(resolver_ && resolver_->in_flight() == 0);
  }

  // Lets the loop run for `d` even though nothing is expected (to prove a callback does NOT come).
  void run_for(std::chrono::milliseconds d) {
    run_until([] { return false; }, d);
  }

  template <typename R, typename Start>
  R wait(Start start) {
    std::optional<R> result;
    Query q = start([&](R r) { result = std::move(r); });
    EXPECT_TRUE(run_until([&] { return result.has_value(); })) << "no answer in time";
    return result.value_or(R{});
  }

  MxResult mx(std::string_view name) {
    return wait<MxResult>([&](auto cb) { return resolver_->query_mx(name, cb); });
  }
  TxtResult txt(std::string_view name) {
    return wait<TxtResult>([&](auto cb) { return resolver_->query_txt(name, cb); });
  }
  TlsaResult tlsa(std::string_view host, std::uint16_t port) {
    return wait<TlsaResult>([&](auto cb) { return resolver_->query_tlsa(host, port, cb); });
  }
  AddressResult addresses(std::string_view name) {
    return wait<AddressResult>([&](auto cb) { return resolver_->query_addresses(name, cb); });
  }

  uv_loop_t loop_{};
  std::unique_ptr<Resolver> resolver_;
};

inline std::vector<std::string> texts(const AddressResult& r) {
  std::vector<std::string> out;
  for (const auto& ss : r.addresses) out.push_back(policy::address_text(ss));
  return out;
}

template <typename T>
std::vector<T> sorted(std::vector<T> v) {
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace mxguard::dns::testing_support

#include "proxy/net/tests/loopback.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy/net/listener_options.h"

namespace mxguard::net::testing {

void Recorder::on_connected(Connection& c, int status) {
  connected = status;
  if (status != 0) return;
  c.start_reading();
  if (when_connected) when_connected(c);
}

void Recorder::on_data(Connection& c, std::string_view plaintext) {
  data.append(plaintext);
  if (!tls_ready) data_before_tls.append(plaintext);
  if (when_data) when_data(c, plaintext);
}

void Recorder::on_tls_ready(Connection& c) {
  tls_ready = true;
  if (when_ready) when_ready(c);
}

Loopback::Loopback(const std::string& host, int port) {
  loop_ok_ = uv_loop_init(&loop_) == 0;
  EXPECT_TRUE(loop_ok_);
  server_ = std::make_unique<Connection>(&loop_, server_events);
  client_ = std::make_unique<Connection>(&loop_, client_events);
  // uv_stop as well: a timer that fires at the start of a UV_RUN_ONCE round would otherwise leave it
  // blocked in poll with nothing else to wait for.
  guard_ = std::make_unique<uv::Timer>(&loop_, [this] {
    timed_out_ = true;
    uv_stop(&loop_);
  });

  int rc = host.find(':') == std::string::npos
               ? uv_ip4_addr(host.c_str(), port, reinterpret_cast<sockaddr_in*>(&listen_addr_))
               : uv_ip6_addr(host.c_str(), port, reinterpret_cast<sockaddr_in6*>(&listen_addr_));
  if (rc != 0) return;
  int fd = ::socket(listen_addr_.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  socklen_t len = listen_addr_.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&listen_addr_), len) != 0 || set_client_socket_options(fd) != 0) {
    ::close(fd);
    return;   // listening() stays false: the caller decides whether that is a failure or a skip
  }
  len = sizeof listen_addr_;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&listen_addr_), &len);
  Acceptor::Events events;
  events.accepted = [this](int accepted) { on_connection(accepted); };
  listener_ = std::make_unique<Acceptor>(&loop_, fd, std::move(events));
  listening_ = listener_->start(8) == 0;
}

Loopback::~Loopback() {
  if (server_) server_->close([] {});
  if (client_) client_->close([] {});
  if (listener_) listener_->close();
  guard_->close();
  uv_run(&loop_, UV_RUN_DEFAULT);
  if (loop_ok_) {
    EXPECT_EQ(uv_loop_close(&loop_), 0) << "a handle or request outlived the test";
  }
}

void Loopback::on_connection(int fd) {
  ASSERT_FALSE(accepted_) << "one connection per test";
  ASSERT_EQ(server_->adopt_accepted(fd), 0);
  accepted_ = true;
  server_->start_reading();
  if (when_accepted) when_accepted(*server_);
}

void Loopback::connect(const std::string& host, int port) {
  sockaddr_storage target = listen_addr_;
  if (!host.empty()) {
    // sin_port and sin6_port sit at the same offset.
    if (port == 0) port = ntohs(reinterpret_cast<sockaddr_in*>(&listen_addr_)->sin_port);
    int rc = host.find(':') == std::string::npos
                 ? uv_ip4_addr(host.c_str(), port, reinterpret_cast<sockaddr_in*>(&target))
                 : uv_ip6_addr(host.c_str(), port, reinterpret_cast<sockaddr_in6*>(&target));
    ASSERT_EQ(rc, 0) << host;
  }
  ASSERT_EQ(client_->connect(reinterpret_cast<const sockaddr*>(&target)), 0);
}

bool Loopback::run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  timed_out_ = false;
  guard_->start(timeout);
  while (!done() && !timed_out_) uv_run(&loop_, UV_RUN_ONCE);
  guard_->stop();
  return done();
}

void Loopback::settle() {
  // Write completions are queued as pending callbacks for the next round; a few non-blocking rounds run
  // them and whatever they start.
  for (int i = 0; i < 4; ++i) uv_run(&loop_, UV_RUN_NOWAIT);
}

}  // namespace mxguard::net::testing

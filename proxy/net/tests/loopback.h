#pragma once
// Two net::Connections on a real libuv loop over loopback TCP: the test drives one side as a server
// (accepted) and one as a client (connected), reacting through hooks the way a session would.
#include <uv.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "proxy/net/acceptor.h"
#include "proxy/net/connection.h"
#include "proxy/uv/handle.h"
#include "proxy/uv/timer.h"

namespace mxguard::net::testing {

// Records what a connection reports.
struct Recorder : ConnectionEvents {
  std::string data;                      // all plaintext received
  std::string data_before_tls;           // what arrived before on_tls_ready
  int connected = 1;                     // on_connected status (1: not yet)
  bool eof = false;
  std::vector<std::string> errors;
  bool tls_ready = false;
  std::optional<std::string> tls_failed;
  int drained = 0;
  std::function<void(Connection&)> when_connected;   // after start_reading
  std::function<void(Connection&, std::string_view)> when_data;
  std::function<void(Connection&)> when_ready;

  void on_connected(Connection& c, int status) override;
  void on_data(Connection& c, std::string_view plaintext) override;
  void on_eof(Connection&) override { eof = true; }
  void on_error(Connection&, const std::string& reason) override { errors.push_back(reason); }
  void on_tls_ready(Connection& c) override;
  void on_tls_failed(Connection&, const std::string& reason) override { tls_failed = reason; }
  void on_drained(Connection&) override { ++drained; }
};

class Loopback {
 public:
  // Listens on `host` (an IPv4 or IPv6 literal), on `port` or an ephemeral one.
  explicit Loopback(const std::string& host = "127.0.0.1", int port = 0);
  // Closes whatever is open and runs the loop until every handle is gone; a leaked handle fails the test.
  ~Loopback();
  Loopback(const Loopback&) = delete;
  Loopback& operator=(const Loopback&) = delete;

  bool listening() const { return listening_; }
  // Connects the client to the listener, or to `host`:`port` (port 0: the listener's). The accepted
  // server side starts reading and then runs when_accepted.
  void connect(const std::string& host = "", int port = 0);
  // Runs the loop until `done` or the timeout; returns done().
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Runs the callbacks already due (a finished write, a close) without waiting for anything new.
  void settle();

  uv_loop_t* loop() { return &loop_; }
  Connection& server() { return *server_; }
  Connection& client() { return *client_; }
  void destroy_client() { client_.reset(); }
  bool accepted() const { return accepted_; }

  Recorder server_events;
  Recorder client_events;
  std::function<void(Connection&)> when_accepted;

 private:
  void on_connection(int fd);
  uv_loop_t loop_{};
  bool loop_ok_ = false;
  std::unique_ptr<Acceptor> listener_;
  std::unique_ptr<Connection> server_;
  std::unique_ptr<Connection> client_;
  std::unique_ptr<uv::Timer> guard_;
  sockaddr_storage listen_addr_{};
  bool listening_ = false;
  bool accepted_ = false;
  bool timed_out_ = false;
};

}  // namespace mxguard::net::testing

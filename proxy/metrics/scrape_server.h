#pragma once
// The metrics endpoint: a very small HTTP/1.1 server on a libuv loop (the main loop in mxguard run, never
// a worker's) that answers GET /metrics with render() and closes. One request per connection; the head
// is bounded (http_request.h); a client has `request_timeout` to send it, and the connection is closed
// after the response has been written and the client has closed its side (or `linger` has passed), so a
// client still sending does not get a reset that eats the response. At most `max_connections` at once:
// further clients are accepted and closed at once, so a flood of them costs the loop nothing but accepts.
#include <uv.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <unordered_set>

#include "proxy/uv/handle.h"

namespace mxguard::metrics {

class ScrapeServer {
 public:
  struct Options {
    std::size_t max_connections = 16;
    std::chrono::milliseconds request_timeout{5000};
    std::chrono::milliseconds linger{2000};
  };
  using Render = std::function<std::string()>;
  // A line for the process log (a malformed request, a client that timed out, the cap reached).
  using LogFn = std::function<void(const std::string&)>;

  ScrapeServer(uv_loop_t* loop, Render render, LogFn log, Options options);
  ScrapeServer(uv_loop_t* loop, Render render, LogFn log) : ScrapeServer(loop, std::move(render), std::move(log), Options{}) {}
  // Closes everything; the loop must run afterwards for the close callbacks (which free the memory).
  ~ScrapeServer();
  ScrapeServer(const ScrapeServer&) = delete;
  ScrapeServer& operator=(const ScrapeServer&) = delete;

  // Takes a bound socket (listen_sockets.h) and listens on it. Error: libuv's text.
  std::string start(int fd);
  // Stops listening and closes every connection.
  void close();
  std::size_t connections() const { return connections_.size(); }
  std::uint64_t scrapes() const { return scrapes_; }

 private:
  class Client;
  friend class Client;

  void on_connection();

  uv_loop_t* loop_;
  Render render_;
  LogFn log_;
  Options options_;
  uv::Handle<uv_tcp_t> listener_;
  std::unordered_set<Client*> connections_;
  std::uint64_t scrapes_ = 0;
  bool closed_ = false;
};

}  // namespace mxguard::metrics

#include "proxy/metrics/scrape_server.h"

#include "proxy/metrics/exposition.h"
#include "proxy/metrics/http_request.h"
#include "proxy/uv/timer.h"

namespace mxguard::metrics {

// One scrape connection. It owns itself from accept to its last close callback: the server may be gone
// by then (it drops its pointer when it closes), and libuv calls a pending write's or shutdown's
// callback before the handle's close callback, so nothing here is freed while a request still points at it.
class ScrapeServer::Client {
 public:
  explicit Client(ScrapeServer* server) : server_(server), timer_(server->loop_, [this] { on_timeout(); }) {}

  // Accepts from the listener; false when it cannot (then close() has been called).
  bool accept(uv_stream_t* listener) {
    if (uv_tcp_init(server_->loop_, tcp_.get()) != 0) {
      close();
      return false;
    }
    tcp_.mark_initialized();
    tcp_.get()->data = this;
    if (uv_accept(listener, tcp_.stream()) != 0) {
      close();
      return false;
    }
    return true;
  }

  void serve() {
    timer_.start(server_->options_.request_timeout);
    int rc = uv_read_start(
        tcp_.stream(),
        [](uv_handle_t*, std::size_t, uv_buf_t* buf) {
          // One buffer for every scrape connection (they all live on the one loop that serves metrics):
          // libuv hands it to on_read before it asks for a buffer again.
          static char shared[4096];
          *buf = uv_buf_init(shared, sizeof shared);
        },
        [](uv_stream_t* s, ssize_t n, const uv_buf_t* buf) { static_cast<Client*>(s->data)->on_read(n, buf); });
    if (rc != 0) close();
  }

  void close() {
    if (closing_) return;
    closing_ = true;
    if (server_) server_->connections_.erase(this);
    server_ = nullptr;
    timer_.close([this] { closed(); });
    tcp_.close([this] { closed(); });
  }

  void detach() { server_ = nullptr; }

 private:
  void on_read(ssize_t n, const uv_buf_t* buf) {
    if (n < 0) {   // EOF or an error: during linger that is the client's goodbye; before, it gave up
      close();
      return;
    }
    if (responded_) return;   // lingering: whatever still comes is discarded unread
    request_.append(buf->base, static_cast<std::size_t>(n));
    RequestHead head = parse_request_head(request_);
    if (head.status == HeadStatus::NeedMore) return;
    if (head.status == HeadStatus::Bad) log("metrics: bad request (" + std::string(head.problem) + ")");
    respond(route(head));
  }

  void respond(const Decision& d) {
    responded_ = true;
    request_.clear();
    request_.shrink_to_fit();
    if (d.metrics && server_) {
      ++server_->scrapes_;
      response_ = http_response(200, kContentType, server_->render_(), d.head_only);
    } else {
      std::string body = std::to_string(d.status) + " " + std::string(reason_phrase(d.status)) + "\n";
      response_ = http_response(d.status, "text/plain; charset=utf-8", body);
    }
    uv_buf_t out = uv_buf_init(response_.data(), static_cast<unsigned>(response_.size()));
    write_.data = this;
    if (uv_write(&write_, tcp_.stream(), &out, 1, [](uv_write_t* w, int status) {
          static_cast<Client*>(w->data)->on_written(status);
        }) != 0) {
      close();
    }
  }

  void on_written(int status) {
    if (status != 0 || closing_) {
      close();
      return;
    }
    // FIN after the response; the connection closes when the client closes its side (or linger passes).
    timer_.start(server_ ? server_->options_.linger : std::chrono::milliseconds(0));
    shutdown_.data = this;
    if (uv_shutdown(&shutdown_, tcp_.stream(), [](uv_shutdown_t* s, int) {}) != 0) close();
  }

  void on_timeout() {
    if (!responded_) {
      log("metrics: client sent no complete request in time");
      respond(Decision{.status = 408});
      return;
    }
    close();
  }

  void log(const std::string& line) {
    if (server_ && server_->log_) server_->log_(line);
  }

  void closed() {
    if (--open_handles_ == 0) delete this;
  }

  ScrapeServer* server_;
  uv::Handle<uv_tcp_t> tcp_;
  uv::Timer timer_;
  uv_write_t write_{};
  uv_shutdown_t shutdown_{};
  std::string request_;
  std::string response_;
  int open_handles_ = 2;
  bool responded_ = false;
  bool closing_ = false;
};

ScrapeServer::ScrapeServer(uv_loop_t* loop, Render render, LogFn log, Options options)
    : loop_(loop), render_(std::move(render)), log_(std::move(log)), options_(options) {}

ScrapeServer::~ScrapeServer() { close(); }

std::string ScrapeServer::start(int fd) {
  int rc = uv_tcp_init(loop_, listener_.get());
  if (rc == 0) {
    listener_.mark_initialized();
    listener_.get()->data = this;
    rc = uv_tcp_open(listener_.get(), fd);
  }
  if (rc == 0) {
    rc = uv_listen(listener_.stream(), 64, [](uv_stream_t* s, int status) {
      if (status == 0) static_cast<ScrapeServer*>(s->data)->on_connection();
    });
  }
  return rc == 0 ? std::string() : std::string(uv_strerror(rc));
}

void ScrapeServer::on_connection() {
  if (closed_) return;
  auto* client = new Client(this);   // owns itself until its handles have closed
  if (!client->accept(listener_.stream())) return;
  if (connections_.size() >= options_.max_connections) {
    // Accepted only to be closed: left in the backlog, it would be accepted later by a scrape that timed out.
    if (log_) log_("metrics: " + std::to_string(connections_.size()) + " scrape connections open already: closed a new one");
    client->close();
    return;
  }
  connections_.insert(client);
  client->serve();
}

void ScrapeServer::close() {
  closed_ = true;
  listener_.close();
  auto open = std::move(connections_);
  connections_.clear();
  for (Client* c : open) {
    c->detach();
    c->close();
  }
}

}  // namespace mxguard::metrics

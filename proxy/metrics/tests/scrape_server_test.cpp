// The scrape server on a real loop (its own thread here, as the main loop is in mxguard run) against
// plain blocking client sockets: answers, closes, timeouts and the connection cap.
#include "proxy/metrics/scrape_server.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "proxy/metrics/exposition.h"

namespace mxguard::metrics {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class Client {
 public:
  explicit Client(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<uint16_t>(port));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0;
  }
  ~Client() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool connected() const { return connected_; }
  void send(std::string_view bytes) { ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL); }
  // Everything until the server closes (or 5 s pass); `eof` says whether it closed cleanly.
  std::string read_all(bool* eof = nullptr) {
    std::string got;
    char buf[4096];
    for (;;) {
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n > 0) {
        got.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      if (eof) *eof = n == 0;
      return got;
    }
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

class ScrapeServerTest : public ::testing::Test {
 protected:
  void start(ScrapeServer::Options options = {}) {
    ASSERT_EQ(uv_loop_init(&loop_), 0);
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    socklen_t len = sizeof addr;
    ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    port_ = ntohs(addr.sin_port);
    server_ = std::make_unique<ScrapeServer>(
        &loop_, [this] { ++renders_; return std::string("mxguard_up 1\n"); },
        [this](const std::string& line) {
          std::lock_guard lock(log_mutex_);
          log_.push_back(line);
        },
        options);
    ASSERT_EQ(server_->start(fd), "");
    ASSERT_EQ(uv_async_init(&loop_, &stop_, [](uv_async_t* a) {
                auto* self = static_cast<ScrapeServerTest*>(a->data);
                self->server_->close();
                uv_close(reinterpret_cast<uv_handle_t*>(a), nullptr);
              }), 0);
    stop_.data = this;
    thread_ = std::thread([this] { uv_run(&loop_, UV_RUN_DEFAULT); });
  }

  void TearDown() override {
    if (!thread_.joinable()) return;
    uv_async_send(&stop_);
    thread_.join();
    server_.reset();
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop_), 0) << "a handle outlived the server";
  }

  std::string scrape(std::string_view request, bool* eof = nullptr) {
    Client c(port_);
    EXPECT_TRUE(c.connected());
    c.send(request);
    return c.read_all(eof);
  }

  std::vector<std::string> log() {
    std::lock_guard lock(log_mutex_);
    return log_;
  }

  uv_loop_t loop_{};
  uv_async_t stop_{};
  std::unique_ptr<ScrapeServer> server_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<int> renders_{0};
  std::mutex log_mutex_;
  std::vector<std::string> log_;
};

constexpr std::string_view kGet = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: test\r\n\r\n";

TEST_F(ScrapeServerTest, GetMetricsIs200WithTheExpositionThenTheServerCloses) {
  start();
  bool eof = false;
  std::string got = scrape(kGet, &eof);
  EXPECT_TRUE(eof) << "the server closes after one response";
  EXPECT_EQ(got, "HTTP/1.1 200 OK\r\nContent-Type: " + std::string(kContentType) +
                     "\r\nContent-Length: 13\r\nConnection: close\r\n\r\nmxguard_up 1\n");
  EXPECT_EQ(renders_, 1);
}

TEST_F(ScrapeServerTest, HeadHasNoBodyAndOtherRequestsGetTheirStatus) {
  start();
  std::string head = scrape("HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(head.starts_with("HTTP/1.1 200 OK\r\n")) << head;
  EXPECT_TRUE(head.ends_with("Content-Length: 13\r\nConnection: close\r\n\r\n")) << head;
  EXPECT_TRUE(scrape("GET / HTTP/1.1\r\nHost: x\r\n\r\n").starts_with("HTTP/1.1 404 Not Found\r\n"));
  std::string post = scrape("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc");
  EXPECT_TRUE(post.starts_with("HTTP/1.1 405 Method Not Allowed\r\n")) << post;
  EXPECT_NE(post.find("Allow: GET, HEAD\r\n"), std::string::npos);
  EXPECT_TRUE(scrape("GET /metrics HTTP/1.1\r\nHost : x\r\n\r\n").starts_with("HTTP/1.1 400 Bad Request\r\n"));
  EXPECT_TRUE(scrape("GET /" + std::string(9000, 'a')).starts_with("HTTP/1.1 414 URI Too Long\r\n"));
  EXPECT_EQ(renders_, 1) << "only the HEAD rendered";
  EXPECT_FALSE(log().empty()) << "bad requests are logged";
}

TEST_F(ScrapeServerTest, ARequestSplitAcrossWritesIsAnswered) {
  start();
  Client c(port_);
  ASSERT_TRUE(c.connected());
  for (char ch : kGet) {
    c.send(std::string_view(&ch, 1));
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_TRUE(c.read_all().starts_with("HTTP/1.1 200 OK\r\n"));
}

TEST_F(ScrapeServerTest, BytesAfterTheRequestDoNotCostTheClientItsResponse) {
  start();
  // A body the endpoint never reads: closing with it unread would reset the connection, and the reset
  // could overtake the response. The server shuts down its side and waits for the client's instead.
  Client c(port_);
  ASSERT_TRUE(c.connected());
  c.send(std::string(kGet) + std::string(100000, 'x'));
  std::string got = c.read_all();
  EXPECT_TRUE(got.ends_with("\r\n\r\nmxguard_up 1\n")) << got.substr(0, 200);
}

TEST_F(ScrapeServerTest, ASilentClientGets408AtTheTimeout) {
  start({.request_timeout = 200ms, .linger = 200ms});
  auto began = Clock::now();
  Client c(port_);
  ASSERT_TRUE(c.connected());
  c.send("GET /metrics HTTP/1.1\r\n");   // and nothing more
  bool eof = false;
  std::string got = c.read_all(&eof);
  EXPECT_TRUE(got.starts_with("HTTP/1.1 408 Request Timeout\r\n")) << got;
  EXPECT_TRUE(eof);
  EXPECT_LT(Clock::now() - began, 3s);
}

TEST_F(ScrapeServerTest, ConnectionsOverTheCapAreClosedAtOnce) {
  start({.max_connections = 2, .request_timeout = 3000ms});
  Client a(port_), b(port_);
  ASSERT_TRUE(a.connected() && b.connected());
  a.send("G");
  b.send("G");
  // Both are being served (the server has read from them) before the third arrives.
  for (int i = 0; i < 200 && server_->connections() < 2; ++i) std::this_thread::sleep_for(5ms);
  Client third(port_);
  ASSERT_TRUE(third.connected()) << "accepted by the kernel";
  auto began = Clock::now();
  bool eof = false;
  EXPECT_EQ(third.read_all(&eof), "") << "closed without a response";
  EXPECT_LT(Clock::now() - began, 2s) << "closed at once, not at a timeout";
  a.send("ET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(a.read_all().starts_with("HTTP/1.1 200 OK")) << "the ones under the cap are served";
}

}  // namespace
}  // namespace mxguard::metrics

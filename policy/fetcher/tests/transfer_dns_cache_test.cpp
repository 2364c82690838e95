// A finished Transfer leaves no DNS entry behind in the multi handle: its CURLOPT_RESOLVE entry (permanent
// in curl, never pruned) lives in a DNS cache of its own that dies with it, so a fetcher that meets a new
// policy host every day for months does not keep one entry per host (docs/benchmarks.md, "Soak",
// "mxguard-fetch over 20,000 fetches").
//
// The evidence is what a later handle on the same multi handle reaches for the same host:port. The host is
// mta-sts.h.localhost, which curl resolves itself to 127.0.0.1 (never asking DNS), while the Transfer's
// entry said 127.0.0.2. A later handle that reaches 127.0.0.2 found the Transfer's entry still cached.
// Everything is on 127.0.0.0/8, and the refused connect ends the Transfer at once (no timeout is waited for).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <string>

#include "policy/fetcher/curl_multi_loop.h"
#include "policy/fetcher/transfer.h"

namespace mxguard::fetch {
namespace {

class Listener {
 public:
  // Listens on address:port (port 0: any); fd() < 0 if it cannot.
  Listener(const char* address, std::uint16_t port) : fd_(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    inet_pton(AF_INET, address, &sin.sin_addr);
    if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&sin), sizeof sin) != 0 || listen(fd_, 4) != 0) {
      reset();
      return;
    }
    socklen_t length = sizeof sin;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&sin), &length);
    port_ = ntohs(sin.sin_port);
  }
  ~Listener() { reset(); }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
  int fd() const { return fd_; }
  std::uint16_t port() const { return port_; }

 private:
  void reset() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }
  int fd_;
  std::uint16_t port_ = 0;
};

class FetchTransferDnsCache : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
    ASSERT_EQ(uv_loop_init(&loop_), 0);
    std::string error;
    multi_ = CurlMultiLoop::create(
        &loop_,
        [this](CURL* easy, CURLcode result) {
          results_[easy] = result;
          uv_stop(&loop_);
        },
        error);
    ASSERT_TRUE(multi_) << error;
  }
  void TearDown() override {
    multi_.reset();
    uv_run(&loop_, UV_RUN_DEFAULT);   // the close callbacks of the multi loop's handles
    EXPECT_EQ(uv_loop_close(&loop_), 0);
    curl_global_cleanup();
  }
  // Runs `easy` on the multi loop to its end: curl's result.
  CURLcode run(CURL* easy) {
    std::string error = multi_->add(easy);
    EXPECT_EQ(error, "");
    while (error.empty() && !results_.contains(easy)) {
      if (uv_run(&loop_, UV_RUN_DEFAULT) == 0 && !results_.contains(easy)) break;   // nothing left to wait for
    }
    CURLcode result = results_.contains(easy) ? results_.at(easy) : CURLE_FAILED_INIT;
    results_.erase(easy);   // a later handle may get the same address
    return result;
  }

  uv_loop_t loop_{};
  std::unique_ptr<CurlMultiLoop> multi_;
  std::map<CURL*, CURLcode> results_;
};

TEST_F(FetchTransferDnsCache, FinishedTransferLeavesNoResolveEntryInTheMultiHandle) {
  // 127.0.0.1:port is taken, so that a Transfer that ignored its addresses would not be refused.
  Listener taken("127.0.0.1", 0);
  ASSERT_GE(taken.fd(), 0) << "cannot listen on 127.0.0.1";
  std::uint16_t port = taken.port();

  Request request;
  request.id = 1;
  request.domain = "h.localhost";
  request.port = port;
  request.addresses = {"127.0.0.2"};   // nothing listens there yet: refused at once
  request.ca_file = "/dev/null";       // never read: the connect fails before TLS
  std::string error;
  std::unique_ptr<Transfer> transfer = Transfer::create(request, "mxguard-fetch-test", error);
  ASSERT_TRUE(transfer) << error;
  ASSERT_EQ(run(transfer->easy()), CURLE_COULDNT_CONNECT) << "the Transfer must have gone to 127.0.0.2";
  transfer.reset();

  // Now 127.0.0.2:port listens too, and a plain handle asks for the same host:port without any entry.
  Listener second("127.0.0.2", port);
  ASSERT_GE(second.fd(), 0) << "cannot listen on 127.0.0.2:" << port;
  std::unique_ptr<CURL, void (*)(CURL*)> later(curl_easy_init(), curl_easy_cleanup);
  ASSERT_TRUE(later);
  std::string url = "http://mta-sts.h.localhost:" + std::to_string(port) + "/";
  curl_easy_setopt(later.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(later.get(), CURLOPT_CONNECT_ONLY, 1L);
  curl_easy_setopt(later.get(), CURLOPT_IPRESOLVE, static_cast<long>(CURL_IPRESOLVE_V4));
  curl_easy_setopt(later.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(later.get(), CURLOPT_PROXY, "");
  ASSERT_EQ(run(later.get()), CURLE_OK);
  char* reached = nullptr;
  curl_easy_getinfo(later.get(), CURLINFO_PRIMARY_IP, &reached);
  ASSERT_NE(reached, nullptr);
  EXPECT_STREQ(reached, "127.0.0.1") << "the finished Transfer's resolve entry is still in the multi handle's DNS cache";
}

}  // namespace
}  // namespace mxguard::fetch

// net::Acceptor on a real loop over loopback TCP, and at the process's descriptor limit: this process's
// own RLIMIT_NOFILE lowered to the descriptors it holds, so that accept4 fails with EMFILE for real.
#include "proxy/net/acceptor.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <vector>

#include "proxy/uv/timer.h"

namespace mxguard::net {
namespace {

using namespace std::chrono_literals;

int bound_loopback_socket(sockaddr_in& addr) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return -1;
  }
  return fd;
}

// A blocking client socket; connect() completes in the kernel's listen queue whether or not anyone accepts.
int client_socket() { return ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0); }

// RLIMIT_NOFILE's soft limit set to the lowest free descriptor number, so that no new descriptor can be
// made, until restore() or the end of the scope.
class DescriptorsExhausted {
 public:
  DescriptorsExhausted() {
    ::getrlimit(RLIMIT_NOFILE, &saved_);
    int lowest_free = ::fcntl(0, F_DUPFD, 0);
    ::close(lowest_free);
    rlimit low = saved_;
    low.rlim_cur = static_cast<rlim_t>(lowest_free);
    ok_ = lowest_free > 0 && ::setrlimit(RLIMIT_NOFILE, &low) == 0;
  }
  ~DescriptorsExhausted() { restore(); }
  bool ok() const { return ok_; }
  void restore() {
    if (ok_) ::setrlimit(RLIMIT_NOFILE, &saved_);
    ok_ = false;
  }

 private:
  rlimit saved_{};
  bool ok_ = false;
};

class AcceptorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(uv_loop_init(&loop_), 0);
    int fd = bound_loopback_socket(addr_);
    ASSERT_GE(fd, 0);
    Acceptor::Events events;
    events.accepted = [this](int accepted) { this->accepted.push_back(accepted); };
    events.failing = [this](int error) { failures.push_back(error); };
    events.accepting_again = [this](std::uint64_t pauses) { again.push_back(pauses); };
    acceptor_ = std::make_unique<Acceptor>(&loop_, fd, std::move(events));
    ASSERT_EQ(acceptor_->start(16), 0);
  }

  void TearDown() override {
    for (int fd : accepted) ::close(fd);
    for (int fd : clients_) ::close(fd);
    acceptor_->close();
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop_), 0) << "a handle outlived the acceptor";
  }

  int connected_client() {
    int fd = client_socket();
    EXPECT_GE(fd, 0);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr_), sizeof addr_), 0) << std::strerror(errno);
    clients_.push_back(fd);
    return fd;
  }

  // Loop iterations (each blocks until an event) until `done` or `timeout`; returns how many ran.
  int run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    bool expired = false;
    uv::Timer guard(&loop_, [&] { expired = true; });
    guard.start(timeout);
    int iterations = 0;
    while (!done() && !expired) {
      uv_run(&loop_, UV_RUN_ONCE);
      ++iterations;
    }
    guard.close();
    uv_run(&loop_, UV_RUN_NOWAIT);   // the guard's close callback
    return iterations;
  }

  uv_loop_t loop_{};
  sockaddr_in addr_{};
  std::unique_ptr<Acceptor> acceptor_;
  std::vector<int> clients_;
  std::vector<int> accepted;
  std::vector<int> failures;
  std::vector<std::uint64_t> again;
};

TEST_F(AcceptorTest, HandsOverEveryQueuedConnection) {
  for (int i = 0; i < 3; ++i) connected_client();
  run_until([&] { return accepted.size() == 3; }, 5s);
  ASSERT_EQ(accepted.size(), 3u);
  for (int fd : accepted) {
    EXPECT_NE(::fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
    EXPECT_NE(::fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
  }
  EXPECT_TRUE(failures.empty());
  EXPECT_FALSE(acceptor_->paused());
}

TEST_F(AcceptorTest, AtTheDescriptorLimitItSaysSoOncePausesAndLaterServesTheConnectionsThatWaited) {
  int first = connected_client();
  int second = client_socket();   // made now: no descriptor can be made once the limit is reached
  ASSERT_GE(second, 0);
  clients_.push_back(second);
  ASSERT_EQ(::send(first, "x", 1, 0), 1);

  DescriptorsExhausted exhausted;
  ASSERT_TRUE(exhausted.ok()) << "cannot lower RLIMIT_NOFILE: " << std::strerror(errno);
  run_until([&] { return !failures.empty(); }, 5s);
  ASSERT_EQ(failures, std::vector<int>{EMFILE});
  EXPECT_TRUE(acceptor_->paused());
  ASSERT_EQ(::connect(second, reinterpret_cast<sockaddr*>(&addr_), sizeof addr_), 0) << std::strerror(errno);

  // Three pauses' worth of the loop: each iteration waits for the retry timer, none spins on the
  // readable socket. A busy loop would run thousands of iterations in this time.
  int iterations = run_until([] { return false; }, Acceptor::kResourcePause * 3);
  EXPECT_LT(iterations, 20) << "the loop spun while accept failed";
  EXPECT_EQ(failures.size(), 1u) << "one report per streak, not one per retry";
  EXPECT_TRUE(accepted.empty());

  exhausted.restore();
  run_until([&] { return accepted.size() == 2; }, 5s);
  ASSERT_EQ(accepted.size(), 2u) << "the connections that waited in the listen queue were not served";
  ASSERT_EQ(again.size(), 1u);
  EXPECT_GE(again[0], 1u);
  EXPECT_FALSE(acceptor_->paused());
  char byte = 0;
  EXPECT_EQ(::recv(accepted[0], &byte, 1, MSG_DONTWAIT), 1) << "the first connection was dropped, not kept";
  EXPECT_EQ(byte, 'x');
}

TEST_F(AcceptorTest, ClosedWhilePausedItClosesEveryHandle) {
  connected_client();
  DescriptorsExhausted exhausted;
  ASSERT_TRUE(exhausted.ok());
  run_until([&] { return !failures.empty(); }, 5s);
  ASSERT_TRUE(acceptor_->paused());
  acceptor_->close();
  EXPECT_LT(acceptor_->fd(), 0);
  // TearDown runs the loop to its end: the retry timer must be closed too.
}

}  // namespace
}  // namespace mxguard::net

// net::Connection in plaintext over loopback TCP: data both ways, write coalescing (cork), the ways a
// connection closes with bytes still queued.
#include <gtest/gtest.h>

#include <random>

#include "proxy/net/tests/loopback.h"

namespace mxguard::net {
namespace {

using testing::Loopback;

std::string commands(int n) {
  std::string all;
  for (int i = 0; i < n; ++i) all += "RCPT TO:<user" + std::to_string(i) + "@example.test>\r\n";
  return all;
}

void connect_pair(Loopback& net) {
  ASSERT_TRUE(net.listening());
  net.connect();
  ASSERT_TRUE(net.run_until([&] { return net.accepted() && net.client_events.connected == 0; }));
}

TEST(Connection, PlaintextFlowsBothWays) {
  Loopback net;
  connect_pair(net);
  net.server().write("220 mx.example.test ESMTP\r\n");
  net.client().write("EHLO client.example.test\r\n");
  ASSERT_TRUE(net.run_until([&] { return !net.client_events.data.empty() && !net.server_events.data.empty(); }));
  EXPECT_EQ(net.client_events.data, "220 mx.example.test ESMTP\r\n");
  EXPECT_EQ(net.server_events.data, "EHLO client.example.test\r\n");
  EXPECT_FALSE(net.server().tls_active());
}

TEST(Connection, CorkedWritesLeaveAsOneWriteInOrder) {
  Loopback net;
  connect_pair(net);
  const std::string expected = commands(100);
  std::uint64_t before = net.client().write_calls();
  net.client().cork();
  for (int i = 0; i < 100; ++i) net.client().write("RCPT TO:<user" + std::to_string(i) + "@example.test>\r\n");
  EXPECT_TRUE(net.client().corked());
  EXPECT_EQ(net.client().queued_bytes(), expected.size());   // corked bytes count as queued
  EXPECT_EQ(net.client().write_calls(), before);
  net.client().uncork();
  EXPECT_FALSE(net.client().corked());
  EXPECT_EQ(net.client().write_calls(), before + 1);
  EXPECT_EQ(net.client().queued_bytes(), 0u) << "the kernel took the burst at once";
  ASSERT_TRUE(net.run_until([&] { return net.server_events.data.size() >= expected.size(); }));
  EXPECT_EQ(net.server_events.data, expected);
  EXPECT_EQ(net.client().write_calls(), before + 1);
}

TEST(Connection, AWriteTheKernelTakesAtOnceQueuesNothingAndReportsNothing) {
  Loopback net;
  connect_pair(net);
  std::uint64_t before = net.client().write_calls();
  net.client().write("NOOP\r\n");
  EXPECT_EQ(net.client().queued_bytes(), 0u);
  EXPECT_EQ(net.client().write_calls(), before + 1);
  ASSERT_TRUE(net.run_until([&] { return net.server_events.data == "NOOP\r\n"; }));
  net.settle();
  EXPECT_EQ(net.client_events.drained, 0) << "nothing waited, so nothing drained";
}

// More than the two sockets' buffers hold while the loop is not running to read them.
static std::string too_big_for_the_kernel() { return std::string(16 << 20, 'x'); }

TEST(Connection, BytesThatHadToWaitReportDrainedOnceTheyAreOut) {
  Loopback net;
  connect_pair(net);
  const std::string big = too_big_for_the_kernel();
  net.client().write(big);
  EXPECT_GT(net.client().queued_bytes(), 0u);
  EXPECT_LT(net.client().queued_bytes(), big.size()) << "what the kernel could take left at once";
  ASSERT_TRUE(net.run_until([&] { return net.client_events.drained == 1; }));
  EXPECT_EQ(net.client().queued_bytes(), 0u);
  ASSERT_TRUE(net.run_until([&] { return net.server_events.data.size() >= big.size(); }));
  EXPECT_TRUE(net.server_events.data == big);
}

TEST(Connection, NestedCorksFlushAtTheOutermostUncork) {
  Loopback net;
  connect_pair(net);
  std::uint64_t before = net.client().write_calls();
  {
    Corked outer(net.client());
    net.client().write("MAIL FROM:<a@example.test>\r\n");
    {
      Corked inner(net.client());
      net.client().write("RCPT TO:<b@example.test>\r\n");
    }
    EXPECT_EQ(net.client().write_calls(), before);   // the inner uncork sends nothing
    net.client().write("DATA\r\n");
  }
  EXPECT_EQ(net.client().write_calls(), before + 1);
  net.client().uncork();   // one too many: harmless
  ASSERT_TRUE(net.run_until([&] { return net.server_events.data.size() >= 60; }));
  EXPECT_EQ(net.server_events.data, "MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n");
}

TEST(Connection, WritesWhileOneIsInFlightJoinTheNextWrite) {
  Loopback net;
  connect_pair(net);
  const std::string big = too_big_for_the_kernel();
  const std::string expected = big + commands(100);
  std::uint64_t before = net.client().write_calls();
  net.client().write(big);   // the kernel takes part of it; the rest waits in a uv_write
  for (int i = 0; i < 100; ++i) net.client().write("RCPT TO:<user" + std::to_string(i) + "@example.test>\r\n");
  ASSERT_TRUE(net.run_until([&] { return net.server_events.data.size() >= expected.size(); }));
  EXPECT_TRUE(net.server_events.data == expected);
  // The 100 commands gathered behind the write in flight and left together.
  EXPECT_EQ(net.client().write_calls(), before + 2);
  // They left at once when it completed: that is the moment the queue drained, and it is reported.
  ASSERT_TRUE(net.run_until([&] { return net.client_events.drained == 1; }));
  EXPECT_EQ(net.client().queued_bytes(), 0u);
}

TEST(Connection, LargeWritesArriveIntact) {
  Loopback net;
  connect_pair(net);
  std::string big(4 << 20, '\0');
  std::mt19937 rng(42);
  for (char& c : big) c = static_cast<char>(rng());
  net.client().write(big.substr(0, 1 << 20));
  net.client().write(big.substr(1 << 20));
  ASSERT_TRUE(net.run_until([&] { return net.server_events.data.size() >= big.size(); }));
  EXPECT_TRUE(net.server_events.data == big);
  ASSERT_TRUE(net.run_until([&] { return net.client().queued_bytes() == 0; }));
}

TEST(Connection, DrainedComesOnlyAfterCorkedBytesAreOut) {
  Loopback net;
  connect_pair(net);
  const std::string big = too_big_for_the_kernel();
  net.client().write(big);
  net.client().cork();
  net.client().write("QUIT\r\n");
  ASSERT_TRUE(net.run_until([&] { return net.server_events.data.size() == big.size(); }));
  net.settle();
  EXPECT_EQ(net.client_events.drained, 0);   // QUIT is still corked
  EXPECT_EQ(net.client().queued_bytes(), 6u);
  net.client().uncork();
  EXPECT_EQ(net.client().queued_bytes(), 0u) << "QUIT went to the kernel at once";
  ASSERT_TRUE(net.run_until([&] { return net.server_events.data.size() == big.size() + 6; }));
}

TEST(Connection, CloseAfterFlushSendsCorkedBytesFirst) {
  Loopback net;
  connect_pair(net);
  bool closed = false;
  net.server().cork();
  net.server().write("250 2.0.0 Ok\r\n");
  net.server().write("221 2.0.0 Bye\r\n");
  net.server().close_after_flush([&] { closed = true; });
  EXPECT_TRUE(net.server().closing());
  net.server().write("never sent\r\n");   // the owner is done with it
  net.server().uncork();                   // the callback's end: nothing left to do
  ASSERT_TRUE(net.run_until([&] { return closed && net.client_events.eof; }));
  EXPECT_EQ(net.client_events.data, "250 2.0.0 Ok\r\n221 2.0.0 Bye\r\n");
}

TEST(Connection, CloseDropsCorkedBytes) {
  Loopback net;
  connect_pair(net);
  bool closed = false;
  net.server().cork();
  net.server().write("421 4.3.2 Shutting down\r\n");
  net.server().close([&] { closed = true; });
  EXPECT_EQ(net.server().queued_bytes(), 0u);
  net.server().uncork();
  ASSERT_TRUE(net.run_until([&] { return closed && net.client_events.eof; }));
  EXPECT_EQ(net.client_events.data, "");
}

TEST(Connection, DestroyedWithAWriteInFlight) {
  Loopback net;
  connect_pair(net);
  net.client().write(std::string(8 << 20, 'x'));   // more than the socket buffers take at once
  EXPECT_GT(net.client().queued_bytes(), 0u);
  net.destroy_client();   // the write finishes (cancelled) without its connection
  ASSERT_TRUE(net.run_until([&] { return net.server_events.eof || !net.server_events.errors.empty(); }));
}

}  // namespace
}  // namespace mxguard::net

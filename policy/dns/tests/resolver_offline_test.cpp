// The resolver without a DNS server: servers that never answer or refuse give Temporary, a destroyed
// resolver calls nothing and leaks nothing (ASan/LSan in the sanitizer build), bad setup is refused.
#include <gtest/gtest.h>

#include "policy/dns/resolver.h"
#include "policy/dns/tests/resolver_fixture.h"

namespace mxguard::dns {
namespace {

using namespace testing_support;

class ResolverOffline : public LoopTest {};

TEST_F(ResolverOffline, SilentServerTimesOutAsTemporary) {
  SilentServer silent;
  resolver_ = make({silent.server()}, {.timeout = 100ms, .tries = 2});
  auto start = std::chrono::steady_clock::now();
  MxResult m = mx("mx.test");
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(to_string(m.status), "temporary");
  EXPECT_TRUE(m.records.empty());
  // 100 ms, then 200 ms for the second round (c-ares doubles the wait): well under a second.
  EXPECT_GE(elapsed, 250ms);
  EXPECT_LT(elapsed, 2s);
  EXPECT_EQ(to_string(txt("mx.test").status), "temporary");
  EXPECT_EQ(to_string(addresses("mx.test").status), "temporary");
  EXPECT_EQ(resolver_->in_flight(), 0u);
}

TEST_F(ResolverOffline, UnreachableServerIsTemporary) {
  resolver_ = make({closed_port()}, {.timeout = 2000ms, .tries = 2});
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(to_string(mx("mx.test").status), "temporary");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1500ms) << "a refusal should not wait for the timeout";
}

TEST_F(ResolverOffline, DestroyWithQueriesInFlightCallsNothing) {
  SilentServer silent;
  resolver_ = make({silent.server()}, {.timeout = 5000ms, .tries = 3});
  auto capture = std::make_shared<int>(0);
  std::weak_ptr<int> watch = capture;
  int ran = 0;
  std::vector<Query> queries;
  for (int i = 0; i < 20; ++i) {
    queries.push_back(resolver_->query_mx("mx.test", [&ran, capture](MxResult) { ++ran; }));
    queries.push_back(resolver_->query_addresses("dual.mx.test", [&ran, capture](AddressResult) { ++ran; }));
    queries.push_back(resolver_->query_txt("_mta-sts.mx.test", [&ran, capture](TxtResult) { ++ran; }));
  }
  capture.reset();
  run_for(20ms);   // the queries are on the wire, sockets polled, the timeout timer armed
  EXPECT_EQ(resolver_->in_flight(), 80u);
  resolver_.reset();
  EXPECT_TRUE(watch.expired()) << "every callback (and its captures) must be destroyed with the resolver";
  for (const Query& q : queries) EXPECT_FALSE(q.pending());
  queries.clear();   // tokens outliving the resolver: their destructors must not touch it
  run_for(50ms);
  EXPECT_EQ(ran, 0);
}

TEST_F(ResolverOffline, CallbacksRunOnlyFromTheLoop) {
  SilentServer silent;
  resolver_ = make({silent.server()});
  bool ran = false;
  Query q = resolver_->query_mx("bad..name", [&](MxResult) { ran = true; });
  EXPECT_FALSE(ran);
  ASSERT_TRUE(run_until([&] { return ran; }));
}

// Names that cannot be asked fail without a server, so their results are queued before the loop runs:
// a deterministic way to have several results waiting for one delivery round.
TEST_F(ResolverOffline, DestroyWithResultsQueued) {
  SilentServer silent;
  resolver_ = make({silent.server()});
  int ran = 0;
  Query a = resolver_->query_mx("bad..name", [&](MxResult) { ++ran; });
  Query b = resolver_->query_txt("bad..name", [&](TxtResult) { ++ran; });
  Query c = resolver_->query_addresses("bad..name", [&](AddressResult) { ++ran; });
  resolver_.reset();
  run_for(20ms);
  EXPECT_EQ(ran, 0);
}

// The first callback of a delivery round destroys the resolver: the results queued behind it must
// not run after it (they would reach a dead resolver's callers).
TEST_F(ResolverOffline, CallbackMayDestroyTheResolver) {
  SilentServer silent;
  resolver_ = make({silent.server()});
  int ran = 0;
  std::vector<Query> queries;
  for (int i = 0; i < 5; ++i) {
    queries.push_back(resolver_->query_mx("bad..name", [&](MxResult) {
      ++ran;
      resolver_.reset();
    }));
  }
  ASSERT_TRUE(run_until([&] { return resolver_ == nullptr; }));
  run_for(20ms);
  EXPECT_EQ(ran, 1);
}

TEST(ResolverCreate, RejectsBadServersAndOptions) {
  uv_loop_t loop;
  ASSERT_EQ(uv_loop_init(&loop), 0);
  auto error = [&](std::vector<Server> servers, Options options = {}) {
    auto made = Resolver::create(&loop, servers, options);
    auto* text = std::get_if<std::string>(&made);
    return text != nullptr ? *text : std::string();
  };
  EXPECT_NE(error({{"ns.example", 53}}).find("ns.example"), std::string::npos);
  EXPECT_NE(error({{"127.0.0.1", 0}}).find("port 0"), std::string::npos);
  EXPECT_NE(error({{"[::1]", 53}}).find("[::1]"), std::string::npos);   // brackets belong to the config text
  EXPECT_FALSE(error({{"127.0.0.1", 53}}, {.timeout = 0ms, .tries = 1}).empty());
  EXPECT_FALSE(error({{"127.0.0.1", 53}}, {.timeout = 100ms, .tries = 0}).empty());
  EXPECT_EQ(error({{"127.0.0.1", 5353}, {"::1", 53}}), "");
  uv_run(&loop, UV_RUN_DEFAULT);
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

// No servers given: /etc/resolv.conf's (or c-ares's 127.0.0.1 default). Nothing is asked.
TEST(ResolverCreate, DefaultsToResolvConf) {
  uv_loop_t loop;
  ASSERT_EQ(uv_loop_init(&loop), 0);
  {
    auto made = Resolver::create(&loop, {});
    ASSERT_TRUE(std::holds_alternative<std::unique_ptr<Resolver>>(made)) << std::get<std::string>(made);
    EXPECT_FALSE(std::get<std::unique_ptr<Resolver>>(made)->servers().empty());
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

}  // namespace
}  // namespace mxguard::dns

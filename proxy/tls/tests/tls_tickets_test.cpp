// Session tickets across workers, reloads and key periods: real BoringSSL handshakes between Engines,
// the server's keys from a TicketKeySource whose clock the test moves.
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <chrono>
#include <cstring>
#include <memory>

#include "proxy/tls/server_context.h"
#include "proxy/tls/tests/test_ca_fixture.h"
#include "proxy/tls/ticket_keys.h"
#include "proxy/tls/tls_engine.h"

namespace mxguard::tls {
namespace {

using std::chrono::system_clock;

// A clock the test sets; starts an hour into some period.
struct FakeClock {
  std::shared_ptr<system_clock::time_point> now =
      std::make_shared<system_clock::time_point>(system_clock::time_point(TicketKeySource::kPeriod * 40000 + std::chrono::hours(1)));
  TicketKeySource::Clock clock() const {
    return [now = now] { return *now; };
  }
  void advance_periods(int n) { *now += TicketKeySource::kPeriod * n; }
};

// A client that keeps the last session a server gave it (SSL_CTX_sess_set_new_cb: in TLS 1.3 the tickets
// arrive after the handshake).
class ResumingClient {
 public:
  explicit ResumingClient(uint16_t max_version) : ctx_(SSL_CTX_new(TLS_method())) {
    SSL_CTX_set_max_proto_version(ctx_.get(), max_version);
    SSL_CTX_set_session_cache_mode(ctx_.get(), SSL_SESS_CACHE_CLIENT);
    SSL_CTX_sess_set_new_cb(ctx_.get(), [](SSL* ssl, SSL_SESSION* session) {
      static_cast<ResumingClient*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)))->latest_.reset(session);
      return 1;   // the session is ours now
    });
    SSL_CTX_set_app_data(ctx_.get(), this);
  }

  struct Outcome {
    bool ok = false;
    bool resumed = false;
    std::string version;
  };

  // One connection to worker `worker` of `server`, offering `offer` (null: none); the client writes a line
  // and the server answers, so the server's TLS 1.3 tickets reach the client.
  Outcome connect(const ServerContext& server, unsigned worker, SSL_SESSION* offer) {
    bssl::UniquePtr<SSL> ssl(SSL_new(ctx_.get()));
    SSL_set_connect_state(ssl.get());
    SSL_set_tlsext_host_name(ssl.get(), "mx.example.com");
    if (offer) {
      EXPECT_EQ(SSL_set_session(ssl.get(), offer), 1);
    }
    SSL* client_raw = ssl.get();
    Engine client(std::move(ssl));
    bssl::UniquePtr<SSL> server_ssl = server.new_ssl(worker);
    EXPECT_TRUE(server_ssl);
    SSL* server_raw = server_ssl.get();
    Engine srv(std::move(server_ssl));
    testing::pump(client, srv);
    Outcome out;
    if (client.failure().failed() || srv.failure().failed() || !client.handshake_done() || !srv.handshake_done()) {
      ADD_FAILURE() << "handshake failed: " << client.failure_reason() << " / " << srv.failure_reason();
      return out;
    }
    EXPECT_EQ(client.write("EHLO client.example\r\n"), Progress::Ok);
    srv.feed(client.take_output());
    std::string got;
    EXPECT_EQ(srv.read(got, 1 << 16), Progress::Ok);
    EXPECT_EQ(srv.write("250 mx.example.com\r\n"), Progress::Ok);
    client.feed(srv.take_output());
    got.clear();
    EXPECT_EQ(client.read(got, 1 << 16), Progress::Ok);
    EXPECT_EQ(got, "250 mx.example.com\r\n");
    out.ok = true;
    out.resumed = SSL_session_reused(client_raw) == 1;
    EXPECT_EQ(out.resumed, SSL_session_reused(server_raw) == 1);
    out.version = client.info().version;
    return out;
  }

  // The last session received, owned by the client (null before any).
  SSL_SESSION* latest() const { return latest_.get(); }
  bssl::UniquePtr<SSL_SESSION> take_latest() { return std::move(latest_); }

 private:
  bssl::UniquePtr<SSL_CTX> ctx_;
  bssl::UniquePtr<SSL_SESSION> latest_;
};

class TicketTest : public testing::TestCaFixture, public ::testing::WithParamInterface<uint16_t> {
 protected:
  void SetUp() override {
    TestCaFixture::SetUp();
    testing::Issued leaf = testing::issue({.cn = "mx.example.com", .dns_names = {"mx.example.com"}}, &ca_);
    testing::write_cert(dir_.path() / "mx.crt", leaf.cert.get());
    testing::write_key(dir_.path() / "mx.key", leaf.key.get());
  }

  // Two workers' contexts for one certificate, tickets from `keys` (null: a source of their own).
  std::shared_ptr<const ServerContext> two_workers(std::shared_ptr<TicketKeySource> keys) const {
    auto ctx = ServerContext::create({{dir_.file("mx.crt"), dir_.file("mx.key"), "test"}},
                                     {.workers = 2, .ticket_keys = std::move(keys)});
    EXPECT_TRUE(std::holds_alternative<std::shared_ptr<const ServerContext>>(ctx)) << std::get<std::string>(ctx);
    return std::get<std::shared_ptr<const ServerContext>>(ctx);
  }

  uint16_t version() const { return GetParam(); }
  std::string version_name() const { return version() == TLS1_3_VERSION ? "TLSv1.3" : "TLSv1.2"; }
};

TEST_P(TicketTest, ATicketFromWorkerZeroResumesOnWorkerOne) {
  auto server = two_workers(std::make_shared<TicketKeySource>());
  ASSERT_EQ(server->workers(), 2u);
  ResumingClient client(version());
  auto first = client.connect(*server, 0, nullptr);
  EXPECT_TRUE(first.ok);
  EXPECT_FALSE(first.resumed);
  EXPECT_EQ(first.version, version_name());
  bssl::UniquePtr<SSL_SESSION> ticket = client.take_latest();
  ASSERT_TRUE(ticket) << "worker 0 issued no ticket";
  auto second = client.connect(*server, 1, ticket.get());
  EXPECT_TRUE(second.ok);
  EXPECT_TRUE(second.resumed) << "worker 1 did not accept worker 0's ticket";
  // And back. TLS 1.3 issues new tickets after every handshake: worker 1's opens on worker 0. TLS 1.2
  // renews a ticket only when its key is the previous one, so the client keeps the one it has.
  bssl::UniquePtr<SSL_SESSION> from_one = client.take_latest();
  EXPECT_EQ(from_one != nullptr, version() == TLS1_3_VERSION);
  EXPECT_TRUE(client.connect(*server, 0, from_one ? from_one.get() : ticket.get()).resumed);
}

TEST_P(TicketTest, ATicketStillResumesAfterAReload) {
  auto keys = std::make_shared<TicketKeySource>();
  ResumingClient client(version());
  bssl::UniquePtr<SSL_SESSION> ticket;
  {
    auto before = two_workers(keys);
    EXPECT_TRUE(client.connect(*before, 0, nullptr).ok);
    ticket = client.take_latest();
    ASSERT_TRUE(ticket);
  }   // the old contexts are gone, as after the last session of the old configuration
  auto after = two_workers(keys);
  EXPECT_TRUE(client.connect(*after, 1, ticket.get()).resumed);
  // Without the shared source, the same ticket is a stranger: a full handshake.
  auto unrelated = two_workers(nullptr);
  auto full = client.connect(*unrelated, 0, ticket.get());
  EXPECT_TRUE(full.ok);
  EXPECT_FALSE(full.resumed);
}

TEST_P(TicketTest, KeysRotateEachPeriodAndThePreviousOneStillOpens) {
  FakeClock clock;
  auto keys = std::make_shared<TicketKeySource>(clock.clock());
  auto server = two_workers(keys);
  ResumingClient client(version());
  EXPECT_TRUE(client.connect(*server, 0, nullptr).ok);
  bssl::UniquePtr<SSL_SESSION> old_ticket = client.take_latest();
  ASSERT_TRUE(old_ticket);

  clock.advance_periods(1);   // the key that sealed it is now the previous one: still accepted
  auto next_period = client.connect(*server, 1, old_ticket.get());
  EXPECT_TRUE(next_period.resumed);
  ASSERT_TRUE(client.latest()) << "no fresh ticket (under the current key) after resuming with the previous one";
  bssl::UniquePtr<SSL_SESSION> fresh_ticket = client.take_latest();

  clock.advance_periods(1);   // two periods after the first ticket: its key is gone
  auto too_old = client.connect(*server, 0, old_ticket.get());
  EXPECT_TRUE(too_old.ok);
  EXPECT_FALSE(too_old.resumed) << "a ticket from two periods ago was accepted";
  // The ticket issued one period ago still resumes, on either worker.
  EXPECT_TRUE(client.connect(*server, 1, fresh_ticket.get()).resumed);
}

INSTANTIATE_TEST_SUITE_P(Versions, TicketTest, ::testing::Values(TLS1_2_VERSION, TLS1_3_VERSION),
                         [](const ::testing::TestParamInfo<uint16_t>& info) {
                           return info.param == TLS1_3_VERSION ? std::string("Tls13") : std::string("Tls12");
                         });

TEST(TicketKeySource, OnePeriodGivesTheSameKeysToEveryone) {
  FakeClock clock;
  TicketKeySource source(clock.clock());
  TicketKeySet a, b;
  ASSERT_TRUE(source.keys(a));
  ASSERT_TRUE(source.keys(b));
  EXPECT_EQ(a.period, b.period);
  EXPECT_EQ(std::memcmp(&a.current, &b.current, sizeof a.current), 0);
  EXPECT_FALSE(a.has_previous);   // nothing came before the first period
}

TEST(TicketKeySource, TheNextPeriodKeepsOneKeyAndTheOneAfterNone) {
  FakeClock clock;
  TicketKeySource source(clock.clock());
  TicketKeySet first, second, third;
  ASSERT_TRUE(source.keys(first));
  clock.advance_periods(1);
  ASSERT_TRUE(source.keys(second));
  EXPECT_EQ(second.period, first.period + 1);
  ASSERT_TRUE(second.has_previous);
  EXPECT_EQ(std::memcmp(&second.previous, &first.current, sizeof first.current), 0);
  EXPECT_NE(std::memcmp(second.current.name, first.current.name, sizeof first.current.name), 0);
  EXPECT_NE(std::memcmp(second.current.aes_key, first.current.aes_key, sizeof first.current.aes_key), 0);
  clock.advance_periods(2);   // a gap: neither old key survives it
  ASSERT_TRUE(source.keys(third));
  EXPECT_FALSE(third.has_previous);
  EXPECT_NE(std::memcmp(third.current.name, second.current.name, sizeof second.current.name), 0);
}

TEST(TicketKeySource, AClockThatGoesBackGetsNoOldKeyAgain) {
  FakeClock clock;
  TicketKeySource source(clock.clock());
  TicketKeySet now, earlier;
  clock.advance_periods(1);
  ASSERT_TRUE(source.keys(now));
  clock.advance_periods(-1);
  ASSERT_TRUE(source.keys(earlier));
  EXPECT_EQ(earlier.period, now.period);
  EXPECT_EQ(std::memcmp(&earlier.current, &now.current, sizeof now.current), 0);
}

TEST(ServerContextWorkers, AWorkerOutOfRangeGetsNoSsl) {
  testing::TempDir dir;
  testing::Issued leaf = testing::issue({.cn = "mx.example.com", .dns_names = {"mx.example.com"}});
  testing::write_cert(dir.path() / "mx.crt", leaf.cert.get());
  testing::write_key(dir.path() / "mx.key", leaf.key.get());
  auto made = ServerContext::create({{dir.file("mx.crt"), dir.file("mx.key"), "test"}}, {.workers = 3});
  ASSERT_TRUE(std::holds_alternative<std::shared_ptr<const ServerContext>>(made)) << std::get<std::string>(made);
  const auto& ctx = std::get<std::shared_ptr<const ServerContext>>(made);
  EXPECT_EQ(ctx->workers(), 3u);
  EXPECT_TRUE(ctx->new_ssl(2));
  EXPECT_FALSE(ctx->new_ssl(3));
}

}  // namespace
}  // namespace mxguard::tls

// FetchClient: the supervision of mxguard-fetch, against a scripted stand-in (fake_fetcher.py) that
// answers, dies, hangs or breaks the protocol on demand. Whatever the child does, every fetch gets
// exactly one answer, and a child that misbehaves is never trusted with the next request.
#include "policy/mta_sts/fetch_client.h"

#include <gtest/gtest.h>
#include <uv.h>

#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

namespace mxguard::mta_sts {
namespace {

using namespace std::chrono_literals;

std::string fake() { return std::string(MXGUARD_SOURCE_DIR) + "/policy/mta_sts/tests/fake_fetcher.py"; }

class FetchClientTest : public ::testing::Test {
 protected:
  void SetUp() override { uv_loop_init(&loop_); }
  void TearDown() override {
    client_.reset();
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop_), 0);
  }

  void make(std::vector<std::string> args, std::chrono::milliseconds grace = 5000ms) {
    FetcherOptions o;
    o.executable = fake();
    o.arguments = std::move(args);
    o.first_backoff = 100ms;
    o.max_backoff = 400ms;
    o.answer_grace = grace;
    client_ = std::make_unique<FetchClient>(&loop_, o, [this](const std::string& line) { log_.push_back(line); });
  }

  fetch::Request request(const std::string& domain, std::uint32_t total_ms = 1000) {
    fetch::Request r;
    r.domain = domain;
    r.addresses = {"127.0.0.1"};
    r.total_timeout_ms = total_ms;
    return r;
  }

  // Runs the loop until `n` answers arrived (or a 10 s safety timer fires).
  void run_until(std::size_t n) {
    uv_timer_t guard;
    uv_timer_init(&loop_, &guard);
    guard.data = this;
    uv_timer_start(&guard, [](uv_timer_t* t) { uv_stop(t->loop); }, 10000, 0);
    while (answers_.size() < n) {
      if (uv_run(&loop_, UV_RUN_ONCE) == 0) break;
      if (!uv_is_active(reinterpret_cast<uv_handle_t*>(&guard))) break;
    }
    uv_close(reinterpret_cast<uv_handle_t*>(&guard), nullptr);
    uv_run(&loop_, UV_RUN_NOWAIT);
  }

  FetchTicket fetch(const std::string& domain, std::uint32_t total_ms = 1000) {
    return client_->fetch(request(domain, total_ms), [this](fetch::Answer a) { answers_.push_back(std::move(a)); });
  }

  bool logged(const std::string& words) const {
    for (const auto& l : log_) {
      if (l.find(words) != std::string::npos) return true;
    }
    return false;
  }

  uv_loop_t loop_{};
  std::unique_ptr<FetchClient> client_;
  std::vector<fetch::Answer> answers_;
  std::vector<std::string> log_;
};

TEST_F(FetchClientTest, AnswersComeBackByIdAndTheChildIsReused) {
  make({"answer"});
  auto a = fetch("a.example");
  auto b = fetch("b.example");
  run_until(2);
  ASSERT_EQ(answers_.size(), 2u);
  std::vector<std::string> bodies = {answers_[0].body, answers_[1].body};
  std::sort(bodies.begin(), bodies.end());
  EXPECT_EQ(bodies, (std::vector<std::string>{"domain=a.example", "domain=b.example"}));
  EXPECT_EQ(answers_[0].outcome, fetch::Outcome::Http);
  EXPECT_EQ(answers_[0].status, 200);
  EXPECT_EQ(client_->starts(), 1u);
  EXPECT_EQ(client_->in_flight(), 0u);
}

TEST_F(FetchClientTest, AChildThatDiesFailsItsFetchesAndTheNextRequestStartsAnother) {
  char dir[] = "/tmp/fetchclient.XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string state = std::string(dir) + "/starts";
  make({"die", state});
  auto a = fetch("a.example");
  run_until(1);
  ASSERT_EQ(answers_.size(), 1u);
  EXPECT_EQ(answers_[0].outcome, fetch::Outcome::Failed);
  EXPECT_NE(answers_[0].detail.find("mxguard-fetch"), std::string::npos) << answers_[0].detail;
  EXPECT_FALSE(client_->running());
  // Within the backoff a request fails at once, never waits on a child that is not there.
  auto b = fetch("b.example");
  run_until(2);
  ASSERT_EQ(answers_.size(), 2u);
  EXPECT_EQ(answers_[1].outcome, fetch::Outcome::Failed);
  // After the backoff (100 ms here) a new child serves.
  uv_timer_t wait;
  uv_timer_init(&loop_, &wait);
  uv_timer_start(&wait, [](uv_timer_t*) {}, 300, 0);
  uv_run(&loop_, UV_RUN_DEFAULT);
  uv_close(reinterpret_cast<uv_handle_t*>(&wait), nullptr);
  auto c = fetch("c.example");
  run_until(3);
  ASSERT_EQ(answers_.size(), 3u);
  EXPECT_EQ(answers_[2].outcome, fetch::Outcome::Http) << answers_[2].detail;
  EXPECT_EQ(answers_[2].body, "domain=c.example");
  EXPECT_EQ(client_->starts(), 2u);
  std::remove(state.c_str());
  rmdir(dir);
}

TEST_F(FetchClientTest, AHungChildIsKilledAfterTheRequestsTimeoutAndGrace) {
  make({"hang"}, 200ms);
  auto a = fetch("a.example", 300);
  run_until(1);
  ASSERT_EQ(answers_.size(), 1u);
  EXPECT_EQ(answers_[0].outcome, fetch::Outcome::Failed);
  EXPECT_TRUE(logged("did not answer")) << (log_.empty() ? "" : log_.back());
  EXPECT_FALSE(client_->running());
}

TEST_F(FetchClientTest, GarbageOnTheSocketpairKillsTheChild) {
  make({"garbage"});
  auto a = fetch("a.example");
  auto b = fetch("b.example");
  run_until(2);
  ASSERT_EQ(answers_.size(), 2u);
  for (const auto& a : answers_) EXPECT_EQ(a.outcome, fetch::Outcome::Failed);
  EXPECT_TRUE(logged("broke the protocol"));
}

TEST_F(FetchClientTest, AnAnswerToAQuestionNeverAskedKillsTheChild) {
  make({"wrong-id"});
  auto a = fetch("a.example");
  run_until(1);
  ASSERT_EQ(answers_.size(), 1u);
  EXPECT_EQ(answers_[0].outcome, fetch::Outcome::Failed);
  EXPECT_TRUE(logged("never asked"));
}

TEST_F(FetchClientTest, AMissingExecutableFailsTheFetchAndSaysSo) {
  FetcherOptions o;
  o.executable = "/nonexistent/mxguard-fetch";
  client_ = std::make_unique<FetchClient>(&loop_, o, [this](const std::string& line) { log_.push_back(line); });
  auto a = fetch("a.example");
  run_until(1);
  ASSERT_EQ(answers_.size(), 1u);
  EXPECT_EQ(answers_[0].outcome, fetch::Outcome::Failed);
  EXPECT_TRUE(logged("could not be started"));
}

TEST_F(FetchClientTest, ACancelledFetchNeverCallsBack) {
  make({"answer"});
  {
    auto a = fetch("a.example");
    a.cancel();
  }
  auto b = fetch("b.example");
  run_until(1);
  ASSERT_EQ(answers_.size(), 1u);
  EXPECT_EQ(answers_[0].body, "domain=b.example");
}

TEST_F(FetchClientTest, DestroyingTheClientWithFetchesInFlightIsClean) {
  make({"hang"});
  auto a = fetch("a.example");
  uv_run(&loop_, UV_RUN_NOWAIT);
  client_.reset();   // TearDown runs the loop to the end: no handle may be left
  EXPECT_TRUE(answers_.empty());
}

}  // namespace
}  // namespace mxguard::mta_sts

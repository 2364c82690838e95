// DeferredCalls: never inside post(), in order, on the loop; never after the owner is gone; and every
// handle closed, so that the loop closes cleanly after each test.
#include "policy/libuv/deferred_calls.h"

#include <gtest/gtest.h>
#include <uv.h>

#include <memory>
#include <string>
#include <vector>

namespace mxguard::libuv {
namespace {

class DeferredCallsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(uv_loop_init(&loop_), 0); }
  void TearDown() override {
    calls_.reset();
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop_), 0) << "a handle was left open";
  }

  // Runs the loop until nothing is left to do: every call posted so far, and those they post, has run.
  void run() { uv_run(&loop_, UV_RUN_DEFAULT); }

  std::function<void()> record(std::string what) {
    return [this, what] { log_.push_back(what); };
  }

  uv_loop_t loop_{};
  std::unique_ptr<DeferredCalls> calls_ = nullptr;
  std::vector<std::string> log_;
};

TEST_F(DeferredCallsTest, RunsOnTheLoopInTheOrderPostedNeverInsidePost) {
  calls_ = std::make_unique<DeferredCalls>(&loop_);
  calls_->post(record("a"));
  calls_->post(record("b"));
  calls_->post(record("c"));
  EXPECT_TRUE(log_.empty());
  run();
  EXPECT_EQ(log_, (std::vector<std::string>{"a", "b", "c"}));
  // Idle again, and usable again.
  calls_->post(record("d"));
  EXPECT_EQ(log_.size(), 3u);
  run();
  EXPECT_EQ(log_.back(), "d");
}

TEST_F(DeferredCallsTest, ACallPostedByACallWaitsForALaterTurn) {
  calls_ = std::make_unique<DeferredCalls>(&loop_);
  calls_->post([this] {
    log_.push_back("first begins");
    calls_->post(record("posted by first"));
    log_.push_back("first ends");
  });
  calls_->post(record("second"));
  run();
  EXPECT_EQ(log_, (std::vector<std::string>{"first begins", "first ends", "second", "posted by first"}));
}

TEST_F(DeferredCallsTest, ACallThatDestroysTheOwnerIsTheLastToRun) {
  calls_ = std::make_unique<DeferredCalls>(&loop_);
  auto captured = std::make_shared<int>(0);
  std::weak_ptr<int> watch = captured;
  calls_->post([this] {
    log_.push_back("ends its owner");
    calls_.reset();
  });
  calls_->post([this, captured] { log_.push_back("after the owner is gone"); });
  captured.reset();
  run();
  EXPECT_EQ(log_, std::vector<std::string>{"ends its owner"});
  EXPECT_TRUE(watch.expired()) << "what the unrun call captured is released";
}

TEST_F(DeferredCallsTest, DestroyingItDropsWhatIsQueuedAtOnce) {
  calls_ = std::make_unique<DeferredCalls>(&loop_);
  auto captured = std::make_shared<int>(0);
  std::weak_ptr<int> watch = captured;
  calls_->post([this, captured] { log_.push_back("never"); });
  captured.reset();
  calls_.reset();
  EXPECT_TRUE(watch.expired());
  run();   // the timer's close callback, nothing else
  EXPECT_TRUE(log_.empty());
}

TEST_F(DeferredCallsTest, ClearDropsTheRestOfTheTurnToo) {
  calls_ = std::make_unique<DeferredCalls>(&loop_);
  calls_->post([this] {
    log_.push_back("clears");
    calls_->clear();
    calls_->post(record("posted after clear"));
  });
  calls_->post(record("dropped"));
  run();
  EXPECT_EQ(log_, (std::vector<std::string>{"clears", "posted after clear"}));
}

TEST_F(DeferredCallsTest, QueuedCallsKeepTheLoopAliveAndNothingElse) {
  calls_ = std::make_unique<DeferredCalls>(&loop_);
  EXPECT_EQ(uv_run(&loop_, UV_RUN_NOWAIT), 0) << "an idle DeferredCalls keeps no loop running";
  calls_->post(record("a"));
  EXPECT_NE(uv_loop_alive(&loop_), 0);
  run();
  EXPECT_EQ(log_, std::vector<std::string>{"a"});
}

}  // namespace
}  // namespace mxguard::libuv

// The loop's line of deferred turns on its own: order, the bound per iteration, cancelling, and that it
// neither blocks a loop nor keeps one alive.
#include "proxy/session/turn_queue.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "proxy/uv/timer.h"

namespace mxguard::session {
namespace {

using namespace std::chrono_literals;

class TurnQueueTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(uv_loop_init(&loop_), 0); }
  void TearDown() override {
    queue_.reset();
    keep_alive_.reset();
    uv_run(&loop_, UV_RUN_DEFAULT);   // the close callbacks
    EXPECT_EQ(uv_loop_close(&loop_), 0);
  }

  // A slot that writes its name into ran_ when its turn comes, then does what then_[name] says (kept
  // outside the slot's owner, which that may destroy).
  struct Named {
    TurnQueueTest* test;
    std::string name;
    TurnQueue::Slot slot;
    Named(TurnQueueTest* t, TurnQueue* q, std::string n) : test(t), name(std::move(n)), slot(q, &Named::run, this) {}
    static void run(void* self) {
      auto* n = static_cast<Named*>(self);
      TurnQueueTest* test = n->test;
      std::string name = n->name;
      test->ran_.push_back(name);
      if (auto it = test->then_.find(name); it != test->then_.end() && it->second) it->second();
    }
  };
  std::unique_ptr<Named> named(const std::string& name) { return std::make_unique<Named>(this, queue_.get(), name); }

  // A referenced handle so that uv_run has something to wait for (sessions have their connections).
  void keep_loop_alive() {
    keep_alive_ = std::make_unique<uv::Timer>(&loop_, [] {});
    keep_alive_->start(10s);
  }
  void one_iteration() { uv_run(&loop_, UV_RUN_NOWAIT); }

  uv_loop_t loop_{};
  std::unique_ptr<TurnQueue> queue_;
  std::unique_ptr<uv::Timer> keep_alive_;
  std::vector<std::string> ran_;
  std::map<std::string, std::function<void()>> then_;
};

TEST_F(TurnQueueTest, ATurnRunsOnALaterIterationOnceHoweverOftenItWasScheduled) {
  queue_ = std::make_unique<TurnQueue>(&loop_, 8);
  keep_loop_alive();
  auto a = named("a");
  a->slot.schedule();
  a->slot.schedule();
  EXPECT_TRUE(ran_.empty()) << "never from inside schedule()";
  EXPECT_EQ(queue_->waiting(), 1u);
  one_iteration();
  EXPECT_EQ(ran_, std::vector<std::string>{"a"});
  EXPECT_FALSE(a->slot.waiting());
  one_iteration();
  EXPECT_EQ(ran_.size(), 1u);
}

TEST_F(TurnQueueTest, AtMostSoManyTurnsPerIterationInOrderAndARescheduledOneGoesToTheBack) {
  queue_ = std::make_unique<TurnQueue>(&loop_, 2);
  keep_loop_alive();
  auto a = named("a"), b = named("b"), c = named("c");
  then_["a"] = [&] { a->slot.schedule(); };   // a session still backlogged after its turn
  a->slot.schedule();
  b->slot.schedule();
  c->slot.schedule();
  one_iteration();
  EXPECT_EQ(ran_, (std::vector<std::string>{"a", "b"}));
  one_iteration();
  EXPECT_EQ(ran_, (std::vector<std::string>{"a", "b", "c", "a"}));
  then_["a"] = nullptr;
  one_iteration();
  EXPECT_EQ(ran_, (std::vector<std::string>{"a", "b", "c", "a", "a"}));
  EXPECT_EQ(queue_->waiting(), 0u);
  EXPECT_EQ(queue_->served(), 5u);
}

TEST_F(TurnQueueTest, ACancelledOrDestroyedSlotNeverRunsEvenFromInsideAnotherTurn) {
  queue_ = std::make_unique<TurnQueue>(&loop_, 8);
  keep_loop_alive();
  auto a = named("a"), b = named("b"), c = named("c"), d = named("d");
  then_["a"] = [&] {
    b.reset();            // a session that ends during another's turn
    c->slot.cancel();
  };
  for (auto* n : {a.get(), b.get(), c.get(), d.get()}) n->slot.schedule();
  auto e = named("e");
  e->slot.schedule();
  e.reset();              // ended while waiting
  one_iteration();
  EXPECT_EQ(ran_, (std::vector<std::string>{"a", "d"}));
  EXPECT_EQ(queue_->waiting(), 0u);
}

TEST_F(TurnQueueTest, ATurnMayEndItsOwnOwner) {
  queue_ = std::make_unique<TurnQueue>(&loop_, 8);
  keep_loop_alive();
  auto a = named("a"), b = named("b");
  then_["a"] = [&] { a.reset(); };
  a->slot.schedule();
  b->slot.schedule();
  one_iteration();
  EXPECT_EQ(ran_, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(a, nullptr);
}

TEST_F(TurnQueueTest, WaitingTurnsKeepTheLoopFromBlockingInPoll) {
  queue_ = std::make_unique<TurnQueue>(&loop_, 1);
  keep_loop_alive();   // a 10 s timer: UV_RUN_ONCE would block for it if nothing else were due
  auto a = named("a"), b = named("b");
  a->slot.schedule();
  b->slot.schedule();
  auto start = std::chrono::steady_clock::now();
  uv_run(&loop_, UV_RUN_ONCE);
  uv_run(&loop_, UV_RUN_ONCE);
  EXPECT_EQ(ran_, (std::vector<std::string>{"a", "b"}));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST_F(TurnQueueTest, ItDoesNotKeepALoopAliveAndClosesWithSlotsStillWaiting) {
  queue_ = std::make_unique<TurnQueue>(&loop_, 8);
  auto a = named("a");
  a->slot.schedule();
  EXPECT_EQ(uv_run(&loop_, UV_RUN_DEFAULT), 0) << "nothing else on the loop: uv_run returns";
  queue_->close();
  EXPECT_EQ(queue_->waiting(), 0u);
  EXPECT_FALSE(a->slot.waiting());
  a.reset();
}

}  // namespace
}  // namespace mxguard::session

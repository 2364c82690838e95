// The log output (log_output.h): a worker thread's lines wait for its loop's next poll, whole lines leave
// in writes of at most PIPE_BUF, errors and threads without a batch write at once.
#include "proxy/app/log_output.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <climits>
#include <string>
#include <thread>
#include <vector>

namespace mxguard::app {
namespace {

class LogOutputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(pipe2(fds_, O_NONBLOCK | O_CLOEXEC), 0);
    ASSERT_GE(fcntl(fds_[0], F_SETPIPE_SZ, 1 << 20), 1 << 20);   // room for the long-line tests
    logger_ = std::make_shared<spdlog::logger>("test", make_log_output(fds_[1]));
    logger_->set_pattern("%l %v");
    logger_->flush_on(spdlog::level::trace);   // as main.cpp configures it
    uv_loop_init(&loop_);
  }
  void TearDown() override {
    uv_loop_close(&loop_);
    close(fds_[0]);
    close(fds_[1]);
  }
  // Everything written so far, and how many read() calls returned data: each read of a pipe returns at
  // most what one or more writes put there, so the chunk sizes bound the write sizes from above.
  std::string drain() {
    std::string out;
    char buf[PIPE_BUF];
    for (;;) {
      ssize_t n = read(fds_[0], buf, sizeof buf);
      if (n <= 0) return out;
      chunks_.push_back(static_cast<std::size_t>(n));
      out.append(buf, static_cast<std::size_t>(n));
    }
  }
  // Runs `fn` in a timer callback of the loop (a turn, as a session's would be), then the loop until idle.
  template <typename Fn>
  void in_turn(Fn fn) {
    uv_timer_t timer;
    uv_timer_init(&loop_, &timer);
    struct Ctx { Fn* fn; LogOutputTest* self; std::string seen_in_turn; } ctx{&fn, this, {}};
    timer.data = &ctx;
    uv_timer_start(&timer, [](uv_timer_t* t) {
      auto* c = static_cast<Ctx*>(t->data);
      (*c->fn)();
      c->seen_in_turn = c->self->drain();   // what left during the turn itself
    }, 0, 0);
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_close(reinterpret_cast<uv_handle_t*>(&timer), nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);
    seen_in_turn_ = ctx.seen_in_turn;
  }

  int fds_[2] = {-1, -1};
  std::shared_ptr<spdlog::logger> logger_;
  uv_loop_t loop_{};
  std::string seen_in_turn_;
  std::vector<std::size_t> chunks_;   // the size of every read that returned data
};

TEST_F(LogOutputTest, WithoutABatchEachLineIsWrittenAtOnce) {
  logger_->info("one");
  EXPECT_EQ(drain(), "info one\n");
  logger_->warn("two");
  EXPECT_EQ(drain(), "warning two\n");
}

TEST_F(LogOutputTest, ABatchingThreadsLinesLeaveTogetherBeforeThePoll) {
  LoopLogBatch batch(&loop_);
  std::string after_loop;
  in_turn([&] {
    logger_->info("connect from 192.0.2.1");
    logger_->info("starttls");
    logger_->info("disconnect");
  });
  EXPECT_EQ(seen_in_turn_, "") << "lines must wait for the end of the turn";
  EXPECT_EQ(drain(), "info connect from 192.0.2.1\ninfo starttls\ninfo disconnect\n");
  EXPECT_EQ(chunks_.size(), 1u) << "one write for the three lines";
  batch.close();
  uv_run(&loop_, UV_RUN_DEFAULT);
}

TEST_F(LogOutputTest, ErrorsAreWrittenAtOnceWithWhatWasGatheredBefore) {
  LoopLogBatch batch(&loop_);
  in_turn([&] {
    logger_->info("before");
    logger_->error("cannot accept connections");
  });
  EXPECT_EQ(seen_in_turn_, "info before\nerror cannot accept connections\n");
  batch.close();
  uv_run(&loop_, UV_RUN_DEFAULT);
}

TEST_F(LogOutputTest, WritesCarryWholeLinesAndAtMostPipeBufBytes) {
  LoopLogBatch batch(&loop_);
  std::string line(100, 'x');
  in_turn([&] {
    for (int i = 0; i < 200; ++i) logger_->info("{} {}", i, line);
  });
  // Past the batch size lines leave during the turn (at most PIPE_BUF at a time), the rest at its end.
  std::string all = seen_in_turn_ + drain();
  std::string expected;
  for (int i = 0; i < 200; ++i) expected += "info " + std::to_string(i) + " " + line + "\n";
  EXPECT_TRUE(all == expected) << all.size() << " bytes, expected " << expected.size();
  EXPECT_GT(chunks_.size(), 4u);
  for (std::size_t c : chunks_) EXPECT_LE(c, static_cast<std::size_t>(PIPE_BUF));
  batch.close();
  uv_run(&loop_, UV_RUN_DEFAULT);
}

TEST_F(LogOutputTest, ALineLongerThanPipeBufIsWrittenWhole) {
  LoopLogBatch batch(&loop_);
  std::string huge(3 * PIPE_BUF, 'y');
  in_turn([&] {
    logger_->info("short");
    logger_->info("{}", huge);
    logger_->info("after");
  });
  std::string all = seen_in_turn_ + drain();
  EXPECT_TRUE(all == "info short\ninfo " + huge + "\ninfo after\n") << all.size() << " bytes";
  batch.close();
  uv_run(&loop_, UV_RUN_DEFAULT);
}

TEST_F(LogOutputTest, CloseWritesWhatIsLeftAndTheLoopCanEnd) {
  auto batch = std::make_unique<LoopLogBatch>(&loop_);
  logger_->info("logged outside any turn");
  EXPECT_EQ(drain(), "");
  // The batch's handle does not keep the loop running: with nothing else to do uv_run returns at once,
  // without an iteration (so without a prepare phase)...
  EXPECT_EQ(uv_run(&loop_, UV_RUN_DEFAULT), 0);
  // ...and what the loop's last turns logged is written by close(), as Worker::run does after uv_run.
  logger_->info("last words");
  batch->close();
  EXPECT_EQ(drain(), "info logged outside any turn\ninfo last words\n");
  uv_run(&loop_, UV_RUN_DEFAULT);
  batch.reset();
  logger_->info("after the batch");
  EXPECT_EQ(drain(), "info after the batch\n") << "without a batch the thread writes at once again";
}

TEST_F(LogOutputTest, ThreadsKeepTheirOwnLinesWhole) {
  // Two loop threads and the test's own, logging at once: every line arrives whole and none is lost.
  auto worker = [this](char tag) {
    uv_loop_t loop;
    uv_loop_init(&loop);
    {
      LoopLogBatch batch(&loop);
      uv_timer_t timer;
      uv_timer_init(&loop, &timer);
      struct Ctx { std::shared_ptr<spdlog::logger> logger; char tag; int left; } ctx{logger_, tag, 50};
      timer.data = &ctx;
      uv_timer_start(&timer, [](uv_timer_t* t) {
        auto* c = static_cast<Ctx*>(t->data);
        for (int i = 0; i < 20; ++i) c->logger->info("{}", std::string(60, c->tag));
        if (--c->left == 0) uv_timer_stop(t);
      }, 0, 1);
      uv_run(&loop, UV_RUN_DEFAULT);
      uv_close(reinterpret_cast<uv_handle_t*>(&timer), nullptr);
      batch.close();
      uv_run(&loop, UV_RUN_DEFAULT);
    }
    uv_loop_close(&loop);
  };
  std::thread a(worker, 'a'), b(worker, 'b');
  for (int i = 0; i < 200; ++i) logger_->info("{}", std::string(60, 'm'));
  a.join();
  b.join();
  std::string all = drain();
  std::size_t lines = 0, pos = 0;
  while (pos < all.size()) {
    std::size_t end = all.find('\n', pos);
    ASSERT_NE(end, std::string::npos);
    std::string l = all.substr(pos, end - pos);
    ASSERT_EQ(l.size(), 5u + 60u) << l;
    char tag = l[5];
    EXPECT_EQ(l, "info " + std::string(60, tag));
    ++lines;
    pos = end + 1;
  }
  EXPECT_EQ(lines, 2u * 50 * 20 + 200);
}

}  // namespace
}  // namespace mxguard::app

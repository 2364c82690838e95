#include "proxy/uv/before_poll.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "proxy/uv/timer.h"

namespace mxguard::uv {
namespace {

TEST(BeforePoll, RunsOncePerIterationBeforeThePollAndDoesNotKeepTheLoopAlive) {
  uv_loop_t loop;
  ASSERT_EQ(uv_loop_init(&loop), 0);
  std::vector<std::string> seen;
  {
    BeforePoll before(&loop, [&seen] { seen.push_back("poll"); });
    int fired = 0;
    Timer timer(&loop, [&] {
      seen.push_back("timer");
      if (++fired < 3) timer.start(std::chrono::milliseconds(1));
    });
    timer.start(std::chrono::milliseconds(1));
    // Ends once the timer stops re-arming: the prepare handle alone keeps nothing running.
    uv_run(&loop, UV_RUN_DEFAULT);
    EXPECT_EQ(fired, 3);
    timer.close();
  }
  uv_run(&loop, UV_RUN_DEFAULT);   // the handles' close callbacks
  EXPECT_EQ(uv_loop_close(&loop), 0);
  // Each timer callback is followed by a call before the next poll. (Whether the first iteration polls
  // before the first timer depends on how long ago the loop last read its clock.)
  ASSERT_GE(seen.size(), 6u);
  for (std::size_t i = 0; i + 1 < seen.size(); ++i) {
    if (seen[i] == "timer") {
      EXPECT_EQ(seen[i + 1], "poll") << "after call " << i;
    }
  }
}

TEST(BeforePoll, CloseStopsTheCalls) {
  uv_loop_t loop;
  ASSERT_EQ(uv_loop_init(&loop), 0);
  int calls = 0, fired = 0;
  {
    std::optional<BeforePoll> before;
    before.emplace(&loop, [&] {
      if (++calls == 1) before->close();   // from its own call, as a loop's last turn may
    });
    Timer timer(&loop, [&] {
      if (++fired < 3) timer.start(std::chrono::milliseconds(1));
    });
    timer.start(std::chrono::milliseconds(1));
    uv_run(&loop, UV_RUN_DEFAULT);   // three more iterations after the first
    EXPECT_EQ(fired, 3);
    timer.close();
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  EXPECT_EQ(uv_loop_close(&loop), 0);
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace mxguard::uv

#include "proxy/uv/before_poll.h"

#include <gtest/gtest.h>

#include <algorithm>
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
  // Each timer callback but the last is followed by a call before the next poll. Whether a poll comes
  // first, and whether one follows the last timer, depends on the loop's clock and on libuv's version
  // (1.45 runs due timers after the poll).
  EXPECT_EQ(std::count(seen.begin(), seen.end(), "timer"), 3);
  EXPECT_GE(std::count(seen.begin(), seen.end(), "poll"), 2);
  std::size_t last_timer = std::find(seen.rbegin(), seen.rend(), "timer").base() - seen.begin() - 1;
  for (std::size_t i = 0; i < last_timer; ++i) {
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
    uv_run(&loop, UV_RUN_DEFAULT);   // several iterations: the timer fires three times
    EXPECT_EQ(fired, 3);
    timer.close();
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  EXPECT_EQ(uv_loop_close(&loop), 0);
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace mxguard::uv

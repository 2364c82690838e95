#pragma once
// The process's log output: one line per event on stderr (journald and container runtimes collect it).
//
// At log_level "info" an inbound session logs 3-4 lines, and each used to be its own write(2) under the
// sink's mutex, which every worker thread shares: per session, several system calls and a lock that all
// workers take. A worker thread instead gathers its lines and writes them when its loop is about to poll
// (a uv_prepare_t: nothing is held past the turn that logged it, and the loop never blocks with lines
// unwritten), so under load the lines of many sessions leave in one write, and workers share nothing.
//
// Lines from one write never interleave with another thread's on a pipe: a write carries whole lines and
// at most PIPE_BUF bytes (POSIX makes such writes atomic), unless a single line is longer. Lines at level
// error and above are written at once, as are the lines of threads without a loop batch (the main thread).
#include <spdlog/sinks/sink.h>
#include <uv.h>

#include <memory>

#include "proxy/uv/before_poll.h"

namespace mxguard::app {

// The sink for the default logger. `fd` is where lines go (stderr; a pipe in tests).
std::shared_ptr<spdlog::sinks::sink> make_log_output(int fd = 2);

// While it exists, the lines the calling thread logs wait for `loop`'s next poll (or its own end). Create
// it on the loop's thread before uv_run; it does not keep the loop alive. close() writes what is left and
// closes the handle (the loop must run once more for it); the destructor does both if close() was not called.
class LoopLogBatch {
 public:
  explicit LoopLogBatch(uv_loop_t* loop);
  ~LoopLogBatch();
  LoopLogBatch(const LoopLogBatch&) = delete;
  LoopLogBatch& operator=(const LoopLogBatch&) = delete;

  void close();

 private:
  uv::BeforePoll before_poll_;
  bool closed_ = false;
};

}  // namespace mxguard::app

#pragma once
// The mxguard that takes over on SIGUSR2 (deploy/README.md, "Restarting without refusing mail"): the same
// executable and configuration file started as a new process that inherits every listening socket (fds
// 3.., MXGUARD_LISTEN_FDS) and a channel (MXGUARD_READY_FD) on which it says "ready" once its own
// listeners run. Only then does this process stop accepting: the sockets are never closed, so no
// connection is refused and none in an accept queue is reset. If the new process fails first (a broken
// configuration, say), this one simply goes on.
#include <uv.h>

#include <functional>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "proxy/uv/handle.h"
#include "proxy/uv/timer.h"

namespace mxguard::app {

class Successor {
 public:
  struct Hooks {
    std::function<void(int pid)> ready;                  // the new process serves the listeners
    std::function<void(const std::string& why)> failed;  // it ended (or fell silent) before that
  };

  // Starts `argv` (argv[0]: the executable) in a session of its own, stdout and stderr shared with ours.
  // Not ready within `patience`: it is sent SIGTERM and counts as failed. Error: why it could not be
  // started (no hook is called then).
  static std::variant<std::unique_ptr<Successor>, std::string> start(uv_loop_t* loop, std::vector<std::string> argv,
                                                                    const std::vector<int>& listen_fds,
                                                                    std::chrono::seconds patience, Hooks hooks);
  ~Successor();
  Successor(const Successor&) = delete;
  Successor& operator=(const Successor&) = delete;

  int pid() const { return pid_; }
  bool settled() const { return settled_; }
  // Lets go of the process (it lives on) and the channel; call before the loop ends.
  void close();

 private:
  Successor(uv_loop_t* loop, Hooks hooks);
  void on_bytes(std::string_view bytes);
  void fail(const std::string& why);

  Hooks hooks_;
  uv::Handle<uv_process_t> process_;
  uv::Handle<uv_pipe_t> channel_;
  uv::Timer patience_;
  std::string heard_;
  int pid_ = 0;
  bool settled_ = false;   // ready or failed was reported
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);   // callbacks after close() find false
};

}  // namespace mxguard::app

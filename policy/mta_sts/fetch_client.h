#pragma once
// The proxy's side of the fetch protocol: one mxguard-fetch child per worker loop, started on demand,
// supervised, and spoken to over the socketpair libuv creates for its stdin (policy/fetcher/protocol.h).
//
// Supervision: when the child exits, is killed, hangs (no answer within a request's own total timeout
// plus a grace) or sends bytes that are not the protocol, every fetch in flight fails with
// Outcome::Failed ("mxguard-fetch ..."), never as an HTTP answer, so the policy engine treats it as a
// fetch error and a cached policy stays in force. The next request starts a new child, no sooner than
// a backoff that doubles from 1 s to 60 s while the child keeps dying young; a request made during the
// backoff fails at once.
//
// Callbacks run on the loop, never inside fetch(), at most once, and never after their Ticket was
// cancelled or destroyed. They must not throw.
#include <uv.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "policy/libuv/deferred_calls.h"
#include "policy/libuv/handle.h"
#include "policy/fetcher/protocol.h"
#include "policy/mta_sts/ticket.h"

namespace mxguard::mta_sts {

struct FetcherOptions {
  std::string executable;              // mxguard-fetch's path
  std::vector<std::string> arguments;  // after argv[0]
  std::chrono::milliseconds first_backoff{1000};
  std::chrono::milliseconds max_backoff{60000};
  std::chrono::milliseconds answer_grace{5000};   // beyond a request's total timeout: the child is hung
};

// Cancels the fetch's callback when destroyed or cancelled (the transfer itself runs to its end).
using FetchTicket = Ticket<fetch::Answer>;

class FetchClient {
 public:
  using Callback = std::function<void(fetch::Answer)>;
  using LogFn = std::function<void(const std::string& line)>;

  FetchClient(uv_loop_t* loop, FetcherOptions options, LogFn log);
  ~FetchClient();
  FetchClient(const FetchClient&) = delete;
  FetchClient& operator=(const FetchClient&) = delete;

  // request.id is assigned here.
  FetchTicket fetch(fetch::Request request, Callback callback);

  bool running() const { return child_ != nullptr; }
  std::uint64_t starts() const { return starts_; }   // children started so far (restarts = starts - 1)
  std::size_t in_flight() const { return pending_.size(); }

 private:
  struct Pending {
    std::shared_ptr<Callback> callback;
    std::chrono::steady_clock::time_point deadline;
  };
  struct Child;

  bool start_child();
  void child_gone(const std::string& why, bool dead_young);
  void kill_child(const std::string& why);
  void on_bytes(const char* data, std::size_t size);
  void on_answer(fetch::Answer answer);
  void finish(std::shared_ptr<Callback> callback, fetch::Answer answer);
  void rearm_deadline();
  // Answers `callback` with `answer` on a later loop turn (a failure found inside fetch() or the loss of
  // the child): callbacks never run inside fetch(), and the child's loss is handled before any runs.
  void post_answer(std::shared_ptr<Callback> callback, fetch::Answer answer);

  static void on_exit(uv_process_t* process, std::int64_t status, int signal) noexcept;
  static void on_alloc(uv_handle_t* handle, std::size_t suggested, uv_buf_t* buf) noexcept;
  static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept;
  static void on_deadline(uv_timer_t* timer) noexcept;

  uv_loop_t* loop_;
  FetcherOptions options_;
  LogFn log_;
  std::unique_ptr<Child> child_;
  std::list<std::unique_ptr<Child>> retired_;   // let go, their exit not reported yet
  std::map<std::uint32_t, Pending> pending_;
  std::uint32_t next_id_ = 1;
  std::uint64_t starts_ = 0;
  std::chrono::milliseconds backoff_{0};
  std::chrono::steady_clock::time_point not_before_{};
  libuv::Handle<uv_timer_t> deadline_timer_;
  libuv::DeferredCalls posted_;
};

}  // namespace mxguard::mta_sts

#pragma once
// libcurl's multi-socket interface driven by a libuv loop: curl says which sockets to watch and when to
// wake it (CURLMOPT_SOCKETFUNCTION, CURLMOPT_TIMERFUNCTION); libuv watches them (one uv_poll per socket,
// one uv_timer) and hands each event back to curl_multi_socket_action. Everything runs on the loop's
// thread.
//
// Ownership: the caller owns every easy handle it adds and must keep it alive until its on_done has
// run or it was removed. The CurlMultiLoop owns the multi handle and the libuv handles; destroying it
// closes them (the loop must run once more for their close callbacks before uv_loop_close succeeds).
//
// Callbacks: on_done runs once for each transfer that ends by itself, never for one that was removed,
// always from a libuv callback and never from inside curl: by then the easy handle has left the multi
// handle, so on_done may destroy it, add other transfers or remove them, but not destroy the
// CurlMultiLoop itself (stop the loop and destroy it after uv_run returns). It must not throw (it runs
// below a C callback).
#include <curl/curl.h>
#include <uv.h>

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "policy/libuv/handle.h"

namespace mxguard::fetch {

class CurlMultiLoop {
 public:
  using OnDone = std::function<void(CURL* easy, CURLcode result)>;

  // nullptr (and why, in `error`) when curl or libuv cannot set up.
  static std::unique_ptr<CurlMultiLoop> create(uv_loop_t* loop, OnDone on_done, std::string& error);
  struct Key {   // only create() constructs one
    explicit Key() = default;
  };
  CurlMultiLoop(Key, uv_loop_t* loop, OnDone on_done) : loop_(loop), on_done_(std::move(on_done)) {}
  ~CurlMultiLoop();
  CurlMultiLoop(const CurlMultiLoop&) = delete;
  CurlMultiLoop& operator=(const CurlMultiLoop&) = delete;

  // Starts the transfer (curl begins on the next loop iteration). "" or why it could not be added.
  std::string add(CURL* easy);
  // Stops a transfer that is still running (anything else is ignored); its on_done never runs.
  void remove(CURL* easy);
  std::size_t running() const { return added_.size(); }

 private:
  struct MultiCleanup {
    void operator()(CURLM* multi) const { curl_multi_cleanup(multi); }
  };

  static int on_socket(CURL* easy, curl_socket_t fd, int what, void* self, void* socket_data) noexcept;
  static int on_timer(CURLM* multi, long timeout_ms, void* self) noexcept;
  int watch(curl_socket_t fd, int what, void* socket_data);
  void act(curl_socket_t fd, int events);
  void report_done();

  uv_loop_t* loop_;
  OnDone on_done_;
  std::unordered_set<CURL*> added_;
  // Declared before multi_ so that they outlive it: curl_multi_cleanup still calls on_socket/on_timer.
  libuv::Handle<uv_timer_t> timer_;
  std::unordered_map<curl_socket_t, libuv::Handle<uv_poll_t>> polls_;
  std::unique_ptr<CURLM, MultiCleanup> multi_;
};

}  // namespace mxguard::fetch

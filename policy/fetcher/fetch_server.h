#pragma once
// mxguard-fetch's one job: read Requests from the socket mxguard gave it (fd 0), fetch each policy, and
// write one Answer per Request (same id), in the order the fetches finish.
//
// - At most one transfer per domain at a time: a request that asks the same question as one already
//   waiting or running for its domain (same_question: everything but the id) shares its transfer and
//   gets the same answer under its own id; a different question for that domain waits its turn.
// - At most Options::max_transfers transfers at once; the rest wait in arrival order.
// - Never blocks: the socket is a non-blocking uv_pipe; answers queue in memory until written.
// - Ends by stopping the loop (uv_stop) with an exit status: 0 when mxguard closed its end (EOF, or a
//   reset), 2 on a protocol error (a broken frame, an Answer sent to us, a request violation), 1 when
//   the socket fails otherwise. Transfers still running are cancelled when the FetchServer is destroyed,
//   which the caller does right after uv_run returns.
#include <uv.h>

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "policy/libuv/handle.h"
#include "policy/fetcher/curl_multi_loop.h"
#include "policy/fetcher/protocol.h"
#include "policy/fetcher/transfer.h"

namespace mxguard::fetch {

constexpr int kExitPeerGone = 0;
constexpr int kExitFailure = 1;
constexpr int kExitProtocolError = 2;

class FetchServer {
 public:
  struct Options {
    std::size_t max_transfers = 64;
    std::string user_agent = "mxguard-fetch";
  };

  // Takes `fd` (a connected stream socket) onto `loop`; nullptr (and why, in `error`) if it cannot.
  // Nothing is read until start().
  static std::unique_ptr<FetchServer> create(uv_loop_t* loop, int fd, Options options, std::string& error);
  struct Key {   // only create() constructs one
    explicit Key() = default;
  };
  FetchServer(Key, uv_loop_t* loop, Options options) : loop_(loop), options_(std::move(options)) {}
  ~FetchServer();
  FetchServer(const FetchServer&) = delete;
  FetchServer& operator=(const FetchServer&) = delete;

  // Starts reading requests. "" or why reading cannot start.
  std::string start();
  // Once uv_run has returned: the process's exit status (see above).
  int exit_status() const { return exit_status_; }

 private:
  // One question for one domain and every id that asked it.
  struct Job {
    Request request;
    std::vector<std::uint32_t> ids;
    std::unique_ptr<Transfer> transfer;   // set while it runs
  };
  struct PendingWrite {
    uv_write_t request;
    FetchServer* server = nullptr;
    std::string bytes;
  };

  void on_read(ssize_t nread, const uv_buf_t* buf);
  void on_request(Request request);
  void start_ready();
  void on_transfer_done(CURL* easy, CURLcode result);
  void finish_front(const std::string& key, Answer answer);
  void send(const Answer& answer);
  void write_failed(int status);
  void stop(int status, std::string_view why);
  void cancel_all();

  uv_loop_t* loop_;
  Options options_;
  libuv::Handle<uv_pipe_t> pipe_;
  std::array<char, 64 * 1024> read_buffer_{};
  FrameReader reader_;
  bool stopping_ = false;
  int exit_status_ = kExitPeerGone;

  // Keyed by the lower-case domain. A domain's front job is running or waiting in ready_; the jobs
  // behind it wait for it to finish.
  std::unordered_map<std::string, std::deque<Job>> domains_;
  std::deque<std::string> ready_;   // domains whose front job waits for a transfer slot
  std::unordered_map<CURL*, std::string> running_;   // easy handle -> its domain's key
  std::unordered_set<std::uint32_t> ids_in_flight_;
  std::unique_ptr<CurlMultiLoop> multi_;
};

}  // namespace mxguard::fetch

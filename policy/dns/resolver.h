#pragma once
// The DNS resolver of one worker loop: MX, A+AAAA, TXT and TLSA lookups on a c-ares channel that libuv drives
// (one uv_poll per socket c-ares opens, one uv_timer for c-ares's retransmission timeouts). Everything
// runs on the loop's thread; a Resolver must be created, used and destroyed there.
//
// Callbacks: each query's callback runs at most once, from the loop (a zero-delay timer), never from
// inside query_*() and never from inside c-ares, so a callback may start new queries, cancel others or
// destroy the Resolver itself. A callback must not throw (it runs below a C callback; throwing
// terminates the process).
//
// Cancellation: every query_*() returns a Query. Destroying it or calling cancel() guarantees that the
// callback never runs, and destroys the callback (and what it captured) at once; the DNS exchange
// itself runs on to its answer or timeout, because c-ares can only cancel a whole channel. Destroying
// the Resolver cancels everything the same way; Query tokens may outlive it.
//
// The AD bit: queries are sent with the AD bit set in the header. RFC 6840 §5.7 makes that the way a
// stub asks a validating resolver for it, and unbound (which validates) clears AD in its answer unless
// the query had AD or the EDNS DO bit. DO is not set: it would make the resolver add RRSIGs that mxguard
// does not read. EDNS(0) is on with a 1232-byte payload (no fragmentation on common paths); answers
// larger than that are retried over TCP by c-ares.
#include <ares.h>
#include <uv.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

#include "policy/dns/records.h"
#include "policy/libuv/deferred_calls.h"
#include "policy/libuv/handle.h"

namespace mxguard::dns {

// One upstream DNS server: an IPv4 or IPv6 literal (no brackets) and its port ([dns] servers).
struct Server {
  std::string address;
  std::uint16_t port = 53;

  friend bool operator==(const Server&, const Server&) = default;
};

struct Options {
  // How long c-ares waits for the first answer from a server. After every round over all servers the
  // wait doubles, so one server with tries = 2 gives up after timeout + 2 * timeout.
  std::chrono::milliseconds timeout{2000};
  int tries = 2;   // rounds over the server list before a query is Temporary
};

namespace detail {

// What a Query token can reach: the callback of one lookup, shared with the DNS exchange(s) in flight.
class PendingBase {
 public:
  virtual ~PendingBase() = default;
  virtual void cancel() = 0;
  virtual bool waiting() const = 0;
};

template <typename R>
class Pending : public PendingBase {
 public:
  explicit Pending(std::function<void(R)> callback) : callback_(std::move(callback)) {}
  // The callback is swapped out before it is destroyed or run, so that a capture whose destructor (or
  // a callback that) cancels this very query finds nothing left to cancel.
  void cancel() override {
    std::function<void(R)> doomed;
    doomed.swap(callback_);
  }
  bool waiting() const override { return static_cast<bool>(callback_); }
  void deliver(R result) {
    std::function<void(R)> callback;
    callback.swap(callback_);
    if (callback) callback(std::move(result));
  }

 private:
  std::function<void(R)> callback_;
};

}  // namespace detail

// A lookup's cancellation token. Move-only; assigning to a Query cancels the lookup it held.
class [[nodiscard]] Query {
 public:
  Query() = default;
  Query(Query&&) noexcept = default;
  Query& operator=(Query&& other) noexcept {
    if (this != &other) {
      cancel();
      pending_ = std::move(other.pending_);
    }
    return *this;
  }
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;
  ~Query() { cancel(); }

  // The callback will not run. Idempotent; harmless after the callback ran or the Resolver is gone.
  void cancel();
  // True until the callback has run or the query was cancelled.
  bool pending() const;

 private:
  friend class Resolver;
  explicit Query(std::weak_ptr<detail::PendingBase> pending) : pending_(std::move(pending)) {}
  std::weak_ptr<detail::PendingBase> pending_;
};

class Resolver {
  struct Key {
    explicit Key() = default;
  };

 public:
  using MxCallback = std::function<void(MxResult)>;
  using AddressCallback = std::function<void(AddressResult)>;
  using TxtCallback = std::function<void(TxtResult)>;
  using TlsaCallback = std::function<void(TlsaResult)>;

  // `servers` empty: the name servers of /etc/resolv.conf (c-ares falls back to 127.0.0.1:53 without
  // one). Fails, with a message naming the problem, on an address that is not an IP literal, on options
  // out of range, or when c-ares cannot set up its channel.
  static std::variant<std::unique_ptr<Resolver>, std::string> create(uv_loop_t* loop,
                                                                     const std::vector<Server>& servers,
                                                                     const Options& options = {});

  Resolver(Key, uv_loop_t* loop);   // only through create()
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // MX records of `domain` (no search list, no implicit MX: see mx_plan.h for what they mean).
  Query query_mx(std::string_view domain, MxCallback callback);
  // A and AAAA of `host`, asked at once and answered as one result (see combine_addresses).
  Query query_addresses(std::string_view host, AddressCallback callback);
  // TXT records of `name`; CNAMEs are followed by the recursive server.
  Query query_txt(std::string_view name, TxtCallback callback);
  // TLSA records of an SMTP server (DANE, RFC 7672 §2.2.3): "_<port>._tcp.<host>", the port being the one
  // connected to (25 on the internet). The answer is read by parse_tlsa_answer.
  Query query_tlsa(std::string_view host, std::uint16_t port, TlsaCallback callback);

  // Names are asked as given (a trailing dot is optional). A name that is empty, longer than 253
  // characters, has an empty label or a label over 63, or contains bytes outside printable ASCII, a
  // space or a backslash, is not sent: its callback gets Malformed.

  // The servers the channel asks, in order (for the log at start).
  std::vector<Server> servers() const;
  // DNS exchanges c-ares still holds, cancelled ones included (tests, metrics).
  std::size_t in_flight() const { return in_flight_; }

 private:
  // Parses a raw answer and posts the result; runs inside c-ares's callback, so it never runs user code.
  using AnswerHandler = std::function<void(int ares_status, std::span<const unsigned char> answer)>;
  struct Request;

  void send(std::string_view name, int qtype, AnswerHandler handler);
  void rearm_timeout();
  std::uint16_t new_query_id();

  static void on_answer(void* arg, int status, int timeouts, unsigned char* abuf, int alen) noexcept;
  static void on_sock_state(void* data, ares_socket_t fd, int readable, int writable) noexcept;
  static void on_poll(uv_poll_t* poll, int status, int events) noexcept;
  static void on_timeout(uv_timer_t* timer) noexcept;

  uv_loop_t* loop_;
  ares_channel channel_ = nullptr;
  libuv::Handle<uv_timer_t> timeout_timer_;   // c-ares's next retransmission or give-up
  std::unordered_map<ares_socket_t, libuv::Handle<uv_poll_t>> polls_;   // by socket, as c-ares opens and closes them
  libuv::DeferredCalls completions_;   // the callbacks of completed queries, on a later loop turn
  std::unordered_set<std::uint16_t> ids_in_flight_;
  std::size_t in_flight_ = 0;
  bool destroying_ = false;
};

}  // namespace mxguard::dns

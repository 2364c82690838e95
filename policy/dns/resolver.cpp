#include "policy/dns/resolver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>   // arc4random_uniform (glibc 2.36)

#include <algorithm>
#include <optional>

#include "policy/dns/answer.h"
#include "policy/dns/tlsa_answer.h"

namespace mxguard::dns {

namespace {

constexpr int kClassIn = 1;
constexpr int kTypeA = 1;
constexpr int kTypeMx = 15;
constexpr int kTypeTxt = 16;
constexpr int kTypeAaaa = 28;
constexpr int kTypeTlsa = 52;
// The EDNS payload size of DNS flag day 2020: no IP fragmentation on common paths.
constexpr int kEdnsPayload = 1232;
// c-ares asks one server over one UDP socket. Answers to a burst of queries (many sessions reaching
// RCPT in one loop turn) queue in that socket while the loop is busy; the default buffer holds about
// 250 of them and the kernel drops the rest, which c-ares re-asks only after its timeout. The kernel
// caps this at net.core.rmem_max.
constexpr int kSocketReceiveBuffer = 1 << 20;

// Names that are not sent: c-ares would read a backslash as an escape (asking for some other name),
// and nothing mxguard looks up has a space or a control byte in it.
bool askable(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty() || name.size() > 253) return false;
  std::size_t label = 0;
  for (char c : name) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    if (c <= ' ' || c > '~' || c == '\\') return false;
    if (++label > 63) return false;
  }
  return label > 0;
}

struct AresFree {
  void operator()(unsigned char* p) const { ares_free_string(p); }
};

struct AresDataFree {
  void operator()(ares_addr_port_node* p) const { ares_free_data(p); }
};

}  // namespace

void Query::cancel() {
  if (auto p = pending_.lock()) p->cancel();
  pending_.reset();
}

bool Query::pending() const {
  auto p = pending_.lock();
  return p && p->waiting();
}

// c-ares's `arg` for one ares_send: owned by c-ares from ares_send until its callback, which always
// runs (answer, give-up, or ARES_EDESTRUCTION from ares_destroy) and takes the ownership back.
struct Resolver::Request {
  Resolver* resolver;
  std::uint16_t id;
  AnswerHandler handler;
};

std::variant<std::unique_ptr<Resolver>, std::string> Resolver::create(uv_loop_t* loop,
                                                                      const std::vector<Server>& servers,
                                                                      const Options& options) {
  // ares_library_init is reference-counted without a lock in 1.18.1: run it once per process (thread-
  // safe static initialisation) and never clean up, rather than race between workers.
  static const int library = ares_library_init(ARES_LIB_INIT_ALL);
  if (library != ARES_SUCCESS) return std::string("c-ares: ") + ares_strerror(library);
  if (options.timeout.count() < 1 || options.timeout.count() > 60000) {
    return std::string("dns: the timeout must be between 1 ms and 60 s");
  }
  if (options.tries < 1 || options.tries > 10) return std::string("dns: tries must be between 1 and 10");

  std::vector<ares_addr_port_node> nodes(servers.size());
  for (std::size_t i = 0; i < servers.size(); ++i) {
    ares_addr_port_node& n = nodes[i];
    const Server& s = servers[i];
    if (inet_pton(AF_INET, s.address.c_str(), &n.addr.addr4) == 1) {
      n.family = AF_INET;
    } else if (inet_pton(AF_INET6, s.address.c_str(), &n.addr.addr6) == 1) {
      n.family = AF_INET6;
    } else {
      return "dns: server \"" + s.address + "\" is not an IPv4 or IPv6 address";
    }
    if (s.port == 0) return "dns: server \"" + s.address + "\" has port 0";
    n.udp_port = n.tcp_port = s.port;
    n.next = i + 1 < nodes.size() ? &nodes[i + 1] : nullptr;
  }

  auto self = std::make_unique<Resolver>(Key{}, loop);
  if (int rc = uv_timer_init(loop, self->timeout_timer_.get()); rc != 0) return std::string("dns: ") + uv_strerror(rc);
  self->timeout_timer_.mark_initialized();
  self->timeout_timer_.get()->data = self.get();

  ares_options opts{};
  opts.flags = ARES_FLAG_EDNS;   // also tells c-ares that answers up to kEdnsPayload fit in UDP
  opts.ednspsz = kEdnsPayload;
  opts.timeout = static_cast<int>(options.timeout.count());
  opts.tries = options.tries;
  opts.socket_receive_buffer_size = kSocketReceiveBuffer;
  opts.sock_state_cb = &Resolver::on_sock_state;
  opts.sock_state_cb_data = self.get();
  const int mask = ARES_OPT_FLAGS | ARES_OPT_EDNSPSZ | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB |
                   ARES_OPT_SOCK_RCVBUF;
  if (int rc = ares_init_options(&self->channel_, &opts, mask); rc != ARES_SUCCESS) {
    self->channel_ = nullptr;
    return std::string("c-ares: ") + ares_strerror(rc);
  }
  if (!nodes.empty()) {
    if (int rc = ares_set_servers_ports(self->channel_, nodes.data()); rc != ARES_SUCCESS) {
      return std::string("c-ares: cannot set the servers: ") + ares_strerror(rc);
    }
  }
  return self;
}

Resolver::Resolver(Key, uv_loop_t* loop) : loop_(loop), completions_(loop) {}

Resolver::~Resolver() {
  destroying_ = true;
  // First c-ares: it calls every request's callback with ARES_EDESTRUCTION (each frees its Request and
  // posts nothing) and reports each socket closed through on_sock_state, which closes its poll handle
  // while the descriptor is still open. Then the results not yet delivered go, unrun (those of a turn
  // under way too, when a callback destroys the Resolver). The timers and any poll handle left close as
  // members; libuv frees them on the loop's next iteration.
  if (channel_ != nullptr) ares_destroy(channel_);
  channel_ = nullptr;
  completions_.clear();
  polls_.clear();
}

Query Resolver::query_mx(std::string_view domain, MxCallback callback) {
  if (destroying_) return {};
  auto pending = std::make_shared<detail::Pending<MxResult>>(std::move(callback));
  send(domain, kTypeMx, [this, pending](int status, std::span<const unsigned char> answer) {
    if (!pending->waiting()) return;
    completions_.post([pending, result = parse_mx_answer(status, answer)]() mutable {
      pending->deliver(std::move(result));
    });
  });
  return Query(pending);
}

Query Resolver::query_txt(std::string_view name, TxtCallback callback) {
  if (destroying_) return {};
  auto pending = std::make_shared<detail::Pending<TxtResult>>(std::move(callback));
  send(name, kTypeTxt, [this, pending](int status, std::span<const unsigned char> answer) {
    if (!pending->waiting()) return;
    completions_.post([pending, result = parse_txt_answer(status, answer)]() mutable {
      pending->deliver(std::move(result));
    });
  });
  return Query(pending);
}

Query Resolver::query_tlsa(std::string_view host, std::uint16_t port, TlsaCallback callback) {
  if (destroying_) return {};
  auto pending = std::make_shared<detail::Pending<TlsaResult>>(std::move(callback));
  send(policy::tlsa_owner_name(host, port), kTypeTlsa, [this, pending](int status, std::span<const unsigned char> answer) {
    if (!pending->waiting()) return;
    completions_.post([pending, result = parse_tlsa_answer(status, answer)]() mutable {
      pending->deliver(std::move(result));
    });
  });
  return Query(pending);
}

namespace {
// The two halves of one address lookup; the result is posted when both are in.
class AddressPending : public detail::Pending<AddressResult> {
 public:
  using Pending::Pending;
  std::optional<AddressResult> v6, v4;
};
}  // namespace

Query Resolver::query_addresses(std::string_view host, AddressCallback callback) {
  if (destroying_) return {};
  auto pending = std::make_shared<AddressPending>(std::move(callback));
  auto half = [this, pending](int family) {
    return [this, pending, family](int status, std::span<const unsigned char> answer) {
      if (!pending->waiting()) return;
      (family == AF_INET6 ? pending->v6 : pending->v4) = parse_address_answer(status, answer, family);
      if (!pending->v6 || !pending->v4) return;
      completions_.post([pending, result = combine_addresses(*pending->v6, *pending->v4)]() mutable {
        pending->deliver(std::move(result));
      });
    };
  };
  send(host, kTypeAaaa, half(AF_INET6));
  send(host, kTypeA, half(AF_INET));
  return Query(pending);
}

void Resolver::send(std::string_view name, int qtype, AnswerHandler handler) {
  // Every failure goes through the handler, which only posts: the caller's callback runs later.
  if (!askable(name)) return handler(ARES_EBADNAME, {});
  const std::uint16_t id = new_query_id();
  unsigned char* raw = nullptr;
  int length = 0;
  const std::string name_z(name);
  const int rc = ares_create_query(name_z.c_str(), kClassIn, qtype, id, /*rd=*/1, &raw, &length, kEdnsPayload);
  std::unique_ptr<unsigned char, AresFree> query(raw);
  if (rc != ARES_SUCCESS) return handler(rc, {});   // EBADNAME, or ENOTFOUND for .onion (RFC 7686)
  query.get()[3] |= 0x20;   // AD: ask a validating resolver to report validation (RFC 6840 §5.7)

  auto request = std::make_unique<Request>(Request{this, id, std::move(handler)});
  ids_in_flight_.insert(id);
  ++in_flight_;
  // c-ares copies the query; it may call on_answer before returning (out of memory): that is fine,
  // on_answer only posts.
  ares_send(channel_, query.get(), length, &Resolver::on_answer, request.release());
  rearm_timeout();
}

// ares_send in 1.18.1 sends the ID it is given (only ares_query picks one). The ID and the source port
// are what stops off-path answer forgery, so it comes from the system's CSPRNG, and it must not be
// one already in flight: c-ares matches answers by ID and question, and a clash would drop one answer.
std::uint16_t Resolver::new_query_id() {
  for (;;) {
    auto id = static_cast<std::uint16_t>(arc4random_uniform(65536));
    if (!ids_in_flight_.contains(id)) return id;
  }
}

void Resolver::on_answer(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) noexcept {
  std::unique_ptr<Request> request(static_cast<Request*>(arg));
  if (status == ARES_EDESTRUCTION) return;   // ~Resolver is running: nothing is posted or delivered
  Resolver& self = *request->resolver;
  self.ids_in_flight_.erase(request->id);
  --self.in_flight_;
  request->handler(status, std::span<const unsigned char>(abuf, abuf != nullptr && alen > 0 ? alen : 0));
}

void Resolver::rearm_timeout() {
  if (channel_ == nullptr) return;
  timeval tv{};
  timeval* next = ares_timeout(channel_, nullptr, &tv);
  if (next == nullptr) {
    uv_timer_stop(timeout_timer_.get());
    return;
  }
  // Round up: a timer that fires a fraction of a millisecond early finds nothing expired and spins.
  const auto ms = static_cast<std::uint64_t>(next->tv_sec) * 1000 +
                  static_cast<std::uint64_t>(next->tv_usec + 999) / 1000;
  uv_timer_start(timeout_timer_.get(), &Resolver::on_timeout, ms, 0);
}

void Resolver::on_timeout(uv_timer_t* timer) noexcept {
  auto* self = static_cast<Resolver*>(timer->data);
  ares_process_fd(self->channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
  self->rearm_timeout();
}

void Resolver::on_sock_state(void* data, ares_socket_t fd, int readable, int writable) noexcept {
  auto* self = static_cast<Resolver*>(data);
  if (readable == 0 && writable == 0) {
    self->polls_.erase(fd);   // c-ares closes the socket right after this: stop polling it first
    return;
  }
  auto it = self->polls_.find(fd);
  if (it == self->polls_.end()) {
    libuv::Handle<uv_poll_t> poll;
    // Should libuv refuse the socket, c-ares never hears from it and the query ends Temporary on its
    // timeout: slower, never wrong.
    if (uv_poll_init_socket(self->loop_, poll.get(), fd) != 0) return;
    poll.mark_initialized();
    poll.get()->data = self;
    it = self->polls_.emplace(fd, std::move(poll)).first;
  }
  const int events = (readable != 0 ? UV_READABLE : 0) | (writable != 0 ? UV_WRITABLE : 0);
  uv_poll_start(it->second.get(), events, &Resolver::on_poll);
}

void Resolver::on_poll(uv_poll_t* poll, int status, int events) noexcept {
  auto* self = static_cast<Resolver*>(poll->data);
  uv_os_fd_t fd = -1;
  if (uv_fileno(reinterpret_cast<uv_handle_t*>(poll), &fd) != 0) return;
  // An error on the socket: let c-ares read and write it, so that it sees the error and moves on.
  const bool failed = status < 0;
  const bool readable = failed || (events & (UV_READABLE | UV_DISCONNECT)) != 0;
  const bool writable = failed || (events & UV_WRITABLE) != 0;
  ares_process_fd(self->channel_, readable ? fd : ARES_SOCKET_BAD, writable ? fd : ARES_SOCKET_BAD);
  self->rearm_timeout();
}

std::vector<Server> Resolver::servers() const {
  std::vector<Server> out;
  ares_addr_port_node* head = nullptr;
  if (channel_ == nullptr || ares_get_servers_ports(channel_, &head) != ARES_SUCCESS) return out;
  std::unique_ptr<ares_addr_port_node, AresDataFree> owned(head);
  for (auto* n = head; n != nullptr; n = n->next) {
    char text[INET6_ADDRSTRLEN] = {};
    inet_ntop(n->family, n->family == AF_INET ? static_cast<const void*>(&n->addr.addr4) : &n->addr.addr6, text,
              sizeof text);
    out.push_back({text, static_cast<std::uint16_t>(n->udp_port != 0 ? n->udp_port : 53)});
  }
  return out;
}

}  // namespace mxguard::dns

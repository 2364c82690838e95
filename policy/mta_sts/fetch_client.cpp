#include "policy/mta_sts/fetch_client.h"

#include <csignal>

namespace mxguard::mta_sts {
namespace {

using SteadyClock = std::chrono::steady_clock;

// A child that has lived this long did not die young: its successor starts without a backoff.
constexpr std::chrono::seconds kHealthyLifetime{60};

struct WriteRequest {
  uv_write_t req{};
  std::string bytes;
};

fetch::Answer failure(std::uint32_t id, std::string detail) {
  fetch::Answer a;
  a.id = id;
  a.outcome = fetch::Outcome::Failed;
  a.detail = std::move(detail);
  return a;
}

}  // namespace

// One mxguard-fetch process and its end of the socketpair. Lives until libuv reports the exit, even
// after it stopped being the client's current child, because the process handle points at it.
struct FetchClient::Child {
  FetchClient* owner = nullptr;
  libuv::Handle<uv_process_t> process;
  libuv::Handle<uv_pipe_t> pipe;
  fetch::FrameReader reader;
  SteadyClock::time_point started;
  char buffer[64 * 1024];
  bool current = true;
  bool killed = false;   // by us: its exit needs no word of its own
};

FetchClient::FetchClient(uv_loop_t* loop, FetcherOptions options, LogFn log)
    : loop_(loop), options_(std::move(options)), log_(std::move(log)), posted_(loop) {
  uv_timer_init(loop_, deadline_timer_.get());
  deadline_timer_.mark_initialized();
  deadline_timer_.get()->data = this;
}

FetchClient::~FetchClient() {
  // Destroying the children closes our end of each socketpair: a child gets EOF and exits on its own
  // (its exit is no longer watched, the process ends soon after).
  child_.reset();
  retired_.clear();
}

FetchTicket FetchClient::fetch(fetch::Request request, Callback callback) {
  auto shared = std::make_shared<Callback>(std::move(callback));
  FetchTicket ticket{std::weak_ptr<Callback>(shared)};
  request.id = next_id_++;
  if (next_id_ == 0) next_id_ = 1;
  if (!child_ && !start_child()) {
    post_answer(shared, failure(request.id, "mxguard-fetch is not running (restarting)"));
    return ticket;
  }
  auto write = std::make_unique<WriteRequest>();
  write->bytes = fetch::encode(request);
  uv_buf_t buf = uv_buf_init(write->bytes.data(), static_cast<unsigned>(write->bytes.size()));
  int rc = uv_write(&write->req, reinterpret_cast<uv_stream_t*>(child_->pipe.get()), &buf, 1,
                    [](uv_write_t* req, int) { std::unique_ptr<WriteRequest> done(reinterpret_cast<WriteRequest*>(req)); });
  if (rc != 0) {
    post_answer(shared, failure(request.id, std::string("writing to mxguard-fetch: ") + uv_strerror(rc)));
    kill_child(std::string("mxguard-fetch cannot be written to: ") + uv_strerror(rc));
    return ticket;
  }
  write.release();   // libuv holds it until the write callback
  auto deadline = SteadyClock::now() + std::chrono::milliseconds(request.total_timeout_ms) + options_.answer_grace;
  pending_.emplace(request.id, Pending{shared, deadline});
  rearm_deadline();
  return ticket;
}

bool FetchClient::start_child() {
  if (SteadyClock::now() < not_before_) return false;
  auto child = std::make_unique<Child>();
  child->owner = this;
  if (uv_pipe_init(loop_, child->pipe.get(), 0) != 0) return false;
  child->pipe.mark_initialized();
  child->pipe.get()->data = child.get();

  std::vector<std::string> args;
  args.push_back(options_.executable);
  for (const auto& a : options_.arguments) args.push_back(a);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  uv_stdio_container_t stdio[3];
  stdio[0].flags = static_cast<uv_stdio_flags>(UV_CREATE_PIPE | UV_READABLE_PIPE | UV_WRITABLE_PIPE);
  stdio[0].data.stream = reinterpret_cast<uv_stream_t*>(child->pipe.get());
  stdio[1].flags = UV_IGNORE;
  stdio[2].flags = UV_INHERIT_FD;   // its log lines go where ours go
  stdio[2].data.fd = 2;

  uv_process_options_t options{};
  options.exit_cb = &FetchClient::on_exit;
  options.file = args[0].c_str();
  options.args = argv.data();
  options.stdio_count = 3;
  options.stdio = stdio;

  int rc = uv_spawn(loop_, child->process.get(), &options);
  ++starts_;
  if (rc != 0) {
    // uv_spawn initialises the handle even when it fails; it must still be closed.
    child->process.mark_initialized();
    child->process.close();
    child->pipe.close();
    log_("MTA-STS fetcher " + options_.executable + " could not be started: " + uv_strerror(rc));
    backoff_ = backoff_.count() == 0 ? options_.first_backoff : std::min(backoff_ * 2, options_.max_backoff);
    not_before_ = SteadyClock::now() + backoff_;
    return false;
  }
  child->process.mark_initialized();
  child->process.get()->data = child.get();
  child->started = SteadyClock::now();
  uv_read_start(reinterpret_cast<uv_stream_t*>(child->pipe.get()), &FetchClient::on_alloc, &FetchClient::on_read);
  child_ = std::move(child);
  return true;
}

void FetchClient::child_gone(const std::string& why, bool dead_young) {
  if (!child_) return;
  log_("MTA-STS fetcher " + why + (pending_.empty() ? "" : "; " + std::to_string(pending_.size()) +
                                                              " fetch(es) in flight failed"));
  std::unique_ptr<Child> gone = std::move(child_);
  gone->current = false;
  gone->pipe.close();
  retired_.push_back(std::move(gone));
  if (dead_young) {
    backoff_ = backoff_.count() == 0 ? options_.first_backoff : std::min(backoff_ * 2, options_.max_backoff);
    not_before_ = SteadyClock::now() + backoff_;
  } else {
    backoff_ = std::chrono::milliseconds(0);
    not_before_ = {};
  }
  auto pending = std::move(pending_);
  pending_.clear();
  for (auto& [id, p] : pending) post_answer(std::move(p.callback), failure(id, "mxguard-fetch " + why));
  rearm_deadline();
}

void FetchClient::kill_child(const std::string& why) {
  if (!child_) return;
  uv_process_kill(child_->process.get(), SIGKILL);
  child_->killed = true;
  bool young = SteadyClock::now() - child_->started < kHealthyLifetime;
  child_gone(why + ": killed", young);
}

void FetchClient::on_bytes(const char* data, std::size_t size) {
  child_->reader.feed(std::span<const char>(data, size));
  while (child_) {
    std::optional<fetch::Message> message = child_->reader.next();
    if (!message) {
      if (!child_->reader.error().empty()) kill_child("broke the protocol (" + child_->reader.error() + ")");
      return;
    }
    auto* answer = std::get_if<fetch::Answer>(&*message);
    if (!answer) {
      kill_child("sent a request instead of an answer");
      return;
    }
    on_answer(std::move(*answer));
  }
}

void FetchClient::on_answer(fetch::Answer answer) {
  auto it = pending_.find(answer.id);
  if (it == pending_.end()) {
    kill_child("answered request " + std::to_string(answer.id) + ", which it was never asked");
    return;
  }
  std::shared_ptr<Callback> callback = std::move(it->second.callback);
  pending_.erase(it);
  rearm_deadline();
  finish(std::move(callback), std::move(answer));
}

void FetchClient::finish(std::shared_ptr<Callback> callback, fetch::Answer answer) {
  run_once(callback, std::move(answer));
}

void FetchClient::rearm_deadline() {
  if (pending_.empty()) {
    uv_timer_stop(deadline_timer_.get());
    return;
  }
  auto earliest = pending_.begin()->second.deadline;
  for (const auto& [id, p] : pending_) earliest = std::min(earliest, p.deadline);
  auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(earliest - SteadyClock::now());
  uv_timer_start(deadline_timer_.get(), &FetchClient::on_deadline, static_cast<std::uint64_t>(std::max<std::int64_t>(wait.count(), 0)) + 1, 0);
}

void FetchClient::post_answer(std::shared_ptr<Callback> callback, fetch::Answer answer) {
  posted_.post([this, callback = std::move(callback), answer = std::move(answer)]() mutable {
    finish(std::move(callback), std::move(answer));
  });
}

void FetchClient::on_exit(uv_process_t* process, std::int64_t status, int signal) noexcept {
  auto* child = static_cast<Child*>(process->data);
  FetchClient* self = child->owner;
  std::string why = "(pid " + std::to_string(process->pid) + ") " +
                    (signal ? "was killed by signal " + std::to_string(signal) : "exited with status " + std::to_string(status));
  if (child->current && self->child_.get() == child) {
    bool young = SteadyClock::now() - child->started < kHealthyLifetime;
    self->child_gone(why, young || status != 0 || signal != 0);
  } else if (!child->killed && (signal != 0 || status != 0)) {
    // It closed the socketpair first (the fetches were failed then); how it ended is worth a line too.
    self->log_("MTA-STS fetcher " + why);
  }
  // Now nothing refers to the process any more: destroying the Child closes its handles.
  self->retired_.remove_if([child](const std::unique_ptr<Child>& c) { return c.get() == child; });
}

void FetchClient::on_alloc(uv_handle_t* handle, std::size_t, uv_buf_t* buf) noexcept {
  auto* child = static_cast<Child*>(handle->data);
  *buf = uv_buf_init(child->buffer, sizeof child->buffer);
}

void FetchClient::on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept {
  auto* child = static_cast<Child*>(stream->data);
  if (!child->current) return;
  FetchClient* self = child->owner;
  if (nread > 0) {
    self->on_bytes(buf->base, static_cast<std::size_t>(nread));
  } else if (nread < 0) {
    bool young = SteadyClock::now() - child->started < kHealthyLifetime;
    self->child_gone(nread == UV_EOF ? "closed the socketpair" : std::string("read failed: ") + uv_strerror(static_cast<int>(nread)),
                     young);
  }
}

void FetchClient::on_deadline(uv_timer_t* timer) noexcept {
  auto* self = static_cast<FetchClient*>(timer->data);
  auto now = SteadyClock::now();
  for (const auto& [id, p] : self->pending_) {
    if (p.deadline <= now) {
      self->kill_child("did not answer request " + std::to_string(id) + " in time (hung)");
      return;
    }
  }
  self->rearm_deadline();
}

}  // namespace mxguard::mta_sts

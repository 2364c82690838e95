#include "policy/fetcher/fetch_server.h"

#include "base/ascii.h"
#include "base/log_text.h"
#include "policy/fetcher/log.h"
#include "policy/fetcher/request_rules.h"

namespace mxguard::fetch {
namespace {

FetchServer* server_of(uv_handle_t* handle) { return static_cast<FetchServer*>(handle->data); }

}  // namespace

std::unique_ptr<FetchServer> FetchServer::create(uv_loop_t* loop, int fd, Options options, std::string& error) {
  auto self = std::make_unique<FetchServer>(Key{}, loop, std::move(options));
  if (int rc = uv_pipe_init(loop, self->pipe_.get(), 0); rc != 0) {
    error = std::string("uv_pipe_init: ") + uv_strerror(rc);
    return nullptr;
  }
  self->pipe_.mark_initialized();
  self->pipe_.get()->data = self.get();
  if (int rc = uv_pipe_open(self->pipe_.get(), fd); rc != 0) {
    error = "fd " + std::to_string(fd) + ": " + uv_strerror(rc);
    return nullptr;
  }
  FetchServer* raw = self.get();
  self->multi_ = CurlMultiLoop::create(
      loop, [raw](CURL* easy, CURLcode result) { raw->on_transfer_done(easy, result); }, error);
  if (!self->multi_) return nullptr;
  return self;
}

FetchServer::~FetchServer() { cancel_all(); }

std::string FetchServer::start() {
  auto on_alloc = [](uv_handle_t* handle, std::size_t, uv_buf_t* buf) noexcept {
    // One buffer is enough: libuv hands each read to on_read before it allocates for the next.
    FetchServer* self = server_of(handle);
    *buf = uv_buf_init(self->read_buffer_.data(), static_cast<unsigned>(self->read_buffer_.size()));
  };
  auto on_read = [](uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept {
    server_of(reinterpret_cast<uv_handle_t*>(stream))->on_read(nread, buf);
  };
  int rc = uv_read_start(reinterpret_cast<uv_stream_t*>(pipe_.get()), on_alloc, on_read);
  return rc == 0 ? std::string() : std::string("uv_read_start: ") + uv_strerror(rc);
}

void FetchServer::on_read(ssize_t nread, const uv_buf_t* buf) {
  if (stopping_) return;
  if (nread < 0) {
    // A reset is mxguard gone too: it closed its end with answers still unread.
    if (nread == UV_EOF || nread == UV_ECONNRESET) {
      stop(kExitPeerGone, "mxguard closed the socket: exiting");
    } else {
      stop(kExitFailure, std::string("reading the socket: ") + uv_strerror(static_cast<int>(nread)));
    }
    return;
  }
  reader_.feed(std::span<const char>(buf->base, static_cast<std::size_t>(nread)));
  while (!stopping_) {
    std::optional<Message> message = reader_.next();
    if (!message) break;
    if (auto* request = std::get_if<Request>(&*message)) {
      on_request(std::move(*request));
    } else {
      stop(kExitProtocolError, "protocol error: mxguard sent an answer frame");
    }
  }
  if (!stopping_ && !reader_.error().empty()) {
    stop(kExitProtocolError, "protocol error: " + log_text::sanitize(reader_.error()));
  }
}

void FetchServer::on_request(Request request) {
  std::string violation = request_violation(request);
  if (violation.empty() && ids_in_flight_.contains(request.id)) violation = "an id that is already in flight";
  if (!violation.empty()) {
    stop(kExitProtocolError, "protocol error: request " + std::to_string(request.id) + " has " + violation);
    return;
  }
  if (std::string refusal = request_refusal(request); !refusal.empty()) {
    Answer answer;
    answer.id = request.id;
    answer.outcome = Outcome::Failed;
    answer.detail = log_text::sanitize(refusal, 512);
    send(answer);
    return;
  }
  ids_in_flight_.insert(request.id);
  std::string key = ascii::lower(request.domain);
  std::deque<Job>& jobs = domains_[key];
  for (Job& job : jobs) {
    if (same_question(job.request, request)) {
      job.ids.push_back(request.id);
      return;
    }
  }
  std::uint32_t id = request.id;
  jobs.push_back(Job{std::move(request), {id}, nullptr});
  if (jobs.size() == 1) ready_.push_back(key);
  start_ready();
}

void FetchServer::start_ready() {
  while (!stopping_ && !ready_.empty() && multi_->running() < options_.max_transfers) {
    std::string key = std::move(ready_.front());
    ready_.pop_front();
    Job& job = domains_.at(key).front();
    std::string error;
    job.transfer = Transfer::create(job.request, options_.user_agent, error);
    if (job.transfer) error = multi_->add(job.transfer->easy());
    if (error.empty()) {
      running_.emplace(job.transfer->easy(), key);
      continue;
    }
    Answer answer;
    answer.outcome = Outcome::Failed;
    answer.detail = log_text::sanitize("the fetcher could not start the transfer: " + error, 512);
    finish_front(key, std::move(answer));   // may queue the domain's next job: the loop goes on
  }
}

void FetchServer::on_transfer_done(CURL* easy, CURLcode result) {
  auto it = running_.find(easy);
  if (it == running_.end()) return;   // cancelled meanwhile (cannot happen: remove() reports nothing)
  std::string key = std::move(it->second);
  running_.erase(it);
  Answer answer = Transfer::of(easy)->finish(result);
  finish_front(key, std::move(answer));
  start_ready();
}

void FetchServer::finish_front(const std::string& key, Answer answer) {
  auto it = domains_.find(key);
  Job job = std::move(it->second.front());
  it->second.pop_front();
  if (it->second.empty()) {
    domains_.erase(it);
  } else {
    ready_.push_back(key);
  }
  for (std::uint32_t id : job.ids) {
    answer.id = id;
    send(answer);
    ids_in_flight_.erase(id);
  }
}

void FetchServer::send(const Answer& answer) {
  if (stopping_) return;
  auto write = std::make_unique<PendingWrite>();
  write->server = this;
  write->bytes = encode(answer);
  write->request.data = write.get();
  uv_buf_t buf = uv_buf_init(write->bytes.data(), static_cast<unsigned>(write->bytes.size()));
  auto on_written = [](uv_write_t* request, int status) noexcept {
    std::unique_ptr<PendingWrite> done(static_cast<PendingWrite*>(request->data));
    // Cancelled: the socket was closed, and the server may be gone by now (never touch it then).
    if (status == 0 || status == UV_ECANCELED) return;
    done->server->write_failed(status);
  };
  int rc = uv_write(&write->request, reinterpret_cast<uv_stream_t*>(pipe_.get()), &buf, 1, on_written);
  if (rc != 0) {
    write_failed(rc);
    return;
  }
  static_cast<void>(write.release());   // libuv holds it until on_written
}

void FetchServer::write_failed(int status) {
  if (status == UV_EPIPE || status == UV_ECONNRESET) {
    stop(kExitPeerGone, "mxguard closed the socket: exiting");
  } else {
    stop(kExitFailure, std::string("writing the socket: ") + uv_strerror(status));
  }
}

void FetchServer::stop(int status, std::string_view why) {
  // Containers are left alone here (stop can run deep inside finish_front): the transfers are
  // cancelled by the destructor, once uv_run has returned.
  if (stopping_) return;
  stopping_ = true;
  exit_status_ = status;
  log_line(why);
  pipe_.close();   // pending writes end with UV_ECANCELED
  uv_stop(loop_);
}

void FetchServer::cancel_all() {
  if (multi_) {
    for (const auto& [easy, key] : running_) multi_->remove(easy);
  }
  running_.clear();
  ready_.clear();
  domains_.clear();
  ids_in_flight_.clear();
}

}  // namespace mxguard::fetch

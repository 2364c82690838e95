#include "policy/fetcher/curl_multi_loop.h"

#include <algorithm>

namespace mxguard::fetch {

std::unique_ptr<CurlMultiLoop> CurlMultiLoop::create(uv_loop_t* loop, OnDone on_done, std::string& error) {
  auto self = std::make_unique<CurlMultiLoop>(Key{}, loop, std::move(on_done));
  if (int rc = uv_timer_init(loop, self->timer_.get()); rc != 0) {
    error = std::string("uv_timer_init: ") + uv_strerror(rc);
    return nullptr;
  }
  self->timer_.mark_initialized();
  self->timer_.get()->data = self.get();
  self->multi_.reset(curl_multi_init());
  if (!self->multi_) {
    error = "curl_multi_init failed";
    return nullptr;
  }
  CURLM* multi = self->multi_.get();
  CURLMcode rc = curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, static_cast<curl_socket_callback>(&on_socket));
  if (rc == CURLM_OK) rc = curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, self.get());
  if (rc == CURLM_OK) rc = curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, static_cast<curl_multi_timer_callback>(&on_timer));
  if (rc == CURLM_OK) rc = curl_multi_setopt(multi, CURLMOPT_TIMERDATA, self.get());
  if (rc != CURLM_OK) {
    error = std::string("curl_multi_setopt: ") + curl_multi_strerror(rc);
    return nullptr;
  }
  return self;
}

CurlMultiLoop::~CurlMultiLoop() {
  for (CURL* easy : added_) curl_multi_remove_handle(multi_.get(), easy);
  added_.clear();
  // Explicitly first: curl_multi_cleanup may still call on_socket and on_timer, which use the members below.
  multi_.reset();
}

std::string CurlMultiLoop::add(CURL* easy) {
  // curl answers with on_timer(0): the transfer starts from the timer, on the next loop iteration.
  if (CURLMcode rc = curl_multi_add_handle(multi_.get(), easy); rc != CURLM_OK) return curl_multi_strerror(rc);
  added_.insert(easy);
  return {};
}

void CurlMultiLoop::remove(CURL* easy) {
  if (added_.erase(easy) == 0) return;
  curl_multi_remove_handle(multi_.get(), easy);
}

int CurlMultiLoop::on_socket(CURL*, curl_socket_t fd, int what, void* self, void* socket_data) noexcept {
  return static_cast<CurlMultiLoop*>(self)->watch(fd, what, socket_data);
}

int CurlMultiLoop::watch(curl_socket_t fd, int what, void*) {
  if (what == CURL_POLL_REMOVE) {
    // Closing stops the poll at once (the memory goes in the close callback), before curl closes the
    // socket and the kernel hands its number to the next one.
    polls_.erase(fd);
    return 0;
  }
  auto it = polls_.find(fd);
  if (it == polls_.end()) {
    libuv::Handle<uv_poll_t> poll;
    if (uv_poll_init_socket(loop_, poll.get(), fd) != 0) return -1;
    poll.mark_initialized();
    poll.get()->data = this;
    it = polls_.emplace(fd, std::move(poll)).first;
  }
  int events = 0;
  if (what == CURL_POLL_IN || what == CURL_POLL_INOUT) events |= UV_READABLE;
  if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT) events |= UV_WRITABLE;
  int rc = uv_poll_start(it->second.get(), events, [](uv_poll_t* poll, int status, int ready) noexcept {
    int flags = 0;
    if (status < 0) flags = CURL_CSELECT_ERR;
    if (ready & UV_READABLE) flags |= CURL_CSELECT_IN;
    if (ready & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
    uv_os_fd_t fd = -1;
    uv_fileno(reinterpret_cast<uv_handle_t*>(poll), &fd);
    static_cast<CurlMultiLoop*>(poll->data)->act(fd, flags);
  });
  return rc == 0 ? 0 : -1;
}

int CurlMultiLoop::on_timer(CURLM*, long timeout_ms, void* self) noexcept {
  auto* me = static_cast<CurlMultiLoop*>(self);
  if (timeout_ms < 0) {
    uv_timer_stop(me->timer_.get());
    return 0;
  }
  // 0 means "at once", but curl must not be re-entered from its own callback: the next loop iteration.
  auto after = static_cast<std::uint64_t>(std::max(timeout_ms, 1L));
  int rc = uv_timer_start(
      me->timer_.get(),
      [](uv_timer_t* timer) noexcept { static_cast<CurlMultiLoop*>(timer->data)->act(CURL_SOCKET_TIMEOUT, 0); },
      after, 0);
  return rc == 0 ? 0 : -1;
}

void CurlMultiLoop::act(curl_socket_t fd, int flags) {
  int still_running = 0;
  curl_multi_socket_action(multi_.get(), fd, flags, &still_running);
  report_done();
}

void CurlMultiLoop::report_done() {
  int queued = 0;
  while (CURLMsg* message = curl_multi_info_read(multi_.get(), &queued)) {
    if (message->msg != CURLMSG_DONE) continue;
    // The message dies with curl_multi_remove_handle: copy what is needed first.
    CURL* easy = message->easy_handle;
    CURLcode result = message->data.result;
    added_.erase(easy);
    curl_multi_remove_handle(multi_.get(), easy);
    on_done_(easy, result);
  }
}

}  // namespace mxguard::fetch

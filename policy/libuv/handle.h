#pragma once
// RAII ownership of one libuv handle, for policy/ (the resolver, the MTA-STS fetch client and agent,
// mxguard-fetch) and, as uv::Handle, for proxy/. libuv may free a handle's memory only in its close
// callback, after every pending request on it was cancelled, on a later loop iteration; so the memory is
// owned by a unique_ptr until uv_close, then handed to libuv, which returns it to the close callback that
// frees it. Destroying the owner of an initialized handle closes it: the loop must run once more before
// uv_loop_close can succeed. The optional on_closed hook lets an owner wait for that moment (a session
// that must outlive its write callbacks).
#include <uv.h>

#include <functional>
#include <memory>

namespace mxguard::libuv {

template <typename T>
class Handle {
 public:
  Handle() : handle_(std::make_unique<T>()) {}
  ~Handle() { close(); }
  Handle(Handle&& other) noexcept : handle_(std::move(other.handle_)), initialized_(other.initialized_) {
    other.initialized_ = false;
  }
  Handle& operator=(Handle&&) = delete;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  // The handle itself (null once closing); the owner, not constness, decides who may change it.
  T* get() const { return handle_.get(); }
  uv_handle_t* base() const { return reinterpret_cast<uv_handle_t*>(handle_.get()); }
  uv_stream_t* stream() const { return reinterpret_cast<uv_stream_t*>(handle_.get()); }

  // Call after a successful uv_*_init: from then on the handle must be closed through libuv.
  void mark_initialized() { initialized_ = true; }
  bool initialized() const { return initialized_ && handle_ != nullptr; }
  bool closing() const { return handle_ == nullptr; }

  // Closes the handle; `on_closed` runs from the close callback (or at once if it was never initialized).
  void close(std::function<void()> on_closed = {}) {
    if (!handle_) return;
    if (!initialized_) {
      handle_.reset();
      if (on_closed) on_closed();
      return;
    }
    initialized_ = false;
    auto* raw = handle_.release();
    auto* hook = on_closed ? std::make_unique<std::function<void()>>(std::move(on_closed)).release() : nullptr;
    reinterpret_cast<uv_handle_t*>(raw)->data = hook;
    uv_close(reinterpret_cast<uv_handle_t*>(raw), [](uv_handle_t* h) {
      std::unique_ptr<T> owned(reinterpret_cast<T*>(h));
      std::unique_ptr<std::function<void()>> hook(static_cast<std::function<void()>*>(h->data));
      if (hook && *hook) (*hook)();
    });
  }

 private:
  std::unique_ptr<T> handle_;
  bool initialized_ = false;
};

}  // namespace mxguard::libuv

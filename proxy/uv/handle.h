#pragma once
// RAII ownership of libuv handles. libuv may only free a handle's memory in its close callback, after every
// pending request on it was cancelled; so the memory is owned by a unique_ptr until uv_close, then handed
// to libuv, which returns it to the close callback that frees it. The optional on_closed hook lets an owner
// wait for that moment (e.g. a session that must outlive its write callbacks).
#include <uv.h>

#include <functional>
#include <memory>
#include <type_traits>

namespace mxguard::uv {

template <typename T>
class Handle {
 public:
  Handle() : handle_(std::make_unique<T>()) {}
  ~Handle() { close(); }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  T* get() { return handle_.get(); }
  const T* get() const { return handle_.get(); }
  uv_handle_t* base() { return reinterpret_cast<uv_handle_t*>(handle_.get()); }
  uv_stream_t* stream() { return reinterpret_cast<uv_stream_t*>(handle_.get()); }

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
    auto* raw = handle_.release();
    auto* hook = on_closed ? new_hook(std::move(on_closed)) : nullptr;
    reinterpret_cast<uv_handle_t*>(raw)->data = hook;
    uv_close(reinterpret_cast<uv_handle_t*>(raw), [](uv_handle_t* h) {
      std::unique_ptr<T> owned(reinterpret_cast<T*>(h));
      std::unique_ptr<std::function<void()>> hook(static_cast<std::function<void()>*>(h->data));
      if (hook && *hook) (*hook)();
    });
  }

 private:
  static std::function<void()>* new_hook(std::function<void()> fn) {
    return std::make_unique<std::function<void()>>(std::move(fn)).release();
  }
  std::unique_ptr<T> handle_;
  bool initialized_ = false;
};

}  // namespace mxguard::uv

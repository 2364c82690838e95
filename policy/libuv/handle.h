#pragma once
// Ownership of one libuv handle for policy/ (the resolver, the MTA-STS fetch client and agent,
// mxguard-fetch), which may not use proxy/uv's wrappers. libuv may free a handle's memory only in its
// close callback, on a later loop iteration; so the memory is owned here until uv_close and by libuv
// after it, and the close callback deletes it. Destroying the owner of an initialized handle closes it:
// the loop must run once more before uv_loop_close can succeed.
#include <uv.h>

#include <memory>

namespace mxguard::libuv {

template <typename T>
class Handle {
 public:
  Handle() : handle_(std::make_unique<T>()) {}
  ~Handle() { close(); }
  Handle(Handle&& other) noexcept
      : handle_(std::move(other.handle_)), initialized_(other.initialized_) {
    other.initialized_ = false;
  }
  Handle& operator=(Handle&&) = delete;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  T* get() const { return handle_.get(); }
  uv_handle_t* base() const { return reinterpret_cast<uv_handle_t*>(handle_.get()); }

  // After a successful uv_*_init: from now on only uv_close may end the handle.
  void mark_initialized() { initialized_ = true; }

  void close() {
    if (!handle_) return;
    if (!initialized_) {
      handle_.reset();
      return;
    }
    initialized_ = false;
    uv_close(reinterpret_cast<uv_handle_t*>(handle_.release()),
             [](uv_handle_t* h) { std::unique_ptr<T> owned(reinterpret_cast<T*>(h)); });
  }

 private:
  std::unique_ptr<T> handle_;
  bool initialized_ = false;
};

}  // namespace mxguard::libuv

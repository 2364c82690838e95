#pragma once
// Ownership of one libuv handle for policy/dns (which may not use proxy/'s wrappers). libuv may free a
// handle's memory only in its close callback, on a later loop iteration; so the memory is owned here
// until uv_close and by libuv after it, and the close callback deletes it. Destroying the owner of an
// initialized handle closes it: the loop must run once more before uv_loop_close can succeed.
#include <uv.h>

#include <memory>

namespace mxguard::dns {

template <typename T>
class UvHandle {
 public:
  UvHandle() : handle_(std::make_unique<T>()) {}
  ~UvHandle() { close(); }
  UvHandle(UvHandle&& other) noexcept
      : handle_(std::move(other.handle_)), initialized_(other.initialized_) {
    other.initialized_ = false;
  }
  UvHandle& operator=(UvHandle&&) = delete;
  UvHandle(const UvHandle&) = delete;
  UvHandle& operator=(const UvHandle&) = delete;

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

}  // namespace mxguard::dns

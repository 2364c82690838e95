#pragma once
// A cancellation token for one asynchronous callback (a fetch, a policy lookup). The owner of the work
// keeps the callback in a shared_ptr and runs it at most once, swapping it out first; the token holds a
// weak_ptr, and destroying or cancelling it empties the callback, so it never runs and what it captured
// is destroyed at once. Move-only; assigning to a Ticket cancels the callback it held.
#include <functional>
#include <memory>

namespace mxguard::mta_sts {

template <typename Arg>
class [[nodiscard]] Ticket {
 public:
  using Callback = std::function<void(Arg)>;

  Ticket() = default;
  explicit Ticket(std::weak_ptr<Callback> callback) : callback_(std::move(callback)) {}
  Ticket(Ticket&&) noexcept = default;
  Ticket& operator=(Ticket&& other) noexcept {
    if (this != &other) {
      cancel();
      callback_ = std::move(other.callback_);
    }
    return *this;
  }
  Ticket(const Ticket&) = delete;
  Ticket& operator=(const Ticket&) = delete;
  ~Ticket() { cancel(); }

  void cancel() {
    if (auto callback = callback_.lock()) {
      Callback doomed;
      doomed.swap(*callback);
    }
    callback_.reset();
  }
  bool pending() const {
    auto callback = callback_.lock();
    return callback && static_cast<bool>(*callback);
  }

 private:
  std::weak_ptr<Callback> callback_;
};

// Runs a callback held for a Ticket, once: it is swapped out first, so that a callback that destroys its
// own ticket (or whatever holds it) finds nothing left to cancel.
template <typename Arg>
void run_once(const std::shared_ptr<std::function<void(Arg)>>& callback, Arg arg) {
  std::function<void(Arg)> run;
  run.swap(*callback);
  if (run) run(std::move(arg));
}

}  // namespace mxguard::mta_sts

#pragma once
// Replies leave in command order (RFC 2920). Every command pushes one entry: a reply mxguard makes itself
// (ready at once) or a reply the far side owes (the session's own `kind` says what it is for). A far-side
// reply is matched with the first awaited entry; ready entries are written when they reach the front.
#include <algorithm>
#include <cstddef>
#include <deque>

#include "proxy/smtp/reply_parser.h"

namespace mxguard::session {

struct Pending {
  static constexpr int kLocal = 0;
  int kind = kLocal;              // kLocal, or the session's own enum value for an awaited reply
  bool data_end = false;          // awaited: the verdict on a message (its own, longer timeout)
  smtp::Reply local;              // kLocal only
  bool starts_tls = false;        // kLocal: the 220 to STARTTLS; TLS begins once it is written
  bool closes = false;            // kLocal: the session ends once it is written

  bool awaited() const { return kind != kLocal; }
};

class ReplyQueue {
 public:
  void push_local(smtp::Reply reply, bool closes = false, bool starts_tls = false) {
    Pending p;
    p.local = std::move(reply);
    p.closes = closes;
    p.starts_tls = starts_tls;
    entries_.push_back(std::move(p));
  }
  template <typename Kind>
  void push_awaited(Kind kind, bool data_end = false) {
    Pending p;
    p.kind = static_cast<int>(kind);
    p.data_end = data_end;
    entries_.push_back(std::move(p));
  }

  bool empty() const { return entries_.empty(); }
  std::size_t size() const { return entries_.size(); }
  Pending& front() { return entries_.front(); }
  Pending pop() {
    Pending p = std::move(entries_.front());
    entries_.pop_front();
    return p;
  }
  void clear() { entries_.clear(); }

  // Far-side replies still owed.
  std::size_t awaited() const {
    return static_cast<std::size_t>(std::count_if(entries_.begin(), entries_.end(), [](const Pending& p) { return p.awaited(); }));
  }
  const Pending* first_awaited() const {
    auto it = std::find_if(entries_.begin(), entries_.end(), [](const Pending& p) { return p.awaited(); });
    return it == entries_.end() ? nullptr : &*it;
  }
  bool awaiting_data_end() const {
    return std::any_of(entries_.begin(), entries_.end(), [](const Pending& p) { return p.awaited() && p.data_end; });
  }
  // The first awaited entry is answered by mxguard after all (the far side it waited for never came):
  // it becomes a ready reply in its place. False when nothing is awaited.
  bool answer_first_awaited(smtp::Reply reply) {
    auto it = std::find_if(entries_.begin(), entries_.end(), [](const Pending& p) { return p.awaited(); });
    if (it == entries_.end()) return false;
    it->kind = Pending::kLocal;
    it->data_end = false;
    it->local = std::move(reply);
    return true;
  }
  // The far side is gone: nothing more will be answered by it.
  void drop_awaited() {
    entries_.erase(std::remove_if(entries_.begin(), entries_.end(), [](const Pending& p) { return p.awaited(); }),
                   entries_.end());
  }

 private:
  std::deque<Pending> entries_;
};

}  // namespace mxguard::session

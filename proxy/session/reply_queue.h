#pragma once
// Replies leave in command order (RFC 2920). Every command pushes one entry: a reply mxguard makes itself
// (ready at once) or a reply the far side owes (the session's own `kind` says what it is for). A far-side
// reply is matched with the first awaited entry; ready entries are written when they reach the front.
#include <algorithm>
#include <cstddef>
#include <vector>

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

// A vector consumed from a head index rather than a std::deque: libstdc++'s deque allocates a 512-byte
// block and its map even while empty, and an idle session's queue is empty; this one keeps at most a couple
// of entries' worth of storage between bursts. References from front()/first_awaited() are valid until
// the next push.
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

  bool empty() const { return head_ == entries_.size(); }
  std::size_t size() const { return entries_.size() - head_; }
  Pending& front() { return entries_[head_]; }
  Pending pop() {
    Pending p = std::move(entries_[head_++]);
    if (empty()) {
      clear();
    } else if (head_ >= kCompactAfter && head_ * 2 >= entries_.size()) {
      // A queue that never empties (a client pipelining without pause) must not grow without end.
      entries_.erase(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
    return p;
  }
  void clear() {
    entries_.clear();
    head_ = 0;
    if (entries_.capacity() > kKeptEntries) std::vector<Pending>().swap(entries_);
  }

  // Far-side replies still owed.
  std::size_t awaited() const { return static_cast<std::size_t>(std::count_if(begin(), end(), is_awaited)); }
  const Pending* first_awaited() const {
    auto it = std::find_if(begin(), end(), is_awaited);
    return it == end() ? nullptr : &*it;
  }
  bool awaiting_data_end() const {
    return std::any_of(begin(), end(), [](const Pending& p) { return p.awaited() && p.data_end; });
  }
  // The first awaited entry is answered by mxguard after all (the far side it waited for never came):
  // it becomes a ready reply in its place. False when nothing is awaited.
  bool answer_first_awaited(smtp::Reply reply) {
    auto it = std::find_if(entries_.begin() + static_cast<std::ptrdiff_t>(head_), entries_.end(), is_awaited);
    if (it == entries_.end()) return false;
    it->kind = Pending::kLocal;
    it->data_end = false;
    it->local = std::move(reply);
    return true;
  }
  // The far side is gone: nothing more will be answered by it.
  void drop_awaited() {
    entries_.erase(std::remove_if(entries_.begin() + static_cast<std::ptrdiff_t>(head_), entries_.end(), is_awaited),
                   entries_.end());
    if (empty()) clear();
  }

 private:
  static constexpr std::size_t kKeptEntries = 2;
  static constexpr std::size_t kCompactAfter = 32;
  static bool is_awaited(const Pending& p) { return p.awaited(); }
  std::vector<Pending>::const_iterator begin() const { return entries_.begin() + static_cast<std::ptrdiff_t>(head_); }
  std::vector<Pending>::const_iterator end() const { return entries_.end(); }

  std::vector<Pending> entries_;
  std::size_t head_ = 0;   // entries before it are popped
};

}  // namespace mxguard::session

#pragma once
// Incremental reader of SMTP replies (RFC 5321 §4.2) on the client side. No I/O: bytes in, whole replies
// out. It notes the two EHLO keywords the load generator cares about while a multi-line reply goes by.
#include <cstddef>
#include <string>
#include <string_view>

namespace mxguard::bench {

struct Reply {
  int code = 0;
  bool offers_starttls = false;
  bool offers_pipelining = false;
};

class ReplyReader {
 public:
  enum class Status { Complete, NeedMore, Malformed };

  void feed(std::string_view bytes) { buf_.append(bytes); }
  // Takes the next complete reply out of the buffer.
  Status next(Reply& out);
  // Bytes the server sent that no reply has consumed yet (after a 220 to STARTTLS there must be none).
  std::size_t leftover() const { return buf_.size() - pos_; }
  void clear() {
    buf_.clear();
    pos_ = 0;
    partial_ = Reply{};
  }

 private:
  std::string buf_;
  std::size_t pos_ = 0;
  Reply partial_;   // keywords seen in the continuation lines of the reply being read
};

}  // namespace mxguard::bench

#include "bench/loadgen/reply_reader.h"

namespace mxguard::bench {
namespace {

bool keyword_is(std::string_view text, std::string_view keyword) {
  if (text.size() < keyword.size()) return false;
  for (std::size_t i = 0; i < keyword.size(); ++i) {
    char c = text[i];
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c != keyword[i]) return false;
  }
  return text.size() == keyword.size() || text[keyword.size()] == ' ';
}

}  // namespace

ReplyReader::Status ReplyReader::next(Reply& out) {
  for (;;) {
    auto nl = buf_.find('\n', pos_);
    if (nl == std::string::npos) {
      // Keep the buffer from growing with consumed replies: compact once the dead part dominates.
      if (pos_ > 4096 && pos_ * 2 > buf_.size()) {
        buf_.erase(0, pos_);
        pos_ = 0;
      }
      return Status::NeedMore;
    }
    std::string_view line(buf_.data() + pos_, nl - pos_);
    pos_ = nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '9' || line[2] < '0' ||
        line[2] > '9') {
      return Status::Malformed;
    }
    int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    std::string_view text = line.size() > 4 ? line.substr(4) : std::string_view{};
    if (keyword_is(text, "STARTTLS")) partial_.offers_starttls = true;
    if (keyword_is(text, "PIPELINING")) partial_.offers_pipelining = true;
    if (line.size() > 3 && line[3] == '-') continue;
    if (line.size() > 3 && line[3] != ' ') return Status::Malformed;
    out = partial_;
    out.code = code;
    partial_ = Reply{};
    if (pos_ == buf_.size()) {
      buf_.clear();
      pos_ = 0;
    }
    return Status::Complete;
  }
}

}  // namespace mxguard::bench

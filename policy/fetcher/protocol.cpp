#include "policy/fetcher/protocol.h"

#include <cstring>

namespace mxguard::fetch {
namespace {

void put_u16(std::string& out, std::uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v & 0xff));
}

void put_u32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

void put_string(std::string& out, std::string_view s) {
  put_u32(out, static_cast<std::uint32_t>(s.size()));
  out.append(s);
}

std::string frame(char type, const std::string& fields) {
  std::string out;
  out.reserve(4 + 1 + fields.size());
  put_u32(out, static_cast<std::uint32_t>(1 + fields.size()));
  out.push_back(type);
  out += fields;
  return out;
}

std::uint32_t read_u32_at(std::string_view s, std::size_t at) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return v;
}

// Reads fields front to back; the first shortfall sets `failed` and every later read returns a default.
class FieldReader {
 public:
  explicit FieldReader(std::string_view bytes) : bytes_(bytes) {}

  std::uint8_t u8() {
    if (!need(1)) return 0;
    return static_cast<unsigned char>(bytes_[at_++]);
  }
  std::uint16_t u16() {
    if (!need(2)) return 0;
    std::uint16_t v = static_cast<std::uint16_t>((static_cast<unsigned char>(bytes_[at_]) << 8) |
                                                 static_cast<unsigned char>(bytes_[at_ + 1]));
    at_ += 2;
    return v;
  }
  std::uint32_t u32() {
    if (!need(4)) return 0;
    std::uint32_t v = read_u32_at(bytes_, at_);
    at_ += 4;
    return v;
  }
  std::string string(const char* what) {
    std::uint32_t length = u32();
    if (failed_) return {};
    if (length > bytes_.size() - at_) {
      fail(std::string(what) + " runs past the end of the frame");
      return {};
    }
    std::string s(bytes_.substr(at_, length));
    at_ += length;
    return s;
  }
  bool failed() const { return failed_; }
  const std::string& problem() const { return problem_; }
  bool at_end() const { return at_ == bytes_.size(); }
  void fail(std::string why) {
    if (!failed_) problem_ = std::move(why);
    failed_ = true;
  }

 private:
  bool need(std::size_t n) {
    if (failed_) return false;
    if (bytes_.size() - at_ < n) {
      fail("the frame ends inside a field");
      return false;
    }
    return true;
  }
  std::string_view bytes_;
  std::size_t at_ = 0;
  bool failed_ = false;
  std::string problem_;
};

std::variant<Message, std::string> finish(FieldReader& r, Message message) {
  if (r.failed()) return r.problem();
  if (!r.at_end()) return std::string("bytes are left over after the last field");
  return message;
}

bool known_outcome(std::uint8_t v) { return v >= 1 && v <= 7; }

}  // namespace

std::string_view to_string(Outcome outcome) {
  switch (outcome) {
    case Outcome::Http: return "http";
    case Outcome::TooLarge: return "too-large";
    case Outcome::Certificate: return "certificate";
    case Outcome::Tls: return "tls";
    case Outcome::Connect: return "connect";
    case Outcome::Timeout: return "timeout";
    case Outcome::Failed: return "failed";
  }
  return "failed";
}

std::string encode(const Request& request) {
  std::string fields;
  put_u32(fields, request.id);
  put_string(fields, request.domain);
  put_u16(fields, request.port);
  put_u32(fields, static_cast<std::uint32_t>(request.addresses.size()));
  for (const std::string& a : request.addresses) put_string(fields, a);
  put_string(fields, request.ca_file);
  put_u32(fields, request.connect_timeout_ms);
  put_u32(fields, request.total_timeout_ms);
  return frame('Q', fields);
}

std::string encode(const Answer& answer) {
  std::string fields;
  put_u32(fields, answer.id);
  fields.push_back(static_cast<char>(answer.outcome));
  put_u16(fields, answer.status);
  put_string(fields, answer.content_type);
  put_string(fields, answer.body);
  put_string(fields, answer.detail);
  return frame('A', fields);
}

std::variant<Message, std::string> decode_payload(std::string_view payload) {
  if (payload.empty()) return std::string("the frame is empty");
  FieldReader r(payload.substr(1));
  switch (payload[0]) {
    case 'Q': {
      Request q;
      q.id = r.u32();
      q.domain = r.string("the domain");
      q.port = r.u16();
      std::uint32_t count = r.u32();
      if (!r.failed() && count > kMaxAddresses) r.fail("the request lists more than 64 addresses");
      for (std::uint32_t i = 0; i < count && !r.failed(); ++i) q.addresses.push_back(r.string("an address"));
      q.ca_file = r.string("the CA file");
      q.connect_timeout_ms = r.u32();
      q.total_timeout_ms = r.u32();
      return finish(r, std::move(q));
    }
    case 'A': {
      Answer a;
      a.id = r.u32();
      std::uint8_t outcome = r.u8();
      if (!r.failed() && !known_outcome(outcome)) r.fail("the answer has an unknown outcome " + std::to_string(outcome));
      a.outcome = static_cast<Outcome>(outcome);
      a.status = r.u16();
      a.content_type = r.string("the content type");
      a.body = r.string("the body");
      if (!r.failed() && a.body.size() > kMaxBody) r.fail("the body is over 64 KiB");
      a.detail = r.string("the detail");
      return finish(r, std::move(a));
    }
    default:
      return std::string("the frame has an unknown type");
  }
}

void FrameReader::feed(std::span<const char> bytes) {
  if (!error_.empty()) return;
  if (consumed_ > 0 && consumed_ == buffer_.size()) {
    buffer_.clear();
    consumed_ = 0;
  }
  buffer_.append(bytes.data(), bytes.size());
}

std::optional<Message> FrameReader::next() {
  if (!error_.empty()) return std::nullopt;
  std::string_view pending(buffer_);
  pending.remove_prefix(consumed_);
  if (pending.size() < 4) return std::nullopt;
  std::uint32_t length = read_u32_at(pending, 0);
  if (length == 0 || length > kMaxFrame) {
    error_ = "a frame of " + std::to_string(length) + " bytes is outside 1.." + std::to_string(kMaxFrame);
    return std::nullopt;
  }
  if (pending.size() - 4 < length) return std::nullopt;
  auto decoded = decode_payload(pending.substr(4, length));
  consumed_ += 4 + length;
  if (consumed_ == buffer_.size()) {
    buffer_.clear();
    consumed_ = 0;
  } else if (consumed_ > kMaxFrame) {
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
  if (auto* problem = std::get_if<std::string>(&decoded)) {
    error_ = *problem;
    return std::nullopt;
  }
  return std::get<Message>(std::move(decoded));
}

}  // namespace mxguard::fetch

#include "policy/dns/tlsa_answer.h"

#include <cstdint>
#include <optional>
#include <string>

#include "base/ascii.h"
#include "policy/dns/answer.h"

namespace mxguard::dns {
namespace {

constexpr std::uint16_t kTypeCname = 5;
constexpr std::uint16_t kTypeTlsa = 52;
constexpr std::uint16_t kClassIn = 1;
constexpr std::size_t kHeaderSize = 12;
constexpr std::size_t kMaxName = 255;   // RFC 1035 §2.3.4, in wire form

// Bounds-checked reads over one message. A read past the end sets `failed` and returns zero, so a caller
// checks once, after a group of reads.
class Wire {
 public:
  explicit Wire(std::span<const unsigned char> m) : m_(m) {}

  std::uint16_t u16(std::size_t& at) {
    if (at + 2 > m_.size()) return fail();
    std::uint16_t v = static_cast<std::uint16_t>(m_[at] << 8 | m_[at + 1]);
    at += 2;
    return v;
  }
  void skip(std::size_t& at, std::size_t n) {
    if (at + n > m_.size()) fail();
    at += n;
  }
  // The name at `at`, dotted without the root's dot ("" is the root); `at` moves past it
  // in the record (a compression pointer counts two bytes). Pointers may only point backwards, which also
  // bounds how many can be followed.
  std::string name(std::size_t& at) {
    std::string out;
    std::size_t pos = at;
    std::size_t wire_length = 1;
    bool jumped = false;
    for (;;) {
      if (pos >= m_.size()) return fail(), std::string();
      const unsigned char len = m_[pos];
      if ((len & 0xc0) == 0xc0) {
        if (pos + 1 >= m_.size()) return fail(), std::string();
        const std::size_t target = static_cast<std::size_t>((len & 0x3f) << 8 | m_[pos + 1]);
        if (target >= pos) return fail(), std::string();   // forwards or onto itself: a loop
        if (!jumped) at = pos + 2;
        jumped = true;
        pos = target;
        continue;
      }
      if ((len & 0xc0) != 0) return fail(), std::string();   // the reserved label types (RFC 6891 §5)
      if (len == 0) {
        if (!jumped) at = pos + 1;
        return out;
      }
      wire_length += len + 1u;
      if (wire_length > kMaxName || pos + 1 + len > m_.size()) return fail(), std::string();
      if (!out.empty()) out += '.';
      // A dot or backslash inside a label is escaped (RFC 1035 §5.1), so that the one-label name "a.b"
      // never compares equal to the two labels a and b.
      for (unsigned char c : m_.subspan(pos + 1, len)) {
        if (c == '.' || c == '\\') out += '\\';
        out += static_cast<char>(c);
      }
      pos += 1u + len;
    }
  }
  std::span<const unsigned char> bytes(std::size_t at, std::size_t n) const { return m_.subspan(at, n); }
  bool failed() const { return failed_; }

 private:
  std::uint16_t fail() {
    failed_ = true;
    return 0;
  }
  std::span<const unsigned char> m_;
  bool failed_ = false;
};

TlsaResult malformed() { return TlsaResult{Status::Malformed, {}, false}; }

}  // namespace

TlsaResult parse_tlsa_answer(int ares_status, std::span<const unsigned char> answer) {
  detail::HeaderVerdict v = detail::examine(ares_status, answer);
  if (!v.records) {
    bool denial = v.status == Status::NoData || v.status == Status::NxDomain;
    return TlsaResult{v.status, {}, denial && v.ad};
  }
  const std::uint16_t ancount = static_cast<std::uint16_t>(answer[6] << 8 | answer[7]);
  Wire wire(answer);
  std::size_t at = kHeaderSize;
  // The owner the chain has reached: the question's name, then each CNAME's target in turn.
  std::string owner = ascii::lower(wire.name(at));
  wire.skip(at, 4);   // QTYPE, QCLASS
  if (wire.failed()) return malformed();

  TlsaResult result;
  for (std::uint16_t i = 0; i < ancount; ++i) {
    std::string name = ascii::lower(wire.name(at));
    const std::uint16_t type = wire.u16(at);
    const std::uint16_t klass = wire.u16(at);
    wire.skip(at, 4);   // TTL
    const std::uint16_t rdlength = wire.u16(at);
    const std::size_t rdata = at;
    wire.skip(at, rdlength);
    if (wire.failed()) return malformed();
    if (klass != kClassIn || name != owner) continue;
    if (type == kTypeCname) {
      std::size_t target_at = rdata;
      std::string target = ascii::lower(wire.name(target_at));
      if (wire.failed() || target_at != rdata + rdlength) return malformed();
      owner = std::move(target);
    } else if (type == kTypeTlsa) {
      if (rdlength < 3) return malformed();
      auto bytes = wire.bytes(rdata, rdlength);
      result.records.push_back(policy::TlsaRecord{bytes[0], bytes[1], bytes[2], {bytes.begin() + 3, bytes.end()}});
    }
  }
  // Authority and additional sections are not read: nothing in them is a TLSA record of the name.
  result.status = result.records.empty() ? Status::NoData : Status::Ok;
  result.authenticated_data = v.ad;
  return result;
}

}  // namespace mxguard::dns

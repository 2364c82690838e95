#pragma once
// Builds DNS messages byte by byte for the answer tests: the header flags, one question, and answer
// records with uncompressed names. Only what the tests need; nothing here validates.
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace mxguard::dns::testing_support {

constexpr std::uint16_t kA = 1, kCname = 5, kMx = 15, kTxt = 16, kAaaa = 28, kTlsa = 52;

class Message {
 public:
  Message(std::string_view qname, std::uint16_t qtype) : qname_(qname), qtype_(qtype) {}

  Message& rcode(int r) { rcode_ = r; return *this; }
  Message& ad(bool on = true) { ad_ = on; return *this; }
  Message& tc(bool on = true) { tc_ = on; return *this; }
  Message& query_not_response() { qr_ = false; return *this; }
  Message& questions(std::uint16_t n) { qdcount_ = n; return *this; }

  Message& mx(std::string_view owner, std::uint16_t pref, std::string_view host) {
    std::vector<unsigned char> rdata = {static_cast<unsigned char>(pref >> 8), static_cast<unsigned char>(pref)};
    append_name(rdata, host);
    return rr(owner, kMx, rdata);
  }
  Message& txt(std::string_view owner, std::initializer_list<std::string_view> strings) {
    std::vector<unsigned char> rdata;
    for (std::string_view s : strings) {
      rdata.push_back(static_cast<unsigned char>(s.size()));
      rdata.insert(rdata.end(), s.begin(), s.end());
    }
    return rr(owner, kTxt, rdata);
  }
  Message& a(std::string_view owner, std::initializer_list<unsigned char> octets) {
    return rr(owner, kA, std::vector<unsigned char>(octets));
  }
  Message& aaaa(std::string_view owner, std::vector<unsigned char> octets) { return rr(owner, kAaaa, octets); }
  Message& tlsa(std::string_view owner, unsigned char usage, unsigned char selector, unsigned char matching,
                std::vector<unsigned char> data) {
    std::vector<unsigned char> rdata = {usage, selector, matching};
    rdata.insert(rdata.end(), data.begin(), data.end());
    return rr(owner, kTlsa, rdata);
  }
  Message& cname(std::string_view owner, std::string_view target) {
    std::vector<unsigned char> rdata;
    append_name(rdata, target);
    return rr(owner, kCname, rdata);
  }
  // A record whose RDLENGTH claims more bytes than the message has.
  Message& overrun(std::string_view owner, std::uint16_t type) {
    answers_.push_back({});
    auto& out = answers_.back();
    append_name(out, owner);
    put16(out, type);
    put16(out, 1);
    put32(out, 300);
    put16(out, 200);
    out.push_back(0);
    return *this;
  }
  Message& rr(std::string_view owner, std::uint16_t type, const std::vector<unsigned char>& rdata) {
    answers_.push_back({});
    auto& out = answers_.back();
    append_name(out, owner);
    put16(out, type);
    put16(out, 1);   // IN
    put32(out, 300);
    put16(out, static_cast<std::uint16_t>(rdata.size()));
    out.insert(out.end(), rdata.begin(), rdata.end());
    return *this;
  }

  std::vector<unsigned char> bytes() const {
    std::vector<unsigned char> out;
    put16(out, 0x1234);
    out.push_back(static_cast<unsigned char>((qr_ ? 0x80 : 0) | (tc_ ? 0x02 : 0) | 0x01));   // RD
    out.push_back(static_cast<unsigned char>(0x80 | (ad_ ? 0x20 : 0) | (rcode_ & 0x0f)));   // RA
    put16(out, qdcount_);
    put16(out, static_cast<std::uint16_t>(answers_.size()));
    put16(out, 0);
    put16(out, 0);
    for (std::uint16_t i = 0; i < qdcount_; ++i) {
      append_name(out, qname_);
      put16(out, qtype_);
      put16(out, 1);
    }
    for (const auto& a : answers_) out.insert(out.end(), a.begin(), a.end());
    return out;
  }

 private:
  static void put16(std::vector<unsigned char>& out, std::uint16_t v) {
    out.push_back(static_cast<unsigned char>(v >> 8));
    out.push_back(static_cast<unsigned char>(v));
  }
  static void put32(std::vector<unsigned char>& out, std::uint32_t v) {
    put16(out, static_cast<std::uint16_t>(v >> 16));
    put16(out, static_cast<std::uint16_t>(v));
  }
  static void append_name(std::vector<unsigned char>& out, std::string_view name) {
    while (!name.empty()) {
      std::size_t dot = name.find('.');
      std::string_view label = name.substr(0, dot);
      out.push_back(static_cast<unsigned char>(label.size()));
      out.insert(out.end(), label.begin(), label.end());
      name = dot == std::string_view::npos ? std::string_view{} : name.substr(dot + 1);
    }
    out.push_back(0);
  }

  std::string qname_;
  std::uint16_t qtype_;
  int rcode_ = 0;
  bool ad_ = false, tc_ = false, qr_ = true;
  std::uint16_t qdcount_ = 1;
  std::vector<std::vector<unsigned char>> answers_;
};

}  // namespace mxguard::dns::testing_support

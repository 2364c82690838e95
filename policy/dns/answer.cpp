#include "policy/dns/answer.h"

#include <ares.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <memory>

namespace mxguard::dns {

std::string_view to_string(Status s) {
  switch (s) {
    case Status::Ok: return "ok";
    case Status::NoData: return "no-data";
    case Status::NxDomain: return "nxdomain";
    case Status::Temporary: return "temporary";
    case Status::Malformed: return "malformed";
  }
  return "unknown";
}

std::optional<Header> parse_header(std::span<const unsigned char> m) {
  if (m.size() < 12) return std::nullopt;
  auto u16 = [&](std::size_t at) { return static_cast<std::uint16_t>(m[at] << 8 | m[at + 1]); };
  Header h;
  h.id = u16(0);
  h.response = (m[2] & 0x80) != 0;
  h.truncated = (m[2] & 0x02) != 0;
  h.authenticated = (m[3] & 0x20) != 0;
  h.rcode = m[3] & 0x0f;
  h.qdcount = u16(4);
  h.ancount = u16(6);
  return h;
}

namespace {

constexpr int kNoError = 0;
constexpr int kNxDomain = 3;

using Verdict = detail::HeaderVerdict;

Status status_of_ares_error(int ares_status) {
  switch (ares_status) {
    // c-ares's own meanings of these two are exact; the other codes are transport failures (timeout,
    // connection refused, SERVFAIL/REFUSED after every try, out of memory, destruction).
    case ARES_ENOTFOUND: return Status::NxDomain;
    case ARES_ENODATA: return Status::NoData;
    case ARES_EBADNAME:
    case ARES_EBADQUERY:
    case ARES_EBADRESP:
    case ARES_EFORMERR: return Status::Malformed;
    default: return Status::Temporary;
  }
}

// What went wrong, in the words an operator looks for when the DNS server is gone or broken.
std::string_view failure_of_ares_error(int ares_status) {
  switch (ares_status) {
    case ARES_ETIMEOUT: return "no answer from the DNS server (timeout)";
    // c-ares 1.18 (Debian 12) ends a query whose every try got SERVFAIL, REFUSED or NOTIMP with this code
    // too (its initial error status): only later versions say ARES_ESERVFAIL. So both are named.
    case ARES_ECONNREFUSED: return "the DNS server is unreachable (connection refused) or answered SERVFAIL or REFUSED";
    case ARES_ESERVFAIL: return "the DNS server answered SERVFAIL";
    case ARES_EREFUSED: return "the DNS server refused the query (REFUSED)";
    case ARES_ENOTIMP: return "the DNS server does not implement the query (NOTIMP)";
    case ARES_EFORMERR: return "the DNS server could not read the query (FORMERR)";
    case ARES_EBADRESP: return "the answer cannot be read";
    case ARES_ENOMEM: return "out of memory";
    default: return ares_strerror(ares_status);
  }
}

// The parse helpers' codes: ENODATA (no answer section) and a SUCCESS with no record of the type (an
// answer with only a CNAME whose target has none) both mean NoData.
Status status_of_parse(int parse_status) {
  switch (parse_status) {
    case ARES_SUCCESS: return Status::Ok;
    case ARES_ENODATA: return Status::NoData;
    case ARES_ENOMEM: return Status::Temporary;
    default: return Status::Malformed;
  }
}

template <typename R>
R finish(R result, Status status, bool ad, bool have_records) {
  if (status == Status::Ok && !have_records) status = Status::NoData;
  result.status = status;
  result.authenticated_data = (status == Status::Ok || status == Status::NoData) && ad;
  if (status != Status::Ok) result = R{status, {}, result.authenticated_data};
  return result;
}

struct AresDataFree {
  void operator()(void* p) const { ares_free_data(p); }
};

}  // namespace

namespace detail {

HeaderVerdict examine(int ares_status, std::span<const unsigned char> answer) {
  if (ares_status != ARES_SUCCESS) {
    Status status = status_of_ares_error(ares_status);
    bool failed = status == Status::Temporary || status == Status::Malformed;
    return {status, false, false, failed ? failure_of_ares_error(ares_status) : std::string_view()};
  }
  auto h = parse_header(answer);
  if (!h || !h->response || h->qdcount != 1) return {Status::Malformed, false, false, "the answer cannot be read"};
  // c-ares retries a truncated UDP answer over TCP; one that is still truncated holds a partial set,
  // which must not pass for the whole set.
  if (h->truncated) return {Status::Temporary, false, false, "the answer was truncated, also over TCP"};
  if (h->rcode == kNxDomain) return {Status::NxDomain, h->authenticated};
  // SERVFAIL, REFUSED and NOTIMP never get here (c-ares turns them into a failed try), FORMERR means
  // the server could not read our question: nothing is known about the name either way.
  if (h->rcode != kNoError) return {Status::Temporary, false, false, "the DNS server answered an error RCODE"};
  return {Status::Ok, h->authenticated, true};
}

}  // namespace detail

using detail::examine;

MxResult parse_mx_answer(int ares_status, std::span<const unsigned char> answer) {
  Verdict v = examine(ares_status, answer);
  if (!v.records) return MxResult{v.status, {}, v.ad, std::string(v.failure)};
  ares_mx_reply* head = nullptr;
  int rc = ares_parse_mx_reply(answer.data(), static_cast<int>(answer.size()), &head);
  std::unique_ptr<ares_mx_reply, AresDataFree> owned(head);
  MxResult result;
  for (auto* r = head; r != nullptr; r = r->next) {
    result.records.push_back({r->priority, r->host != nullptr ? r->host : ""});
  }
  const bool any = !result.records.empty();
  result = finish(std::move(result), status_of_parse(rc), v.ad, any);
  if (result.status == Status::Malformed || result.status == Status::Temporary) {
    result.failure = rc == ARES_ENOMEM ? "out of memory" : "the MX records of the answer cannot be read";
  }
  return result;
}

TxtResult parse_txt_answer(int ares_status, std::span<const unsigned char> answer) {
  Verdict v = examine(ares_status, answer);
  if (!v.records) return TxtResult{v.status, {}, v.ad};
  ares_txt_ext* head = nullptr;
  int rc = ares_parse_txt_reply_ext(answer.data(), static_cast<int>(answer.size()), &head);
  std::unique_ptr<ares_txt_ext, AresDataFree> owned(head);
  TxtResult result;
  // One element per character-string; record_start marks the first string of each record.
  for (auto* s = head; s != nullptr; s = s->next) {
    if (s->record_start || result.records.empty()) result.records.emplace_back();
    result.records.back().append(reinterpret_cast<const char*>(s->txt), s->length);
  }
  const bool any = !result.records.empty();
  return finish(std::move(result), status_of_parse(rc), v.ad, any);
}

AddressResult parse_address_answer(int ares_status, std::span<const unsigned char> answer, int family) {
  Verdict v = examine(ares_status, answer);
  if (!v.records) return AddressResult{v.status, {}, v.ad};
  // The answer section cannot hold more addresses than records: size the output by ANCOUNT, so that
  // no address is silently dropped by a fixed-size buffer.
  const int capacity = std::max<int>(1, parse_header(answer)->ancount);
  AddressResult result;
  int count = capacity;
  int rc;
  if (family == AF_INET) {
    std::vector<ares_addrttl> found(static_cast<std::size_t>(capacity));
    rc = ares_parse_a_reply(answer.data(), static_cast<int>(answer.size()), nullptr, found.data(), &count);
    for (int i = 0; rc == ARES_SUCCESS && i < count; ++i) {
      sockaddr_storage ss{};
      auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
      sin->sin_family = AF_INET;
      sin->sin_addr = found[static_cast<std::size_t>(i)].ipaddr;
      result.addresses.push_back(ss);
    }
  } else {
    std::vector<ares_addr6ttl> found(static_cast<std::size_t>(capacity));
    rc = ares_parse_aaaa_reply(answer.data(), static_cast<int>(answer.size()), nullptr, found.data(), &count);
    for (int i = 0; rc == ARES_SUCCESS && i < count; ++i) {
      sockaddr_storage ss{};
      auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
      sin6->sin6_family = AF_INET6;
      static_assert(sizeof(sin6->sin6_addr) == sizeof(found[0].ip6addr));
      std::memcpy(&sin6->sin6_addr, &found[static_cast<std::size_t>(i)].ip6addr, sizeof(sin6->sin6_addr));
      result.addresses.push_back(ss);
    }
  }
  const bool any = !result.addresses.empty();
  return finish(std::move(result), status_of_parse(rc), v.ad, any);
}

AddressResult combine_addresses(const AddressResult& v6, const AddressResult& v4) {
  AddressResult out;
  out.addresses = v6.addresses;
  out.addresses.insert(out.addresses.end(), v4.addresses.begin(), v4.addresses.end());
  auto unknown = [](Status s) { return s == Status::Temporary || s == Status::Malformed; };
  if (!out.addresses.empty()) {
    out.status = Status::Ok;
  } else if (v6.status == Status::Malformed && v4.status == Status::Malformed) {
    out.status = Status::Malformed;   // e.g. a name that cannot be asked
  } else if (unknown(v6.status) || unknown(v4.status)) {
    out.status = Status::Temporary;
  } else if (v6.status == Status::NxDomain || v4.status == Status::NxDomain) {
    out.status = Status::NxDomain;
  } else {
    out.status = Status::NoData;
  }
  out.authenticated_data = !unknown(out.status) && v6.authenticated_data && v4.authenticated_data;
  return out;
}

}  // namespace mxguard::dns

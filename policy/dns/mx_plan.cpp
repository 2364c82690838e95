#include "policy/dns/mx_plan.h"

#include <algorithm>
#include <random>
#include <unordered_set>

#include "base/ascii.h"

namespace mxguard::dns {

std::string_view to_string(MxPlan::Kind k) {
  switch (k) {
    case MxPlan::Kind::Hosts: return "hosts";
    case MxPlan::Kind::NullMx: return "null-mx";
    case MxPlan::Kind::ImplicitMx: return "implicit-mx";
    case MxPlan::Kind::NoSuchDomain: return "no-such-domain";
    case MxPlan::Kind::Temporary: return "temporary";
  }
  return "unknown";
}

RandomIndex system_random_index() {
  return [](std::size_t bound) -> std::size_t {
    thread_local std::mt19937_64 engine{std::random_device{}()};
    return std::uniform_int_distribution<std::size_t>(0, bound - 1)(engine);
  };
}

namespace {

std::string normalize(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  return ascii::lower(name);
}

bool is_label_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

// "MX lookup failed temporarily: the DNS server answered SERVFAIL".
std::string with_failure(std::string what, const std::string& failure) {
  return failure.empty() ? what : what + ": " + failure;
}

MxPlan failed(MxPlan::Kind kind, std::string reason, bool ad = false) {
  MxPlan plan;
  plan.kind = kind;
  plan.reason = std::move(reason);
  plan.authenticated_data = ad;
  return plan;
}

// Fisher-Yates over [first, last) with the injected randomness. An out-of-range answer from a broken
// source is folded back into range rather than trusted.
template <typename It>
void shuffle(It first, It last, const RandomIndex& random) {
  for (auto n = static_cast<std::size_t>(last - first); n > 1; --n) {
    std::size_t j = random(n) % n;
    std::iter_swap(first + static_cast<std::ptrdiff_t>(n - 1), first + static_cast<std::ptrdiff_t>(j));
  }
}

}  // namespace

bool is_mx_host_name(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  std::string_view last_label;
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t dot = name.find('.', start);
    std::string_view label = name.substr(start, dot == std::string_view::npos ? name.npos : dot - start);
    if (label.empty() || label.size() > 63) return false;
    if (!std::all_of(label.begin(), label.end(), is_label_char)) return false;
    last_label = label;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  // An all-numeric last label is an IPv4 literal ("192.0.2.1", inet_aton's "10.1") or a top-level
  // domain that cannot exist (RFC 3696 §2): either way, not something to look up and connect to.
  return !std::all_of(last_label.begin(), last_label.end(), [](char c) { return c >= '0' && c <= '9'; });
}

MxPlan plan_mx(const MxResult& result, std::string_view domain, const RandomIndex& random) {
  const bool ad = result.authenticated_data;
  switch (result.status) {
    case Status::NxDomain:
      return failed(MxPlan::Kind::NoSuchDomain, "the domain does not exist (NXDOMAIN)", ad);
    case Status::Temporary:
      return failed(MxPlan::Kind::Temporary, with_failure("MX lookup failed temporarily", result.failure));
    case Status::Malformed:
      return failed(MxPlan::Kind::Temporary, with_failure("MX lookup gave an unreadable answer", result.failure));
    case Status::NoData:
    case Status::Ok:
      break;
  }
  if (result.status == Status::NoData || result.records.empty()) {
    std::string host = normalize(domain);
    if (!is_mx_host_name(host)) return failed(MxPlan::Kind::Temporary, "the domain is not a host name");
    MxPlan plan;
    plan.kind = MxPlan::Kind::ImplicitMx;
    plan.hosts.push_back(std::move(host));
    plan.authenticated_data = ad;
    return plan;
  }

  std::vector<MxRecord> usable;
  std::size_t roots = 0;
  for (const MxRecord& r : result.records) {
    std::string host = normalize(r.host);
    if (host.empty()) {
      ++roots;
    } else if (is_mx_host_name(host)) {
      usable.push_back({r.preference, std::move(host)});
    }
  }
  if (usable.empty()) {
    if (roots == result.records.size()) {
      return failed(MxPlan::Kind::NullMx, "the domain accepts no mail (null MX, RFC 7505)", ad);
    }
    return failed(MxPlan::Kind::Temporary, "no MX record names a usable host", ad);
  }

  std::stable_sort(usable.begin(), usable.end(),
                   [](const MxRecord& a, const MxRecord& b) { return a.preference < b.preference; });
  for (auto group = usable.begin(); group != usable.end();) {
    auto end = std::find_if(group, usable.end(),
                            [&](const MxRecord& r) { return r.preference != group->preference; });
    shuffle(group, end, random);
    group = end;
  }

  MxPlan plan;
  plan.kind = MxPlan::Kind::Hosts;
  plan.authenticated_data = ad;
  std::unordered_set<std::string> seen;
  for (MxRecord& r : usable) {
    if (seen.insert(r.host).second) plan.hosts.push_back(std::move(r.host));
  }
  return plan;
}

}  // namespace mxguard::dns

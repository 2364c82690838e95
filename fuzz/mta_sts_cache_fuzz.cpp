// The MTA-STS cache file's parser (policy/mta_sts/cache_file.h) over arbitrary bytes. Checks that it
// never throws (nlohmann does, inside) and that what it keeps is what the file format promises: every
// entry valid on its own, one per domain, its policy what parse_policy makes of its body; the entries
// re-serialize and re-parse to the same entries without a problem; every left-out entry is named; and
// the cache takes them all and holds each in force from its fetched_at to its expiry.
#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/check.h"
#include "policy/mta_sts/cache.h"
#include "policy/mta_sts/cache_file.h"
#include "policy/mta_sts/policy_file.h"
#include "policy/names.h"

using namespace mxguard;
using namespace mxguard::mta_sts;

namespace {

bool is_id(std::string_view id) {
  if (id.empty() || id.size() > 32) return false;
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) return false;
  }
  return true;
}

void check_entry(const CachedPolicy& e) {
  FUZZ_CHECK(policy::domain_syntax_problem(e.domain).empty());
  for (char c : e.domain) FUZZ_CHECK(!(c >= 'A' && c <= 'Z'));
  FUZZ_CHECK(is_id(e.id));
  const std::int64_t t = e.fetched_at.time_since_epoch().count();
  FUZZ_CHECK(t >= 0 && t <= 253402300799);
  auto again = parse_policy(e.policy.text);
  FUZZ_CHECK(std::holds_alternative<Policy>(again));
  Policy p = std::get<Policy>(std::move(again));
  p.text = e.policy.text;
  FUZZ_CHECK(p == e.policy);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = parse_cache(text);
  if (auto* error = std::get_if<std::string>(&parsed)) {
    FUZZ_CHECK(!error->empty());
    return 0;
  }
  const ParsedCache& cache = std::get<ParsedCache>(parsed);
  std::set<std::string> domains;
  for (const CachedPolicy& e : cache.entries) {
    check_entry(e);
    FUZZ_CHECK(domains.insert(e.domain).second);
  }
  for (const std::string& problem : cache.problems) FUZZ_CHECK(problem.starts_with("entry "));

  auto round = parse_cache(serialize_cache(cache.entries));
  FUZZ_CHECK(std::holds_alternative<ParsedCache>(round));
  const ParsedCache& back = std::get<ParsedCache>(round);
  FUZZ_CHECK(back.entries == cache.entries);
  FUZZ_CHECK(back.problems.empty());

  // The cache keys by the same lower-case name, so it keeps every entry and lists them by domain.
  Cache policies;
  for (const CachedPolicy& e : cache.entries) policies.store(e);
  std::vector<CachedPolicy> by_domain = cache.entries;
  std::sort(by_domain.begin(), by_domain.end(),
            [](const CachedPolicy& a, const CachedPolicy& b) { return a.domain < b.domain; });
  FUZZ_CHECK(policies.entries() == by_domain);
  for (const CachedPolicy& e : cache.entries) {
    FUZZ_CHECK((policies.in_force(e.domain, e.fetched_at) != nullptr) == (e.policy.max_age > 0));
    FUZZ_CHECK(policies.in_force(e.domain, e.expires_at()) == nullptr);
  }
  return 0;
}

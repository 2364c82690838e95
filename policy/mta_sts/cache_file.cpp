// The MTA-STS cache file's format (cache_file.h): serialize_cache and parse_cache, pure. Reading and
// writing the file is cache_file_io.cpp.
//
// {"format": "mxguard-mta-sts-cache", "version": 1,
//  "entries": [{"domain": "example.com", "id": "20160831085700Z", "fetched_at": 1700000000,
//               "policy": "version: STSv1\r\nmode: enforce\r\n..."}]}
//
// The policy is kept as the body that was fetched and parsed again on load by parse_policy, so the file
// can never hold a policy the parser would refuse, and a parser fix applies to cached policies too.
#include "policy/mta_sts/cache_file.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <set>

#include "base/log_text.h"
#include "policy/names.h"

namespace mxguard::mta_sts {
namespace {

using Json = nlohmann::json;

constexpr std::string_view kFormat = "mxguard-mta-sts-cache";
constexpr std::int64_t kVersion = 1;
// The file is an object of a list of objects of strings and numbers: depth 3. Far deeper nesting is
// refused while parsing, so a hostile file cannot make the parser build (and free) a deep tree; some
// room is left for members a later writer might add to an entry.
constexpr int kMaxDepth = 16;
constexpr std::int64_t kLatestFetchedAt = 253402300799;   // 9999-12-31T23:59:59Z

struct TooDeep {};

std::string shown(std::string_view s) { return "\"" + log_text::sanitize(s, 64) + "\""; }

// nlohmann's messages start with "[json.exception.parse_error.101] "; the rest says where and what.
std::string json_error(const Json::exception& e) {
  std::string_view what = e.what();
  if (what.starts_with("[json.exception.")) {
    std::size_t end = what.find("] ");
    if (end != std::string_view::npos) what.remove_prefix(end + 2);
  }
  return std::string(what);
}

std::string id_problem(std::string_view id) {
  if (id.empty() || id.size() > 32) return "is not 1..32 characters";
  for (char c : id) {
    bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!alnum) return "has a character other than a letter or digit";
  }
  return "";
}

std::string domain_problem(std::string_view domain) {
  std::string problem = policy::domain_syntax_problem(domain);
  if (!problem.empty()) return "it " + problem;
  if (policy::looks_like_address_literal(domain)) return "it is an address, not a domain";
  for (char c : domain) {
    if (c >= 'A' && c <= 'Z') return "it is not in lower case";
  }
  return "";
}

const Json* member(const Json& object, const char* name) {
  auto it = object.find(name);
  return it == object.end() ? nullptr : &*it;
}

// One entry of the list, or what is wrong with it (words that follow "entry N (domain): ").
std::variant<CachedPolicy, std::string> parse_entry(const Json& entry) {
  if (!entry.is_object()) return std::string("is not an object");
  const Json* domain = member(entry, "domain");
  if (!domain || !domain->is_string()) return std::string("has no \"domain\" string");
  const std::string& name = domain->get_ref<const std::string&>();
  if (std::string problem = domain_problem(name); !problem.empty()) {
    return "domain is not a domain name: " + problem;
  }

  const Json* id = member(entry, "id");
  if (!id || !id->is_string()) return std::string("has no \"id\" string");
  const std::string& id_text = id->get_ref<const std::string&>();
  if (std::string problem = id_problem(id_text); !problem.empty()) return "id " + shown(id_text) + " " + problem;

  const Json* fetched_at = member(entry, "fetched_at");
  if (!fetched_at || !fetched_at->is_number_integer()) {
    return std::string("has no \"fetched_at\" in whole seconds");
  }
  // Tested before converting: an unsigned value above the signed range would wrap.
  const bool in_range = fetched_at->is_number_unsigned()
                            ? fetched_at->get<std::uint64_t>() <= std::uint64_t(kLatestFetchedAt)
                            : fetched_at->get<std::int64_t>() >= 0 && fetched_at->get<std::int64_t>() <= kLatestFetchedAt;
  if (!in_range) return "fetched_at " + fetched_at->dump() + " is not between 1970 and 9999";
  const std::int64_t seconds = fetched_at->get<std::int64_t>();

  const Json* body = member(entry, "policy");
  if (!body || !body->is_string()) return std::string("has no \"policy\" string");
  const std::string& text = body->get_ref<const std::string&>();
  if (text.size() > kMaxPolicyBytes) return "policy is larger than " + std::to_string(kMaxPolicyBytes) + " bytes";
  auto parsed = parse_policy(text);
  if (auto* problem = std::get_if<std::string>(&parsed)) return "the policy " + *problem;

  Policy policy = std::get<Policy>(std::move(parsed));
  policy.text = text;
  return CachedPolicy{name, id_text, Seconds{std::chrono::seconds{seconds}}, std::move(policy)};
}

std::string where(std::size_t index, const Json& entry) {
  std::string out = "entry " + std::to_string(index + 1);
  if (entry.is_object()) {
    const Json* domain = member(entry, "domain");
    if (domain && domain->is_string()) out += " (" + log_text::sanitize(domain->get_ref<const std::string&>(), 64) + ")";
  }
  return out;
}

}  // namespace

std::string serialize_cache(const std::vector<CachedPolicy>& entries) {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const CachedPolicy& e : entries) {
    list.push_back({{"domain", e.domain},
                    {"id", e.id},
                    {"fetched_at", e.fetched_at.time_since_epoch().count()},
                    {"policy", e.policy.text}});
  }
  nlohmann::ordered_json root = {{"format", kFormat}, {"version", kVersion}, {"entries", std::move(list)}};
  // A fetched body is not necessarily UTF-8 (bytes in an ignored line); JSON cannot carry such bytes, so
  // they become U+FFFD. The policy's meaning (version, mode, mx, max_age) is ASCII and unchanged.
  return root.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

std::variant<ParsedCache, std::string> parse_cache(std::string_view text) {
  if (text.size() > kMaxCacheFileBytes) return std::string("is larger than 64 MiB");
  Json root;
  try {
    auto refuse_deep = [](int depth, Json::parse_event_t, Json&) {
      if (depth > kMaxDepth) throw TooDeep{};
      return true;
    };
    root = Json::parse(text.begin(), text.end(), refuse_deep);
  } catch (const TooDeep&) {
    return std::string("nests deeper than a cache file");
  } catch (const Json::exception& e) {
    return "is not JSON: " + json_error(e);
  }
  if (!root.is_object()) return std::string("is not a JSON object");

  const Json* format = member(root, "format");
  if (!format) return std::string("has no \"format\"");
  if (!format->is_string() || format->get_ref<const std::string&>() != kFormat) {
    return "has format " + log_text::sanitize(format->dump(), 64) + ", not \"" + std::string(kFormat) + "\"";
  }
  const Json* version = member(root, "version");
  if (!version) return std::string("has no \"version\"");
  if (!version->is_number_integer() || version->get<std::int64_t>() != kVersion) {
    return "has version " + log_text::sanitize(version->dump(), 64) + ", not " + std::to_string(kVersion);
  }
  const Json* entries = member(root, "entries");
  if (!entries) return std::string("has no \"entries\"");
  if (!entries->is_array()) return std::string("has \"entries\" that are not a list");

  ParsedCache out;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < entries->size(); ++i) {
    const Json& entry = (*entries)[i];
    auto parsed = parse_entry(entry);
    if (auto* problem = std::get_if<std::string>(&parsed)) {
      out.problems.push_back(where(i, entry) + ": " + *problem);
      continue;
    }
    CachedPolicy& cached = std::get<CachedPolicy>(parsed);
    if (!seen.insert(cached.domain).second) {
      out.problems.push_back(where(i, entry) + ": the domain has an earlier entry, which is kept");
      continue;
    }
    out.entries.push_back(std::move(cached));
  }
  return out;
}

}  // namespace mxguard::mta_sts

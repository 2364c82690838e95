// The cache file's format: serialize_cache and parse_cache, pure (the disk is cache_file_io_test.cpp).
#include "policy/mta_sts/cache_file.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "policy/mta_sts/tests/cache_test_support.h"

namespace mxguard::mta_sts {
namespace {

using testing::cached;
using testing::enforce_body;
using Json = nlohmann::json;

std::vector<CachedPolicy> two_policies() {
  return {cached("a.example", "20160831085700Z", 1700000000, enforce_body("mx.a.example")),
          cached("b.example", "id2", 1700000100,
                 "version: STSv1\nmode: testing\nmx: *.b.example\nmx: backup.example.net\nmax_age: 604800\n")};
}

ParsedCache parse_ok(const std::string& text) {
  auto parsed = parse_cache(text);
  if (auto* error = std::get_if<std::string>(&parsed)) {
    ADD_FAILURE() << "parse_cache failed: " << *error;
    return {};
  }
  return std::get<ParsedCache>(parsed);
}

std::string parse_error(const std::string& text) {
  auto parsed = parse_cache(text);
  if (std::holds_alternative<ParsedCache>(parsed)) {
    ADD_FAILURE() << "parse_cache accepted: " << text.substr(0, 200);
    return "";
  }
  return std::get<std::string>(parsed);
}

// A file of one entry whose members are `entry` (a JSON object text).
std::string file_with(const std::string& entry) {
  return R"({"format": "mxguard-mta-sts-cache", "version": 1, "entries": [)" + entry + "]}";
}

// The JSON text of a good entry with one member replaced (or removed, when `value` is empty).
std::string entry_with(const std::string& member, const std::string& value) {
  Json entry = {{"domain", "example.com"},
                {"id", "id1"},
                {"fetched_at", 1700000000},
                {"policy", enforce_body("mx.example.com")}};
  if (value.empty()) {
    entry.erase(member);
  } else {
    entry[member] = Json::parse(value);
  }
  return entry.dump();
}

TEST(CacheFileFormat, RoundTrip) {
  const std::vector<CachedPolicy> entries = two_policies();
  ParsedCache parsed = parse_ok(serialize_cache(entries));
  EXPECT_EQ(parsed.entries, entries);
  EXPECT_TRUE(parsed.problems.empty());
}

TEST(CacheFileFormat, AnEmptyCacheRoundTrips) {
  ParsedCache parsed = parse_ok(serialize_cache({}));
  EXPECT_TRUE(parsed.entries.empty());
  EXPECT_TRUE(parsed.problems.empty());
}

TEST(CacheFileFormat, IsTheDocumentedJson) {
  Json file = Json::parse(serialize_cache(two_policies()));
  EXPECT_EQ(file["format"], "mxguard-mta-sts-cache");
  EXPECT_EQ(file["version"], 1);
  ASSERT_EQ(file["entries"].size(), 2u);
  const Json& first = file["entries"][0];
  EXPECT_EQ(first["domain"], "a.example");
  EXPECT_EQ(first["id"], "20160831085700Z");
  EXPECT_TRUE(first["fetched_at"].is_number_integer());
  EXPECT_EQ(first["fetched_at"], 1700000000);
  EXPECT_EQ(first["policy"], enforce_body("mx.a.example"));   // the body as fetched, CRLF and all
}

TEST(CacheFileFormat, TheFormatComesFirstForAReaderOfTheFile) {
  EXPECT_TRUE(serialize_cache({}).starts_with("{\n  \"format\": \"mxguard-mta-sts-cache\""));
}

struct NotACache {
  const char* label;
  std::string text;
  std::string error_contains;
};

void PrintTo(const NotACache& c, std::ostream* out) { *out << c.label; }

class CacheFileNotACache : public ::testing::TestWithParam<NotACache> {};

TEST_P(CacheFileNotACache, IsAnErrorForTheWholeFile) {
  EXPECT_NE(parse_error(GetParam().text).find(GetParam().error_contains), std::string::npos)
      << parse_error(GetParam().text);
}

const std::string kHead = R"({"format": "mxguard-mta-sts-cache", )";

INSTANTIATE_TEST_SUITE_P(
    Cases, CacheFileNotACache,
    ::testing::Values(
        NotACache{"empty", "", "is not JSON"},
        NotACache{"truncated", kHead + R"("version": 1, "entries": [)", "is not JSON"},
        NotACache{"not json", "garbage", "is not JSON: parse error at line 1, column 1"},
        NotACache{"a list", "[]", "is not a JSON object"},
        NotACache{"a string", "\"mxguard-mta-sts-cache\"", "is not a JSON object"},
        NotACache{"no format", R"({"version": 1, "entries": []})", "has no \"format\""},
        NotACache{"another format", R"({"format": "other", "version": 1, "entries": []})",
                  "has format \"other\", not \"mxguard-mta-sts-cache\""},
        NotACache{"format not a string", R"({"format": 1, "version": 1, "entries": []})", "has format 1"},
        NotACache{"no version", kHead + R"("entries": []})", "has no \"version\""},
        NotACache{"version 2", kHead + R"("version": 2, "entries": []})", "has version 2, not 1"},
        NotACache{"version as a string", kHead + R"("version": "1", "entries": []})", "has version \"1\""},
        NotACache{"version 1.0", kHead + R"("version": 1.0, "entries": []})", "has version 1.0"},
        NotACache{"version huge", kHead + R"("version": 18446744073709551617, "entries": []})", "has version"},
        NotACache{"no entries", kHead + R"("version": 1})", "has no \"entries\""},
        NotACache{"entries an object", kHead + R"("version": 1, "entries": {}})", "not a list"},
        NotACache{"deep nesting", kHead + R"("version": 1, "entries": [], "x": )" + std::string(100000, '[') +
                                      std::string(100000, ']') + "}",
                  "nests deeper"},
        NotACache{"invalid UTF-8", kHead + "\"version\": 1, \"entries\": [], \"x\": \"\xff\"}", "is not JSON"},
        NotACache{"trailing garbage", kHead + R"("version": 1, "entries": []} x)", "is not JSON"}));

TEST(CacheFileFormat, AFileLargerThan64MiBIsNotACache) {
  std::string huge = serialize_cache({});
  huge.resize(kMaxCacheFileBytes + 1, ' ');   // valid JSON but for its size
  EXPECT_EQ(parse_error(huge), "is larger than 64 MiB");
}

TEST(CacheFileFormat, OneBadEntryAmongGoodOnesIsLeftOutAndNamed) {
  std::vector<CachedPolicy> entries = two_policies();
  entries.insert(entries.begin() + 1, cached("bad.example", "not-an-id", 1700000000, enforce_body("mx.bad.example")));
  ParsedCache parsed = parse_ok(serialize_cache(entries));
  EXPECT_EQ(parsed.entries, two_policies());
  ASSERT_EQ(parsed.problems.size(), 1u);
  EXPECT_EQ(parsed.problems[0],
            "entry 2 (bad.example): id \"not-an-id\" has a character other than a letter or digit");
}

struct BadEntry {
  const char* label;
  std::string entry;
  std::string problem_contains;
};

void PrintTo(const BadEntry& c, std::ostream* out) { *out << c.label; }

class CacheFileBadEntry : public ::testing::TestWithParam<BadEntry> {};

TEST_P(CacheFileBadEntry, IsLeftOutAndNamed) {
  ParsedCache parsed = parse_ok(file_with(GetParam().entry));
  EXPECT_TRUE(parsed.entries.empty());
  ASSERT_EQ(parsed.problems.size(), 1u);
  EXPECT_TRUE(parsed.problems[0].starts_with("entry 1")) << parsed.problems[0];
  EXPECT_NE(parsed.problems[0].find(GetParam().problem_contains), std::string::npos) << parsed.problems[0];
}

INSTANTIATE_TEST_SUITE_P(
    Cases, CacheFileBadEntry,
    ::testing::Values(
        BadEntry{"not an object", "[]", "entry 1: is not an object"},
        BadEntry{"no domain", entry_with("domain", ""), "has no \"domain\" string"},
        BadEntry{"domain not a string", entry_with("domain", "7"), "has no \"domain\" string"},
        BadEntry{"empty label", entry_with("domain", R"("a..example")"), "(a..example): domain is not a domain name: it"},
        BadEntry{"trailing dot", entry_with("domain", R"("example.com.")"), "domain is not a domain name"},
        BadEntry{"upper case", entry_with("domain", R"("Example.com")"), "it is not in lower case"},
        BadEntry{"an address", entry_with("domain", R"("192.0.2.1")"), "domain is not a domain name"},
        BadEntry{"control bytes shown safely", entry_with("domain", R"("a\u001b[2Jb")"), "(a?[2Jb)"},
        BadEntry{"no id", entry_with("id", ""), "has no \"id\" string"},
        BadEntry{"empty id", entry_with("id", R"("")"), "id \"\" is not 1..32 characters"},
        BadEntry{"id of 33", entry_with("id", "\"" + std::string(33, 'a') + "\""), "is not 1..32 characters"},
        BadEntry{"id with a dash", entry_with("id", R"("a-b")"), "has a character other than a letter or digit"},
        BadEntry{"no fetched_at", entry_with("fetched_at", ""), "has no \"fetched_at\" in whole seconds"},
        BadEntry{"fetched_at a string", entry_with("fetched_at", R"("1700000000")"), "in whole seconds"},
        BadEntry{"fetched_at fractional", entry_with("fetched_at", "1700000000.5"), "in whole seconds"},
        BadEntry{"fetched_at a bool", entry_with("fetched_at", "true"), "in whole seconds"},
        BadEntry{"fetched_at negative", entry_with("fetched_at", "-1"), "fetched_at -1 is not between 1970 and 9999"},
        BadEntry{"fetched_at past 9999", entry_with("fetched_at", "253402300800"), "is not between 1970 and 9999"},
        BadEntry{"fetched_at past int64", entry_with("fetched_at", "18446744073709551615"), "fetched_at 18446744073709551615 is not between 1970 and 9999"},
        BadEntry{"no policy", entry_with("policy", ""), "has no \"policy\" string"},
        BadEntry{"policy not a string", entry_with("policy", R"({"mode": "enforce"})"), "has no \"policy\" string"},
        BadEntry{"policy refused by the parser", entry_with("policy", R"("version: STSv1\nmode: enforce\nmx: mx.example.com\n")"),
                 "(example.com): the policy "},
        BadEntry{"policy with a misspelt mx", entry_with("policy", R"("version: STSv1\nmode: enforce\nnmx: mx.example.com\nmax_age: 86400\n")"),
                 "(example.com): the policy "},
        BadEntry{"policy larger than 64 KiB",
                 entry_with("policy", Json(enforce_body("mx.example.com") + std::string(kMaxPolicyBytes, '#')).dump()),
                 "policy is larger than 65536 bytes"}));

TEST(CacheFileFormat, ASecondEntryForADomainIsLeftOutAndTheFirstKept) {
  std::vector<CachedPolicy> entries = two_policies();
  CachedPolicy again = entries[0];
  again.id = "other";
  entries.push_back(again);
  ParsedCache parsed = parse_ok(serialize_cache(entries));
  EXPECT_EQ(parsed.entries, two_policies());
  ASSERT_EQ(parsed.problems.size(), 1u);
  EXPECT_EQ(parsed.problems[0], "entry 3 (a.example): the domain has an earlier entry, which is kept");
}

TEST(CacheFileFormat, UnknownMembersAreIgnored) {
  Json file = Json::parse(serialize_cache(two_policies()));
  file["written_by"] = "mxguard 2.0";
  file["entries"][0]["note"] = {{"nested", {1, 2, 3}}};
  ParsedCache parsed = parse_ok(file.dump());
  EXPECT_EQ(parsed.entries, two_policies());
  EXPECT_TRUE(parsed.problems.empty());
}

// parse_policy refuses bodies that are not UTF-8, so such a text can only come from a caller that built
// the entry itself. It must still neither throw (nlohmann's dump does by default) nor write bad JSON.
TEST(CacheFileFormat, ATextThatIsNotUtf8IsWrittenWithReplacementCharacters) {
  CachedPolicy odd = cached("example.com", "id1", 1700000000, enforce_body("mx.example.com"));
  odd.policy.text += "comment: caf\xe9\n";
  odd.id = "id\xff";
  Json file = Json::parse(serialize_cache({odd}));
  EXPECT_EQ(file["entries"][0]["policy"], enforce_body("mx.example.com") + "comment: caf\xef\xbf\xbd\n");
  ParsedCache parsed = parse_ok(file.dump());
  EXPECT_TRUE(parsed.entries.empty());   // the id is not letters and digits
  EXPECT_EQ(parsed.problems.size(), 1u);
}

TEST(CacheFileFormat, TheLatestRepresentableTimeRoundTrips) {
  std::vector<CachedPolicy> entries = {cached("example.com", "id1", 253402300799, enforce_body("mx.example.com")),
                                       cached("epoch.example", "id1", 0, enforce_body("mx.epoch.example"))};
  EXPECT_EQ(parse_ok(serialize_cache(entries)).entries, entries);
}

}  // namespace
}  // namespace mxguard::mta_sts

#pragma once
// What the cache file tests share: policies parsed from literal bodies, and a private temporary directory.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <variant>
#include <vector>

#include "policy/mta_sts/cache.h"
#include "policy/mta_sts/policy_file.h"

namespace mxguard::mta_sts::testing {

inline std::string enforce_body(const std::string& mx, std::uint32_t max_age = 86400) {
  return "version: STSv1\r\nmode: enforce\r\nmx: " + mx + "\r\nmax_age: " + std::to_string(max_age) + "\r\n";
}

// A cached policy as the fetcher would store it: the body parsed by the one parser.
inline CachedPolicy cached(std::string domain, std::string id, std::int64_t fetched_at, const std::string& body) {
  auto parsed = parse_policy(body);
  if (auto* problem = std::get_if<std::string>(&parsed)) ADD_FAILURE() << "test body: the policy " << *problem;
  Policy policy = std::holds_alternative<Policy>(parsed) ? std::get<Policy>(parsed) : Policy{};
  policy.text = body;
  return CachedPolicy{std::move(domain), std::move(id), Seconds{std::chrono::seconds{fetched_at}}, std::move(policy)};
}

// mkdtemp under $TMPDIR (or /tmp); removed with everything in it at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "mxguard-mta-sts-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
    path_ = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all, ec);   // after a read-only test
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

  // The names in the directory, sorted.
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(path_)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  std::filesystem::path path_;
};

inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

}  // namespace mxguard::mta_sts::testing

#pragma once
// The MTA-STS cache on disk ([mta_sts] cache_file), so that a restart never forgets a policy and never
// reopens the downgrade window. JSON (one object: format version and the entries, each with the policy
// body as fetched, which is parsed again on load by the one policy parser).
//
// Writes are atomic: a temporary file in the same directory, fsync, rename over the old file, fsync of
// the directory. A file that cannot be read as a cache (bad JSON, wrong version, an entry that does not
// parse) is never fatal and never silently empty: it is renamed aside ("<file>.corrupt-<UTC time>") and
// the caller is told which entries were kept and what was wrong, with the file's name.
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "policy/mta_sts/cache.h"

namespace mxguard::mta_sts {

std::string serialize_cache(const std::vector<CachedPolicy>& entries);

struct ParsedCache {
  std::vector<CachedPolicy> entries;     // those that were valid
  std::vector<std::string> problems;     // one line per entry left out ("entry 3 (example.com): ...")
};
// Fails (with what is wrong) when the text is not a cache at all; entries that are wrong on their own
// are left out and named in `problems`.
std::variant<ParsedCache, std::string> parse_cache(std::string_view text);

struct LoadedCache {
  std::vector<CachedPolicy> entries;
  std::vector<std::string> warnings;   // for the process log, each naming the file
};
// A missing file is an empty cache without a warning. An unreadable or corrupt one is set aside (see
// above) and reported.
LoadedCache load_cache_file(const std::string& path);

// Atomically replaces `path` with `text`. Returns "" or what went wrong, naming the file.
std::string write_cache_file(const std::string& path, std::string_view text);

}  // namespace mxguard::mta_sts

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

// Larger than any cache of real domains: a file above it is not a cache (and is not read into memory).
constexpr std::size_t kMaxCacheFileBytes = 64 * 1024 * 1024;

// The file's text for `entries`, in their order. Bytes of a policy body that are not UTF-8 (JSON
// cannot carry them) are written as U+FFFD; every field that parse_policy reads is ASCII.
std::string serialize_cache(const std::vector<CachedPolicy>& entries);

struct ParsedCache {
  std::vector<CachedPolicy> entries;     // those that were valid
  std::vector<std::string> problems;     // one line per entry left out ("entry 3 (example.com): ...")
};
// Fails (with what is wrong, in words that follow "the file": "is not JSON: ...", "has version 2, not
// 1") when the text is not a cache at all: larger than kMaxCacheFileBytes, not JSON, not an object,
// another format or version, no "entries" list. Entries that are wrong on their own are left out and
// named in `problems`: a domain that is not a lower-case domain name, an id that is not 1..32 letters
// and digits, a fetched_at that is not whole seconds between 1970 and 9999, a policy that parse_policy
// refuses, a second entry for a domain (the first is kept). Unknown members are ignored. Never throws.
std::variant<ParsedCache, std::string> parse_cache(std::string_view text);

struct LoadedCache {
  std::vector<CachedPolicy> entries;
  std::vector<std::string> warnings;   // for the process log, each naming the file
};
// A missing file is an empty cache without a warning. An unreadable or corrupt one is renamed aside
// (see above) and reported; the cache starts empty. A file with some bad entries keeps its good ones:
// the file as it was gets the ".corrupt-" name too (a hard link, so no moment without a cache file),
// and the good entries are written back to `path`. Something that is not a regular file (a directory)
// is reported and left alone. Never throws, never fatal.
LoadedCache load_cache_file(const std::string& path);

// Atomically replaces `path` with `text`: "<path>.tmp-<pid>" (another free name if that one is taken)
// created O_EXCL with mode 0600, written, fsync'd, renamed over `path`, then the directory fsync'd.
// Returns "" or what went wrong, naming the file; on failure the temporary file is removed and `path`
// is as it was (unless only the directory's fsync failed: then the new text is in place). Never throws.
std::string write_cache_file(const std::string& path, std::string_view text);

}  // namespace mxguard::mta_sts

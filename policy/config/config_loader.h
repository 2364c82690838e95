#pragma once
// Reads and validates the TOML configuration. Never throws: toml++ exceptions stay inside.
#include <string>
#include <string_view>
#include <variant>
#include "policy/config/config.h"

namespace mxguard::config {

struct ConfigError {
  std::string file;
  int line = 0;          // 1-based; 0 when no line applies (file unreadable)
  std::string key;       // dotted key, e.g. "inbound.backend" or "inbound.certificate[1].key"
  std::string message;   // what is wrong and what is expected

  // "FILE:LINE: KEY: MESSAGE" (parts that are empty are left out)
  std::string to_string() const;
};

using LoadResult = std::variant<Config, ConfigError>;

// Parses `text` as if it were the file `path` (for messages). Unknown keys are errors (a typo must not
// silently fall back to a default); so are wrong types, out-of-range values and unparsable endpoints.
LoadResult parse_config(std::string_view text, std::string_view path);

// Reads the file and parses it. Certificate and key files are not opened here (tls/ does that and reports
// its own errors with the key name).
LoadResult load_config(const std::string& path);

}  // namespace mxguard::config

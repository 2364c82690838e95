#pragma once
// Every problem is collected, and the one that comes first in the file is reported, so the operator fixes
// the file top to bottom no matter in which order the sections are checked.
#include <algorithm>
#include <climits>
#include <string>
#include <utility>
#include <vector>

#include "policy/config/config_loader.h"

namespace mxguard::config {

class Diagnostics {
 public:
  explicit Diagnostics(std::string file) : file_(std::move(file)) {}

  void error(int line, std::string key, std::string message) {
    errors_.push_back(ConfigError{file_, line, std::move(key), std::move(message)});
  }
  void warn(int line, std::string key, std::string message) {
    warnings_.push_back(ConfigError{file_, line, std::move(key), std::move(message)}.to_string());
  }
  bool ok() const { return errors_.empty(); }

  // Problems without a line (a missing section) sort after those with one; ties keep discovery order.
  ConfigError first() const {
    auto rank = [](const ConfigError& e) { return e.line > 0 ? e.line : INT_MAX; };
    return *std::min_element(errors_.begin(), errors_.end(),
                             [&](const ConfigError& a, const ConfigError& b) { return rank(a) < rank(b); });
  }
  std::vector<std::string> take_warnings() { return std::move(warnings_); }

 private:
  std::string file_;
  std::vector<ConfigError> errors_;
  std::vector<std::string> warnings_;
};

}  // namespace mxguard::config

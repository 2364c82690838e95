#pragma once
// What the configuration tests have in common: load a TOML text as the file "mxguard.toml", expecting it
// to load (load_ok) or to be refused (load_error); a surprise is a test failure that shows the file.
#include <gtest/gtest.h>

#include <string>
#include <variant>

#include "policy/config/config_loader.h"

namespace mxguard::config::testing {

constexpr const char* kFile = "mxguard.toml";

inline Config load_ok(const std::string& text) {
  LoadResult result = parse_config(text, kFile);
  if (const auto* error = std::get_if<ConfigError>(&result)) {
    ADD_FAILURE() << error->to_string() << "\n--- file ---\n" << text;
    return Config{};
  }
  return std::get<Config>(std::move(result));
}

inline ConfigError load_error(const std::string& text) {
  LoadResult result = parse_config(text, kFile);
  if (std::holds_alternative<Config>(result)) {
    ADD_FAILURE() << "expected an error\n--- file ---\n" << text;
    return ConfigError{};
  }
  return std::get<ConfigError>(std::move(result));
}

}  // namespace mxguard::config::testing

#pragma once
// Section: one TOML table with its dotted name, and typed readers for its keys whose every error names
// file, line and key. Reading a key that is absent leaves the caller's default untouched; a key of the
// wrong type or value is reported and also leaves the default. A section that is absent from the file
// (table == nullptr) reads as all defaults.
#include <toml++/toml.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "policy/config/config.h"
#include "policy/config/diagnostics.h"
#include "policy/config/message_text.h"
#include "policy/config/value_syntax.h"

namespace mxguard::config {

class Section {
 public:
  Section(Diagnostics& diag, const toml::table* table, std::string name, int line)
      : diag_(diag), table_(table), name_(std::move(name)), line_(line) {}

  // Every key not in `known` is an error: a typo must not silently leave a default in place.
  void expect_keys(const std::vector<std::string_view>& known) const;

  Diagnostics& diagnostics() const { return diag_; }
  const toml::table* table() const { return table_; }
  int line() const { return line_; }
  bool has(std::string_view k) const { return find(k) != nullptr; }
  std::string key(std::string_view k) const { return join_key(name_, k); }
  int line(std::string_view k) const;
  const toml::node* find(std::string_view k) const { return table_ != nullptr ? table_->get(k) : nullptr; }

  void error(std::string_view k, std::string message) const { diag_.error(line(k), key(k), std::move(message)); }
  void warn(std::string_view k, std::string message) const { diag_.warn(line(k), key(k), std::move(message)); }

  // A sub-table, e.g. section("limits", {...}) inside [inbound], checked for its type and unknown keys.
  Section section(std::string_view k, const std::vector<std::string_view>& known) const;
  // The same sub-table without any checks, for the cross-key checks that run after reading.
  Section view(std::string_view k) const;

  // Typed access: nullptr when absent or of the wrong type (the latter is reported).
  const std::string* string(std::string_view k) const { return typed<std::string>(k, "a string"); }
  const bool* boolean(std::string_view k) const { return typed<bool>(k, "a boolean (true or false)"); }
  const std::int64_t* integer(std::string_view k) const { return typed<std::int64_t>(k, "an integer"); }
  const toml::array* array(std::string_view k) const;

  void read(std::string_view k, bool& out) const {
    if (const bool* v = boolean(k)) out = *v;
  }

  // Strings that name files or directories: an empty one would fail much later, far from this file.
  void read_path(std::string_view k, std::string& out) const;

  template <class T>
  void read_int(std::string_view k, T& out, std::int64_t min, std::int64_t max, std::string_view why = {}) const {
    const std::int64_t* v = integer(k);
    if (v == nullptr) return;
    if (*v < min || *v > max) return error(k, out_of_range(std::to_string(*v), range_text(min, max), why));
    out = static_cast<T>(*v);
  }

  void read_duration(std::string_view k, std::chrono::seconds& out, std::int64_t min, std::int64_t max) const;

  // A TOML local date (2027-01-31): no time, no offset, not a string.
  void read_date(std::string_view k, std::optional<std::chrono::year_month_day>& out) const;

  template <class E>
  void read_enum(std::string_view k, E& out, const std::vector<std::pair<std::string_view, E>>& spellings) const {
    const std::string* v = string(k);
    if (v == nullptr) return;
    std::string expected;
    for (const auto& [word, value] : spellings) {
      if (*v == word) {
        out = value;
        return;
      }
      expected += (expected.empty() ? "" : ", ") + std::string(word);
    }
    error(k, quoted(*v) + " is not one of " + expected);
  }

  // A closed set of words kept as a string in the model (log_level, outbound.mode).
  void read_word(std::string_view k, std::string& out, const std::vector<std::string_view>& words) const;

  // One endpoint; returns false when absent or invalid.
  bool read_endpoint(std::string_view k, Endpoint& out, HostKind kind) const;

  // An array of endpoints. The same address twice would be bound twice with SO_REUSEPORT and silently
  // share its connections, so duplicates are refused.
  void read_endpoints(std::string_view k, std::vector<Endpoint>& out, HostKind kind) const;

  // An array of strings, each checked (and possibly rewritten, e.g. lower-cased) by `check`, which returns
  // what is wrong or an empty string.
  template <class Check>
  void read_strings(std::string_view k, std::vector<std::string>& out, Check check) const {
    std::vector<std::string> parsed;
    bool ok = for_each_string(k, [&](const std::string& text, int at, const std::string& element_key) {
      std::string value = text;
      if (std::string why = check(value); !why.empty()) {
        diag_.error(at, element_key, why);
        return false;
      }
      parsed.push_back(std::move(value));
      return true;
    });
    if (ok) out = std::move(parsed);
  }

  // Calls fn(text, line, key) for every element of an array of strings; false if the key is absent or any
  // element is wrong.
  template <class Fn>
  bool for_each_string(std::string_view k, Fn fn) const {
    const toml::array* items = array(k);
    if (items == nullptr) return false;
    bool ok = true;
    for (std::size_t i = 0; i < items->size(); ++i) {
      const toml::node& item = *items->get(i);
      std::string element_key = index_key(key(k), i);
      int at = line_of(item) > 0 ? line_of(item) : line(k);
      if (const auto* s = item.as_string()) {
        ok = fn(s->get(), at, element_key) && ok;
      } else {
        diag_.error(at, element_key, "expected a string, got " + type_name(item));
        ok = false;
      }
    }
    return ok;
  }

  // Reports `text` as an endpoint problem at `at`/`k` when it is not a valid address.
  bool check_endpoint(const std::string& text, HostKind kind, Endpoint& out, int at, const std::string& k) const;

 private:
  static std::string out_of_range(const std::string& shown, const std::string& range, std::string_view why = {});

  template <class T>
  const T* typed(std::string_view k, std::string_view expected) const {
    const toml::node* node = find(k);
    if (node == nullptr) return nullptr;
    const auto* v = node->as<T>();
    if (v == nullptr) {
      error(k, "expected " + std::string(expected) + ", got " + type_name(*node));
      return nullptr;
    }
    return &v->get();
  }

  Diagnostics& diag_;
  const toml::table* table_;
  std::string name_;
  int line_;
};

}  // namespace mxguard::config

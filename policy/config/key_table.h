#pragma once
// The machinery of the schema: a key is a name with a reader, a way to show its value and, for tables,
// the keys inside. Each section of the file is one KeyTable; schema.cpp holds them all.
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "policy/config/readers.h"
#include "policy/config/schema.h"

namespace mxguard::config {

template <class Target>
struct Key;

template <class Target>
using KeyTable = std::vector<Key<Target>>;

// Where a table's values are in a Config; returns nullptr (or is empty) when a table has no single
// instance to show, as for entries of named tables.
template <class Target>
using Locate = std::function<const Target*(const Config&)>;

template <class Target>
struct Key {
  std::string_view name;
  KeyKind kind = KeyKind::Value;
  std::function<void(const Section&, Target&)> read;
  std::function<std::string(const Target&)> show;   // empty: no single value (see KeyDescription::value)
  // Tables only: describes the keys inside, given the table's own dotted path.
  std::function<void(const std::string& path, const Locate<Target>& locate, std::vector<KeyDescription>& out)> describe_inside;
};

template <class Target>
std::vector<std::string_view> names_of(const KeyTable<Target>& keys) {
  std::vector<std::string_view> names;
  for (const Key<Target>& key : keys) names.push_back(key.name);
  return names;
}

// The unknown-key check is the caller's (Section::section or expect_keys), so that it runs once per table.
template <class Target>
void read_keys(const Section& section, const KeyTable<Target>& keys, Target& target) {
  for (const Key<Target>& key : keys) key.read(section, target);
}

template <class Target>
void describe_keys(const std::string& path, const KeyTable<Target>& keys, const Locate<Target>& locate,
                   std::vector<KeyDescription>& out) {
  for (const Key<Target>& key : keys) {
    KeyDescription d{path, std::string(key.name), key.kind, {}};
    if (key.show && locate) {
      d.value = [locate, show = key.show](const Config& c) -> std::optional<std::string> {
        const Target* t = locate(c);
        return t != nullptr ? std::optional<std::string>(show(*t)) : std::nullopt;
      };
    }
    out.push_back(std::move(d));
  }
  for (const Key<Target>& key : keys) {
    if (key.describe_inside) key.describe_inside(path.empty() ? std::string(key.name) : path + "." + std::string(key.name), locate, out);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Kinds of keys. Bounds are checked by the reader; the limits that come from an RFC say so in `why`,
// which the error message repeats.

struct Range {
  std::int64_t min = 0;
  std::int64_t max = kNoMax;
  std::string_view why = {};
};

std::string toml_array(const std::vector<std::string>& quoted_items);   // ["a", "b"]
std::string toml_string_array(const std::vector<std::string>& items);   // ["a", "b"] from a, b

template <class T>
Key<T> boolean(std::string_view name, bool T::*field) {
  return {name, KeyKind::Value, [=](const Section& s, T& t) { s.read(name, t.*field); },
          [=](const T& t) { return std::string(t.*field ? "true" : "false"); }, {}};
}

template <class T, class Int>
Key<T> integer(std::string_view name, Int T::*field, Range range) {
  return {name, KeyKind::Value, [=](const Section& s, T& t) { s.read_int(name, t.*field, range.min, range.max, range.why); },
          [=](const T& t) { return std::to_string(t.*field); }, {}};
}

template <class T>
Key<T> duration(std::string_view name, std::chrono::seconds T::*field, Range range) {
  return {name, KeyKind::Value, [=](const Section& s, T& t) { s.read_duration(name, t.*field, range.min, range.max); },
          [=](const T& t) { return std::to_string((t.*field).count()); }, {}};
}

template <class T>
Key<T> path(std::string_view name, std::string T::*field) {
  return {name, KeyKind::Value, [=](const Section& s, T& t) { s.read_path(name, t.*field); },
          [=](const T& t) { return quoted(t.*field); }, {}};
}

template <class T>
Key<T> word(std::string_view name, std::string T::*field, std::vector<std::string_view> words) {
  return {name, KeyKind::Value, [=](const Section& s, T& t) { s.read_word(name, t.*field, words); },
          [=](const T& t) { return quoted(t.*field); }, {}};
}

template <class T, class E>
Key<T> enumeration(std::string_view name, E T::*field, std::vector<std::pair<std::string_view, E>> spellings) {
  auto show = [=](const T& t) {
    for (const auto& [word, value] : spellings) {
      if (value == t.*field) return quoted(word);
    }
    return std::string("?");
  };
  return {name, KeyKind::Value, [=](const Section& s, T& t) { s.read_enum(name, t.*field, spellings); }, show, {}};
}

template <class T>
Key<T> endpoint(std::string_view name, Endpoint T::*field, HostKind kind) {
  // No value to show: the endpoints read this way are required or absent by default.
  return {name, KeyKind::Value, [=](const Section& s, T& t) { s.read_endpoint(name, t.*field, kind); }, {}, {}};
}

template <class T>
Key<T> endpoint_list(std::string_view name, std::vector<Endpoint> T::*field, HostKind kind) {
  auto show = [=](const T& t) {
    std::vector<std::string> items;
    for (const Endpoint& ep : t.*field) items.push_back(quoted(ep.text));
    return toml_array(items);
  };
  return {name, KeyKind::Value, [=](const Section& s, T& t) { s.read_endpoints(name, t.*field, kind); }, show, {}};
}

template <class T>
Key<T> string_list(std::string_view name, std::vector<std::string> T::*field, std::string (*check)(std::string&)) {
  return {name, KeyKind::Value, [=](const Section& s, T& t) { s.read_strings(name, t.*field, check); },
          [=](const T& t) { return toml_string_array(t.*field); }, {}};
}

// A sub-table read into a member, e.g. [inbound.limits] into Inbound::limits.
template <class T, class Sub>
Key<T> table(std::string_view name, Sub T::*field, const KeyTable<Sub>& keys) {
  auto read = [=, &keys](const Section& s, T& t) { read_keys(s.section(name, names_of(keys)), keys, t.*field); };
  auto describe = [=, &keys](const std::string& path, const Locate<T>& locate, std::vector<KeyDescription>& out) {
    Locate<Sub> inside;
    if (locate) {
      inside = [=](const Config& c) -> const Sub* {
        const T* t = locate(c);
        return t != nullptr ? &(t->*field) : nullptr;
      };
    }
    describe_keys(path, keys, inside, out);
  };
  return {name, KeyKind::Table, read, {}, describe};
}

// A key whose reading is more than one typed read (entry_readers.h).
template <class T>
Key<T> custom(std::string_view name, KeyKind kind, std::function<void(const Section&, T&)> read,
              std::function<std::string(const T&)> show = {}) {
  return {name, kind, std::move(read), std::move(show), {}};
}

// Keys inside entries that have no single value (arrays of tables, named tables), described under `inner`
// appended to the key's path ("" for arrays of tables, ".*" for named tables).
template <class T, class Entry>
Key<T> with_entries(Key<T> key, const KeyTable<Entry>& entry_keys, std::string inner) {
  key.describe_inside = [&entry_keys, inner](const std::string& path, const Locate<T>&, std::vector<KeyDescription>& out) {
    describe_keys<Entry>(path + inner, entry_keys, {}, out);
  };
  return key;
}

// Reads the whole document into `config` (schema.cpp): the top-level unknown-key check and every table.
void read_document(const Section& root, Config& config);

}  // namespace mxguard::config

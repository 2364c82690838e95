#pragma once
// The configuration's keys as data. The loader walks the same tables (schema.cpp), so what is described
// here is exactly what the loader accepts; tests hold docs/configuration.md and deploy/mxguard.toml to it.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "policy/config/config.h"

namespace mxguard::config {

enum class KeyKind {
  Value,           // a scalar, or an array of scalars
  Table,           // a sub-table with keys of its own: [inbound.limits]
  ArrayOfTables,   // entries with keys of their own: [[inbound.certificate]]
  NamedTables,     // tables under names the operator chooses: [policy.domain."example.org"]
  NamedValues,     // values under names the operator chooses: [outbound.route]
};

struct KeyDescription {
  // Dotted path of the table the key is in ("inbound.limits"; "" at the top level). Keys inside named
  // tables are under "<table>.*" ("policy.domain.*").
  std::string section;
  std::string name;
  KeyKind kind = KeyKind::Value;
  // The key's value in a Config as the file would spell it ("300", "\"may\"", "[\"0.0.0.0:25\"]").
  // Absent (an empty function, or nullopt) when there is no single value to compare: required keys,
  // defaults taken from the machine, tables, and keys of named tables or arrays of tables.
  std::function<std::optional<std::string>(const Config&)> value;
};

// Every key of every table, each table's keys in the order the loader reads them, followed by the keys
// of its sub-tables.
const std::vector<KeyDescription>& describe_schema();

}  // namespace mxguard::config

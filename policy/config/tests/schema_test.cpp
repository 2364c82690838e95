// The schema is the one list of keys: these tests hold the loader's unknown-key messages, the reference
// (docs/configuration.md) and the example file (deploy/mxguard.toml) to it, so that a key added in one
// place and missing in another fails here.
#include "policy/config/schema.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "policy/config/config_loader.h"

namespace mxguard::config {
namespace {

constexpr const char* kFile = "mxguard.toml";
constexpr const char* kMinimal = "[inbound]\nbackend = \"127.0.0.1:2525\"\n";

std::string source_file(const std::string& relative) {
  std::ifstream in(std::string(MXGUARD_SOURCE_DIR) + "/" + relative);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string path_of(const KeyDescription& d) {
  std::string path = d.section.empty() ? d.name : d.section + "." + d.name;
  return d.kind == KeyKind::NamedTables ? path + ".*" : path;
}

bool is_table(const KeyDescription& d) { return d.kind != KeyKind::Value; }

// `[policy.domain."example.org"]` and `[[inbound.certificate]]` name the tables "policy.domain.*" and
// "inbound.certificate".
std::string section_path(std::string header) {
  static const std::regex quoted_name("\"[^\"]*\"");
  return std::regex_replace(header, quoted_name, "*");
}

// ---------------------------------------------------------------------------------------------------------
// docs/configuration.md: headings name their tables in backticks (`[inbound]`, `[inbound.limits]` and
// `[outbound.limits]`, `inbound.listen` for its inline tables); the table rows below a heading start with
// the key, then its type, then one default column per table the heading names.

struct DocumentedKey {
  std::string default_cell;
};

struct Reference {
  std::set<std::string> tables;
  std::map<std::string, std::map<std::string, DocumentedKey>> keys;   // table -> key -> row
};

std::vector<std::string> table_cells(const std::string& row) {
  std::vector<std::string> cells;
  std::string cell;
  for (std::size_t i = 1; i < row.size(); ++i) {
    if (row[i] == '|' && row[i - 1] != '\\') {
      cells.push_back(cell);
      cell.clear();
    } else {
      cell += row[i];
    }
  }
  for (std::string& c : cells) {
    c.erase(0, c.find_first_not_of(' '));
    c.erase(c.find_last_not_of(' ') + 1);
  }
  return cells;
}

Reference read_reference() {
  Reference ref;
  std::istringstream text(source_file("docs/configuration.md"));
  static const std::regex table_name("`\\[{0,2}([a-z0-9_][^\\]` ]*)\\]{0,2}`");
  std::vector<std::string> current;
  for (std::string line; std::getline(text, line);) {
    if (line.starts_with("#")) {
      current.clear();
      for (auto m = std::sregex_iterator(line.begin(), line.end(), table_name); m != std::sregex_iterator(); ++m) {
        current.push_back(section_path((*m)[1]));
        ref.tables.insert(current.back());
      }
    } else if (line.starts_with("| `") && !current.empty()) {
      std::vector<std::string> cells = table_cells(line);
      std::string key = cells[0].substr(1, cells[0].size() - 2);
      for (std::size_t i = 0; i < current.size(); ++i) {
        ref.keys[current[i]][key] = DocumentedKey{cells.size() > 2 + i ? cells[2 + i] : ""};
      }
    }
  }
  return ref;
}

// deploy/mxguard.toml: `[table]` headers (also commented out, "# [[inbound.certificate]]") and the
// `key =` lines below them (also commented out, "# hostname = ..."). The keys of inline tables in a value
// (listen = [{ address = ..., tls = ... }]) count as keys of "<table>.<key>".
std::map<std::string, std::set<std::string>> read_example() {
  std::map<std::string, std::set<std::string>> keys;
  std::istringstream text(source_file("deploy/mxguard.toml"));
  static const std::regex header("^(# )?\\[+([^\\]]+)\\]+");
  static const std::regex assignment("^(# )?([a-z0-9_]+) *=");
  std::string current;
  keys[current];
  for (std::string line; std::getline(text, line);) {
    std::smatch m;
    if (std::regex_search(line, m, header)) {
      current = section_path(m[2]);
      keys[current];
    } else if (std::regex_search(line, m, assignment)) {
      std::string assigned = m[2];
      keys[current].insert(assigned);
      static const std::regex inline_table("\\{([^}]*)\\}");
      static const std::regex inline_key("([a-z0-9_]+) *=");
      for (auto t = std::sregex_iterator(line.begin(), line.end(), inline_table); t != std::sregex_iterator(); ++t) {
        std::string body = (*t)[1];
        for (auto k = std::sregex_iterator(body.begin(), body.end(), inline_key); k != std::sregex_iterator(); ++k) {
          keys[current + "." + assigned].insert((*k)[1]);
        }
      }
    }
  }
  return keys;
}

TEST(Schema, KnowsEveryTableOfTheFile) {
  std::set<std::string> tables;
  for (const KeyDescription& d : describe_schema()) {
    if (is_table(d)) tables.insert(path_of(d));
  }
  for (const char* t : {"server", "inbound", "inbound.certificate", "inbound.limits", "outbound", "policy",
                        "policy.domain.*", "mta_sts", "dns", "audit", "metrics"}) {
    EXPECT_TRUE(tables.count(t)) << t;
  }
}

TEST(Schema, EveryKeyIsDocumentedInTheReferenceUnderItsTable) {
  Reference ref = read_reference();
  for (const KeyDescription& d : describe_schema()) {
    if (is_table(d)) {
      EXPECT_TRUE(ref.tables.count(path_of(d))) << "docs/configuration.md has no heading for [" << path_of(d) << "]";
    } else {
      EXPECT_TRUE(ref.keys[d.section].count(d.name)) << "docs/configuration.md: no row for " << d.name << " under ["
                                                       << d.section << "]";
    }
  }
}

TEST(Schema, TheReferenceDocumentsNoKeyTheLoaderRefuses) {
  Reference ref = read_reference();
  std::set<std::string> known;
  for (const KeyDescription& d : describe_schema()) known.insert(d.section + " " + d.name);
  for (const auto& [table, rows] : ref.keys) {
    for (const auto& [key, row] : rows) EXPECT_TRUE(known.count(table + " " + key)) << "[" << table << "] " << key;
  }
}

TEST(Schema, TheReferenceShowsTheModelDefaults) {
  Reference ref = read_reference();
  const Config defaults;
  for (const KeyDescription& d : describe_schema()) {
    if (!d.value) continue;
    std::optional<std::string> value = d.value(defaults);
    ASSERT_TRUE(value.has_value()) << d.section << "." << d.name;
    const std::string& cell = ref.keys[d.section][d.name].default_cell;
    EXPECT_NE(cell.find("`" + *value + "`"), std::string::npos)
        << "docs/configuration.md: default of " << d.section << "." << d.name << " is " << *value << ", the row says "
        << cell;
  }
}

TEST(Schema, EveryKeyIsInTheExampleUnderItsTable) {
  auto example = read_example();
  for (const KeyDescription& d : describe_schema()) {
    if (is_table(d)) {
      EXPECT_TRUE(example.count(path_of(d))) << "deploy/mxguard.toml has no [" << path_of(d) << "] (or commented out)";
    } else {
      EXPECT_TRUE(example[d.section].count(d.name)) << "deploy/mxguard.toml: no " << d.name << " under [" << d.section << "]";
    }
  }
}

// The example sets every key to its default, except where it says otherwise: an outbound listener, and
// the recommended `dane` default.
TEST(Schema, TheExampleUsesTheModelDefaults) {
  const std::set<std::string> deliberate = {"outbound.listen", "policy.default"};
  LoadResult loaded = load_config(std::string(MXGUARD_SOURCE_DIR) + "/deploy/mxguard.toml");
  ASSERT_TRUE(std::holds_alternative<Config>(loaded)) << std::get<ConfigError>(loaded).to_string();
  const Config& example = std::get<Config>(loaded);
  const Config defaults;
  for (const KeyDescription& d : describe_schema()) {
    if (!d.value || deliberate.count(d.section + "." + d.name)) continue;
    EXPECT_EQ(d.value(example), d.value(defaults)) << d.section << "." << d.name;
  }
}

// Each key's default, written into the file as the schema spells it, loads back to the same value: the
// spelling is valid TOML and the reader accepts its own default.
TEST(Schema, EveryDefaultReadsBackAsItself) {
  const Config defaults;
  for (const KeyDescription& d : describe_schema()) {
    if (!d.value) continue;
    std::string value = *d.value(defaults);
    std::string text = d.section == "inbound" ? std::string(kMinimal) + d.name + " = " + value + "\n"
                                              : std::string(kMinimal) + "[" + d.section + "]\n" + d.name + " = " + value + "\n";
    LoadResult loaded = parse_config(text, kFile);
    ASSERT_TRUE(std::holds_alternative<Config>(loaded)) << text << std::get<ConfigError>(loaded).to_string();
    EXPECT_EQ(d.value(std::get<Config>(loaded)), value) << text;
  }
}

// A file with an unknown key in `table`, valid otherwise.
std::string with_unknown_key(const std::string& table) {
  if (table.empty()) return "zzz = 1\n" + std::string(kMinimal);
  if (table == "inbound") return std::string(kMinimal) + "zzz = 1\n";
  if (table == "inbound.listen") return std::string(kMinimal) + "listen = [{ address = \"0.0.0.0:465\", zzz = 1 }]\n";
  if (table == "inbound.certificate") return std::string(kMinimal) + "[[inbound.certificate]]\ncert = \"a\"\nkey = \"b\"\nzzz = 1\n";
  if (table == "policy.domain.*") return std::string(kMinimal) + "[policy.domain.\"example.org\"]\nlevel = \"may\"\nzzz = 1\n";
  return std::string(kMinimal) + "[" + table + "]\nzzz = 1\n";
}

TEST(Schema, UnknownKeysAreRefusedWithTheSchemaKeysOfTheirTable) {
  std::map<std::string, std::vector<std::string_view>> keys_of;
  for (const KeyDescription& d : describe_schema()) keys_of[d.section].push_back(d.name);
  for (const auto& [table, names] : keys_of) {
    // Named tables of values take any name as a key.
    bool named_values = false;
    for (const KeyDescription& d : describe_schema()) named_values |= d.kind == KeyKind::NamedValues && path_of(d) == table;
    if (named_values) continue;
    std::string expected = "unknown key; expected one of ";
    for (std::size_t i = 0; i < names.size(); ++i) expected += (i ? ", " : "") + std::string(names[i]);
    LoadResult loaded = parse_config(with_unknown_key(table), kFile);
    ASSERT_TRUE(std::holds_alternative<ConfigError>(loaded)) << "[" << table << "]";
    EXPECT_EQ(std::get<ConfigError>(loaded).message, expected) << "[" << table << "]";
  }
}

}  // namespace
}  // namespace mxguard::config

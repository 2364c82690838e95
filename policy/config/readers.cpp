#include "policy/config/readers.h"

#include <algorithm>

#include "base/ascii.h"
#include "policy/names.h"

namespace mxguard::config {

void Section::expect_keys(const std::vector<std::string_view>& known) const {
  if (table_ == nullptr) return;
  for (const auto& [k, node] : *table_) {
    if (std::find(known.begin(), known.end(), k.str()) != known.end()) continue;
    int at = line_of(node) > 0 ? line_of(node) : static_cast<int>(k.source().begin.line);
    std::string what = node.is_table() ? "unknown table" : "unknown key";
    diag_.error(at, join_key(name_, k.str()), what + "; expected one of " + one_of(known));
  }
}

int Section::line(std::string_view k) const {
  const toml::node* node = find(k);
  return node != nullptr ? line_of(*node) : line_;
}

Section Section::section(std::string_view k, const std::vector<std::string_view>& known) const {
  const toml::node* node = find(k);
  if (node != nullptr && !node->is_table()) {
    error(k, "expected a table ([" + key(k) + "]), got " + type_name(*node));
  }
  Section child = view(k);
  child.expect_keys(known);
  return child;
}

Section Section::view(std::string_view k) const {
  const toml::node* node = find(k);
  const toml::table* table = node != nullptr ? node->as_table() : nullptr;
  return Section(diag_, table, key(k), table != nullptr ? line_of(*node) : 0);
}

const toml::array* Section::array(std::string_view k) const {
  const toml::node* node = find(k);
  if (node == nullptr) return nullptr;
  if (!node->is_array()) error(k, "expected an array, got " + type_name(*node));
  return node->as_array();
}

void Section::read_path(std::string_view k, std::string& out) const {
  const std::string* v = string(k);
  if (v == nullptr) return;
  if (v->empty()) return error(k, "must not be empty: expected a file or directory path");
  out = *v;
}

void Section::read_duration(std::string_view k, std::chrono::seconds& out, std::int64_t min, std::int64_t max) const {
  const toml::node* node = find(k);
  if (node == nullptr) return;
  std::optional<std::int64_t> seconds;
  std::string shown;
  if (const auto* i = node->as_integer()) {
    seconds = i->get();
    shown = std::to_string(i->get());
  } else if (const auto* s = node->as_string()) {
    seconds = parse_duration(s->get());
    shown = quoted(s->get());
    if (!seconds) {
      return error(k, shown + " is not a duration: expected whole seconds as an integer (30) or a string "
                              "with one unit: \"30s\", \"5m\", \"1h\"");
    }
  } else {
    return error(k, "expected a duration (30 or \"30s\", \"5m\", \"1h\"), got " + type_name(*node));
  }
  if (*seconds < min || *seconds > max) return error(k, out_of_range(shown, range_text(min, max, "s")));
  out = std::chrono::seconds(*seconds);
}

void Section::read_date(std::string_view k, std::optional<std::chrono::year_month_day>& out) const {
  const toml::node* node = find(k);
  if (node == nullptr) return;
  const auto* date = node->as_date();
  if (date == nullptr) {
    std::string hint = node->is_string() ? " (write the date without quotes)" : "";
    return error(k, "expected a date such as 2027-01-31, got " + type_name(*node) + hint);
  }
  const toml::date& d = date->get();
  out = std::chrono::year_month_day{std::chrono::year{d.year}, std::chrono::month{d.month}, std::chrono::day{d.day}};
}

void Section::read_word(std::string_view k, std::string& out, const std::vector<std::string_view>& words) const {
  std::string_view chosen;
  std::vector<std::pair<std::string_view, std::string_view>> spellings;
  for (std::string_view w : words) spellings.emplace_back(w, w);
  read_enum(k, chosen, spellings);
  if (!chosen.empty()) out = std::string(chosen);
}

bool Section::read_endpoint(std::string_view k, Endpoint& out, HostKind kind) const {
  const std::string* v = string(k);
  if (v == nullptr) return false;
  return check_endpoint(*v, kind, out, line(k), key(k));
}

void Section::read_endpoints(std::string_view k, std::vector<Endpoint>& out, HostKind kind) const {
  std::vector<Endpoint> parsed;
  bool ok = for_each_string(k, [&](const std::string& text, int at, const std::string& element_key) {
    Endpoint ep;
    if (!check_endpoint(text, kind, ep, at, element_key)) return false;
    for (const Endpoint& seen : parsed) {
      if (ascii::iequals(seen.host, ep.host) && seen.port == ep.port) {
        diag_.error(at, element_key, quoted(text) + " is listed twice");
        return false;
      }
    }
    parsed.push_back(std::move(ep));
    return true;
  });
  if (ok) out = std::move(parsed);
}

bool Section::check_endpoint(const std::string& text, HostKind kind, Endpoint& out, int at, const std::string& k) const {
  if (std::string why = endpoint_problem(text, kind, out); !why.empty()) {
    diag_.error(at, k, quoted(text) + " is not a valid address: " + why);
    return false;
  }
  return true;
}

std::string Section::out_of_range(const std::string& shown, const std::string& range, std::string_view why) {
  std::string message = "must be " + range + ", got " + shown;
  if (!why.empty()) message += " (" + std::string(why) + ")";
  return message;
}

}  // namespace mxguard::config

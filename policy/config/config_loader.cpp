#include "policy/config/config_loader.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <exception>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "policy/names.h"
#include "policy/tls_level.h"

namespace mxguard::config {

std::string ConfigError::to_string() const {
  std::string out = file;
  if (line > 0) out += out.empty() ? "line " + std::to_string(line) : ":" + std::to_string(line);
  for (const std::string* part : {&key, &message}) {
    if (part->empty()) continue;
    if (!out.empty()) out += ": ";
    out += *part;
  }
  return out;
}

namespace {

constexpr std::int64_t kNoMax = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kOneDay = 86400;            // no phase of an SMTP session should wait longer
constexpr std::int64_t kMaxLine = 1024 * 1024;     // a line buffer larger than this is a memory hazard
constexpr std::int64_t kMaxCount = 1000000;
constexpr std::size_t kMaxFileSize = 4 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------------------
// Text helpers

std::string lower(std::string_view s) { return policy::ascii_lower(s); }

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool all_digits(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), is_digit); }

// A value as it appears in a message: quoted, with control characters made visible so that an error
// message never carries a raw newline or escape sequence from the file into the log.
std::string quoted(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

// TOML bare keys are [A-Za-z0-9_-]+; anything else (a domain with dots) is shown quoted, as it is written.
bool is_bare_key(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '-';
  });
}

std::string join_key(std::string_view parent, std::string_view name) {
  std::string segment = is_bare_key(name) ? std::string(name) : quoted(name);
  return parent.empty() ? segment : std::string(parent) + "." + segment;
}

std::string index_key(std::string_view array_key, std::size_t i) {
  return std::string(array_key) + "[" + std::to_string(i) + "]";
}

std::string one_of(std::initializer_list<std::string_view> words) {
  std::string out;
  for (std::string_view w : words) {
    if (!out.empty()) out += ", ";
    out += w;
  }
  return out;
}

std::string type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::array: return node.is_array_of_tables() ? "an array of tables" : "an array";
    case toml::node_type::table: return "a table";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    case toml::node_type::none: break;
  }
  return "nothing";
}

int line_of(const toml::node& node) { return static_cast<int>(node.source().begin.line); }

// ---------------------------------------------------------------------------------------------------------
// Value checks. Each returns what is wrong (empty when the value is fine); callers add the key and value.

bool is_ipv4(std::string_view s) {
  in_addr a{};
  return inet_pton(AF_INET, std::string(s).c_str(), &a) == 1;
}

bool is_ipv6(std::string_view s) {
  in6_addr a{};
  return inet_pton(AF_INET6, std::string(s).c_str(), &a) == 1;
}

// Host names of endpoints may also carry '_' because container runtimes resolve service names like "legacy_mta".
std::string name_problem(std::string_view name, bool allow_underscore) {
  return policy::domain_syntax_problem(name, allow_underscore ? policy::NameSyntax::ServiceName : policy::NameSyntax::Dns);
}

std::string domain_problem(std::string_view name) { return policy::domain_syntax_problem(name); }

std::optional<std::uint16_t> parse_port(std::string_view s) {
  if (!all_digits(s) || s.size() > 5) return std::nullopt;
  int value = 0;
  for (char c : s) value = value * 10 + (c - '0');
  if (value < 1 || value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

enum class HostKind { NameOrAddress, AddressOnly };

// "1.2.3.4:25", "[::1]:25", "mx.example.org:25". The port is always required: a silent default port is how
// a listener ends up somewhere nobody expects.
std::string endpoint_problem(std::string_view text, HostKind kind, Endpoint& out) {
  std::string_view host;
  std::string_view port;
  if (text.starts_with('[')) {
    std::size_t close = text.find(']');
    if (close == std::string_view::npos) return "missing ']' after the IPv6 address";
    host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (!rest.starts_with(':')) return "a port is required after ']', e.g. \"[::1]:25\"";
    port = rest.substr(1);
    if (!is_ipv6(host)) return quoted(host) + " is not an IPv6 address";
  } else {
    std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return "a port is required, e.g. \"127.0.0.1:25\"";
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return "an IPv6 address needs brackets: " + quoted("[" + std::string(host) + "]:" + std::string(port));
    }
    if (host.empty()) return "the host is empty (every address is \"0.0.0.0:PORT\" or \"[::]:PORT\")";
    std::string_view last_label = host.substr(host.rfind('.') + 1);
    if (all_digits(last_label) && !is_ipv4(host)) return quoted(host) + " is not a valid IPv4 address";
    if (!is_ipv4(host)) {
      if (kind == HostKind::AddressOnly) return "expected an IP address here, not a host name";
      if (std::string why = name_problem(host, true); !why.empty()) return quoted(host) + " is not a host name: " + why;
    }
  }
  std::optional<std::uint16_t> number = parse_port(port);
  if (!number) return "the port must be a number from 1 to 65535";
  out = Endpoint{std::string(host), *number, std::string(text)};
  return {};
}

// "192.0.2.0/24", "2001:db8::/32". Bits set after the prefix are refused: "10.0.0.1/8" is usually a typo,
// and the message names the network that was probably meant.
std::string cidr_problem(std::string_view text) {
  std::size_t slash = text.find('/');
  if (slash == std::string_view::npos) return "a prefix length is required, e.g. \"192.0.2.0/24\" or \"2001:db8::/32\"";
  std::string address(text.substr(0, slash));
  std::string_view length = text.substr(slash + 1);
  unsigned char bytes[16] = {};
  int family = AF_INET;
  int bits = 32;
  if (inet_pton(AF_INET, address.c_str(), bytes) != 1) {
    family = AF_INET6;
    bits = 128;
    if (inet_pton(AF_INET6, address.c_str(), bytes) != 1) return quoted(address) + " is not an IP address";
  }
  if (!all_digits(length) || length.size() > 3 || std::stoi(std::string(length)) > bits) {
    return "the prefix length must be a number from 0 to " + std::to_string(bits);
  }
  int prefix = std::stoi(std::string(length));
  bool host_bits = false;
  for (int bit = prefix; bit < bits; ++bit) {
    unsigned char mask = static_cast<unsigned char>(0x80u >> (bit % 8));
    if (bytes[bit / 8] & mask) host_bits = true;
    bytes[bit / 8] &= static_cast<unsigned char>(~mask);
  }
  if (host_bits) {
    char network[INET6_ADDRSTRLEN] = {};
    inet_ntop(family, bytes, network, sizeof network);
    return "bits are set after the prefix; did you mean " + quoted(std::string(network) + "/" + std::string(length)) + "?";
  }
  return {};
}

// Whole seconds: "30s", "5m", "1h". Finer units are refused rather than rounded, so nobody believes a
// "500ms" timeout is in effect.
std::optional<std::int64_t> parse_duration(std::string_view text) {
  if (text.size() < 2 || text.size() > 10) return std::nullopt;
  std::string_view digits = text.substr(0, text.size() - 1);
  if (!all_digits(digits)) return std::nullopt;
  std::int64_t value = std::stoll(std::string(digits));
  switch (text.back()) {
    case 's': return value;
    case 'm': return value * 60;
    case 'h': return value * 3600;
    default: return std::nullopt;
  }
}

std::string range_text(std::int64_t min, std::int64_t max, std::string_view unit = {}) {
  auto n = [&](std::int64_t v) { return std::to_string(v) + std::string(unit); };
  if (max == kNoMax) return "at least " + n(min);
  return "between " + n(min) + " and " + n(max);
}

std::string machine_hostname() {
  char buffer[256] = {};
  if (gethostname(buffer, sizeof buffer - 1) != 0) return {};
  return buffer;
}

// ---------------------------------------------------------------------------------------------------------
// Diagnostics: every problem is collected, and the one that comes first in the file is reported, so the
// operator fixes the file top to bottom no matter in which order the sections are checked.

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

// ---------------------------------------------------------------------------------------------------------
// Section: one TOML table with its dotted name and the keys it may contain. Reading a key that is absent
// leaves the caller's default untouched; a key of the wrong type or value is reported and also leaves the
// default. A section that is absent from the file (table == nullptr) reads as all defaults.

class Section {
 public:
  Section(Diagnostics& diag, const toml::table* table, std::string name, int line)
      : diag_(diag), table_(table), name_(std::move(name)), line_(line) {}

  // Every key not in `known` is an error: a typo must not silently leave a default in place.
  void expect_keys(std::initializer_list<std::string_view> known) const {
    if (table_ == nullptr) return;
    for (const auto& [k, node] : *table_) {
      if (std::find(known.begin(), known.end(), k.str()) != known.end()) continue;
      int at = line_of(node) > 0 ? line_of(node) : static_cast<int>(k.source().begin.line);
      std::string what = node.is_table() ? "unknown table" : "unknown key";
      diag_.error(at, join_key(name_, k.str()), what + "; expected one of " + one_of(known));
    }
  }

  int line() const { return line_; }
  bool has(std::string_view k) const { return find(k) != nullptr; }
  std::string key(std::string_view k) const { return join_key(name_, k); }
  int line(std::string_view k) const {
    const toml::node* node = find(k);
    return node != nullptr ? line_of(*node) : line_;
  }

  void error(std::string_view k, std::string message) const { diag_.error(line(k), key(k), std::move(message)); }
  void warn(std::string_view k, std::string message) const { diag_.warn(line(k), key(k), std::move(message)); }

  const toml::node* find(std::string_view k) const { return table_ != nullptr ? table_->get(k) : nullptr; }

  // A sub-table, e.g. section("limits", {...}) inside [inbound], checked for its type and unknown keys.
  Section section(std::string_view k, std::initializer_list<std::string_view> known) const {
    const toml::node* node = find(k);
    if (node != nullptr && !node->is_table()) {
      error(k, "expected a table ([" + key(k) + "]), got " + type_name(*node));
    }
    Section child = view(k);
    child.expect_keys(known);
    return child;
  }

  // The same sub-table without any checks, for the cross-key checks that run after reading.
  Section view(std::string_view k) const {
    const toml::node* node = find(k);
    const toml::table* table = node != nullptr ? node->as_table() : nullptr;
    return Section(diag_, table, key(k), table != nullptr ? line_of(*node) : 0);
  }

  // Typed access: nullptr when absent or of the wrong type (the latter is reported).
  const std::string* string(std::string_view k) const { return typed<std::string>(k, "a string"); }
  const bool* boolean(std::string_view k) const { return typed<bool>(k, "a boolean (true or false)"); }
  const std::int64_t* integer(std::string_view k) const { return typed<std::int64_t>(k, "an integer"); }
  const toml::array* array(std::string_view k) const {
    const toml::node* node = find(k);
    if (node == nullptr) return nullptr;
    if (!node->is_array()) error(k, "expected an array, got " + type_name(*node));
    return node->as_array();
  }

  void read(std::string_view k, bool& out) const {
    if (const bool* v = boolean(k)) out = *v;
  }

  // Strings that name files or directories: an empty one would fail much later, far from this file.
  void read_path(std::string_view k, std::string& out) const {
    const std::string* v = string(k);
    if (v == nullptr) return;
    if (v->empty()) return error(k, "must not be empty: expected a file or directory path");
    out = *v;
  }

  template <class T>
  void read_int(std::string_view k, T& out, std::int64_t min, std::int64_t max, std::string_view why = {}) const {
    const std::int64_t* v = integer(k);
    if (v == nullptr) return;
    if (*v < min || *v > max) return error(k, out_of_range(std::to_string(*v), range_text(min, max), why));
    out = static_cast<T>(*v);
  }

  void read_duration(std::string_view k, std::chrono::seconds& out, std::int64_t min, std::int64_t max) const {
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

  template <class E>
  void read_enum(std::string_view k, E& out, std::initializer_list<std::pair<std::string_view, E>> spellings) const {
    read_enum_from(k, out, std::vector<std::pair<std::string_view, E>>(spellings));
  }

  // A closed set of words kept as a string in the model (log_level, outbound.mode).
  void read_word(std::string_view k, std::string& out, std::initializer_list<std::string_view> words) const {
    std::string_view chosen;
    std::vector<std::pair<std::string_view, std::string_view>> spellings;
    for (std::string_view w : words) spellings.emplace_back(w, w);
    read_enum_from(k, chosen, spellings);
    if (!chosen.empty()) out = std::string(chosen);
  }

  // One endpoint; returns false when absent or invalid.
  bool read_endpoint(std::string_view k, Endpoint& out, HostKind kind) const {
    const std::string* v = string(k);
    if (v == nullptr) return false;
    return check_endpoint(*v, kind, out, line(k), key(k));
  }

  // An array of endpoints. The same address twice would be bound twice with SO_REUSEPORT and silently
  // share its connections, so duplicates are refused.
  void read_endpoints(std::string_view k, std::vector<Endpoint>& out, HostKind kind) const {
    std::vector<Endpoint> parsed;
    bool ok = for_each_string(k, [&](const std::string& text, int at, const std::string& element_key) {
      Endpoint ep;
      if (!check_endpoint(text, kind, ep, at, element_key)) return false;
      for (const Endpoint& seen : parsed) {
        if (lower(seen.host) == lower(ep.host) && seen.port == ep.port) {
          diag_.error(at, element_key, quoted(text) + " is listed twice");
          return false;
        }
      }
      parsed.push_back(std::move(ep));
      return true;
    });
    if (ok) out = std::move(parsed);
  }

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

 private:
  static std::string out_of_range(const std::string& shown, const std::string& range, std::string_view why = {}) {
    std::string message = "must be " + range + ", got " + shown;
    if (!why.empty()) message += " (" + std::string(why) + ")";
    return message;
  }

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

  template <class E>
  void read_enum_from(std::string_view k, E& out, const std::vector<std::pair<std::string_view, E>>& spellings) const {
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

  bool check_endpoint(const std::string& text, HostKind kind, Endpoint& out, int at, const std::string& k) const {
    if (std::string why = endpoint_problem(text, kind, out); !why.empty()) {
      diag_.error(at, k, quoted(text) + " is not a valid address: " + why);
      return false;
    }
    return true;
  }

  Diagnostics& diag_;
  const toml::table* table_;
  std::string name_;
  int line_;
};

// ---------------------------------------------------------------------------------------------------------
// Field checks used with read_strings.

std::string check_domain(std::string& value) {
  value = lower(value);
  std::string why = domain_problem(value);
  return why.empty() ? why : quoted(value) + " is not a domain name: " + why;
}

std::string check_mx_pattern(std::string& value) {
  value = lower(value);
  std::string why = policy::mx_pattern_problem(value);
  return why.empty() ? why : quoted(value) + " is not an MX host name or pattern: " + why;
}

std::string check_cidr(std::string& value) {
  value = lower(value);
  std::string why = cidr_problem(value);
  return why.empty() ? why : quoted(value) + " is not a CIDR: " + why;
}

// ---------------------------------------------------------------------------------------------------------
// Sections

void read_server(const Section& root, Server& server, Diagnostics& diag) {
  Section s = root.section("server", {"hostname", "workers", "state_dir", "log_level", "shutdown_grace"});
  if (const std::string* name = s.string("hostname")) {
    if (std::string why = domain_problem(*name); !why.empty()) {
      s.error("hostname", quoted(*name) + " is not a host name: " + why);
    } else {
      server.hostname = *name;
    }
  } else if (!s.has("hostname")) {
    // The greeting and EHLO name default to the machine's name, as Postfix's myhostname does. No DNS
    // lookup: loading a configuration must not depend on the network.
    server.hostname = machine_hostname();
    if (std::string why = domain_problem(server.hostname); !why.empty()) {
      diag.error(s.line(), s.key("hostname"),
                 "not set, and the machine's host name " + quoted(server.hostname) + " cannot be used (" + why +
                     "): set server.hostname");
    }
  }
  s.read_int("workers", server.workers, 0, 1024, "0 = one per CPU core");
  s.read_path("state_dir", server.state_dir);
  s.read_word("log_level", server.log_level, {"trace", "debug", "info", "warn", "error"});
  s.read_duration("shutdown_grace", server.shutdown_grace, 0, kOneDay);
}

void read_limits(const Section& inbound, Limits& l) {
  Section s = inbound.section(
      "limits", {"max_command_line", "max_data_line", "max_reply_line", "max_recipients", "max_errors",
                 "max_connections", "max_connections_per_ip", "backend_connect_timeout", "greeting_timeout",
                 "command_timeout", "reply_timeout", "data_block_timeout", "data_end_timeout",
                 "tls_handshake_timeout", "min_data_rate"});
  // Lower bounds are the sizes RFC 5321 §4.5.3.1 says every SMTP server must accept.
  s.read_int("max_command_line", l.max_command_line, 512, kMaxLine, "RFC 5321 §4.5.3.1.4: at least 512");
  s.read_int("max_data_line", l.max_data_line, 1000, kMaxLine, "RFC 5321 §4.5.3.1.6: at least 1000");
  s.read_int("max_reply_line", l.max_reply_line, 512, kMaxLine, "RFC 5321 §4.5.3.1.5: at least 512");
  s.read_int("max_recipients", l.max_recipients, 100, kMaxCount, "RFC 5321 §4.5.3.1.8: at least 100");
  s.read_int("max_errors", l.max_errors, 1, kMaxCount);
  s.read_int("max_connections", l.max_connections, 1, kMaxCount);
  s.read_int("max_connections_per_ip", l.max_connections_per_ip, 1, kMaxCount);
  for (auto [k, field] : {std::pair{"backend_connect_timeout", &l.backend_connect_timeout},
                          std::pair{"greeting_timeout", &l.greeting_timeout},
                          std::pair{"command_timeout", &l.command_timeout},
                          std::pair{"reply_timeout", &l.reply_timeout},
                          std::pair{"data_block_timeout", &l.data_block_timeout},
                          std::pair{"data_end_timeout", &l.data_end_timeout},
                          std::pair{"tls_handshake_timeout", &l.tls_handshake_timeout}}) {
    s.read_duration(k, *field, 1, kOneDay);
  }
  s.read_int("min_data_rate", l.min_data_rate, 0, std::int64_t{1} << 30, "bytes per second; 0 = off");
}

void read_certificate(const Section& entry, Certificate& cert) {
  cert.line = entry.line();
  for (auto [k, field, what] : {std::tuple{"cert", &cert.cert, "the PEM certificate chain file, leaf first"},
                                std::tuple{"key", &cert.key, "the PEM private key file"}}) {
    if (!entry.has(k)) {
      entry.error(k, std::string("required: ") + what);
    } else {
      entry.read_path(k, *field);
    }
  }
}

void read_certificates(const Section& inbound, std::vector<Certificate>& out, Diagnostics& diag) {
  const toml::node* node = inbound.find("certificate");
  if (node == nullptr) return;
  const toml::array* entries = node->as_array();
  if (entries == nullptr) {
    return inbound.error("certificate", "expected an array of tables: write [[inbound.certificate]] (double "
                                        "brackets) once per certificate, got " + type_name(*node));
  }
  for (std::size_t i = 0; i < entries->size(); ++i) {
    const toml::node& item = *entries->get(i);
    std::string k = index_key(inbound.key("certificate"), i);
    const toml::table* table = item.as_table();
    if (table == nullptr) {
      diag.error(line_of(item), k, "expected a table with cert and key, got " + type_name(item));
      continue;
    }
    Certificate cert;
    Section entry(diag, table, k, line_of(item));
    entry.expect_keys({"cert", "key"});
    read_certificate(entry, cert);
    out.push_back(std::move(cert));
  }
}

void read_inbound(const Section& root, Inbound& in, Diagnostics& diag) {
  Section s = root.section("inbound", {"enabled", "listen", "backend", "backend_protocol", "require_tls",
                                       "require_tls_from", "bare_newlines", "max_message_size", "certificate",
                                       "limits"});
  s.read("enabled", in.enabled);
  in.listen = {Endpoint{"0.0.0.0", 25, "0.0.0.0:25"}, Endpoint{"::", 25, "[::]:25"}};
  s.read_endpoints("listen", in.listen, HostKind::NameOrAddress);
  s.read_endpoint("backend", in.backend, HostKind::NameOrAddress);
  s.read_enum("backend_protocol", in.backend_protocol,
              {{"plain", BackendProtocol::Plain},
               {"proxy-v1", BackendProtocol::ProxyV1},
               {"proxy-v2", BackendProtocol::ProxyV2},
               {"xclient", BackendProtocol::Xclient}});
  s.read("require_tls", in.require_tls);
  s.read_strings("require_tls_from", in.require_tls_from, check_domain);
  s.read_enum("bare_newlines", in.bare_newlines,
              {{"reject", BareNewlines::Reject}, {"normalize", BareNewlines::Normalize}});
  s.read_int("max_message_size", in.max_message_size, 1024, kNoMax);
  read_certificates(s, in.certificates, diag);
  read_limits(s, in.limits);
}

void read_outbound(const Section& root, Outbound& out) {
  Section s = root.section("outbound", {"listen", "mode", "allow", "port", "ca_file"});
  s.read_endpoints("listen", out.listen, HostKind::NameOrAddress);
  s.read_word("mode", out.mode, {"relay", "transparent"});
  // Only the local machine may hand mail to the outbound listener unless the operator says otherwise.
  out.allow = {"127.0.0.1/32", "::1/128"};
  s.read_strings("allow", out.allow, check_cidr);
  for (const std::string& cidr : out.allow) {
    if (cidr.ends_with("/0")) {
      s.warn("allow", quoted(cidr) + " lets any address send mail through mxguard: list only your own MTAs");
    }
  }
  s.read_int("port", out.port, 1, 65535);
  s.read_path("ca_file", out.ca_file);
}

// The default applies to every domain without an entry, most of which publish no MTA-STS policy: an
// "mta-sts" default would refuse them all. A domain entry may demand MTA-STS of its own domain.
constexpr TlsLevel kStrictestDefaultLevel = TlsLevel::Verify;
constexpr TlsLevel kStrictestDomainLevel = TlsLevel::MtaSts;

std::string level_names(TlsLevel strictest) {
  std::string out;
  for (const policy::TlsLevelName& entry : policy::tls_level_names()) {
    if (entry.level > strictest) break;
    out += (out.empty() ? "" : ", ") + std::string(entry.name);
  }
  return out;
}

// Levels stricter than `strictest` are refused like unknown words; DANE's get a note that they are
// understood but not available in this version.
void read_level(const Section& s, std::string_view k, TlsLevel& out, TlsLevel strictest) {
  const std::string* v = s.string(k);
  if (v == nullptr) return;
  std::optional<TlsLevel> level = policy::parse_tls_level(*v);
  if (level && *level <= strictest) {
    out = *level;
    return;
  }
  std::string message = quoted(*v) + " is not one of " + level_names(strictest);
  if (level && *level >= TlsLevel::Dane) message += " (DANE, RFC 7672, is not supported by this version)";
  s.error(k, message);
}

// One [policy.domain."name"] table. `level` is required: the table exists to pin a level.
void read_domain_policy(const Section& entry, DomainPolicy& policy) {
  if (!entry.has("level")) entry.error("level", "required: one of " + level_names(kStrictestDomainLevel));
  read_level(entry, "level", policy.level, kStrictestDomainLevel);
  entry.read_strings("mx", policy.mx, check_mx_pattern);
}

void read_domains(const Section& policy, std::vector<std::pair<std::string, DomainPolicy>>& out, Diagnostics& diag) {
  // The keys of [policy.domain] are domain names, so it is not checked against a list of known keys.
  const toml::node* node = policy.find("domain");
  if (node == nullptr) return;
  if (!node->is_table()) return policy.error("domain", "expected a table of domains, got " + type_name(*node));
  Section domains = policy.view("domain");
  // toml++ keeps keys sorted by name; the model keeps them in file order, as the operator wrote them.
  std::vector<std::pair<std::string_view, const toml::node*>> entries;
  for (const auto& [k, v] : *node->as_table()) entries.emplace_back(k.str(), &v);
  std::stable_sort(entries.begin(), entries.end(),
                   [](const auto& a, const auto& b) { return line_of(*a.second) < line_of(*b.second); });
  for (const auto& [written, value] : entries) {
    std::string k = domains.key(written);
    std::string name = lower(written);
    if (std::string why = domain_problem(name); !why.empty()) {
      diag.error(line_of(*value), k, quoted(written) + " is not a domain name: " + why);
      continue;
    }
    const toml::table* table = value->as_table();
    if (table == nullptr) {
      diag.error(line_of(*value), k, "expected a table: write [policy.domain." + quoted(name) + "] with level = ...");
      continue;
    }
    auto same = [&](const auto& seen) { return seen.first == name; };
    if (std::any_of(out.begin(), out.end(), same)) {
      diag.error(line_of(*value), k, quoted(name) + " is configured twice (domain names are case-insensitive)");
      continue;
    }
    // [policy.domain.example.org] without quotes nests a table per label: say how to write it.
    auto nested = std::find_if(table->begin(), table->end(), [](const auto& kv) { return kv.second.is_table(); });
    if (nested != table->end()) {
      std::string meant = std::string(written) + "." + std::string(nested->first.str());
      diag.error(line_of(*value), k, "a domain name with dots must be quoted: [policy.domain." + quoted(meant) + "]");
      continue;
    }
    DomainPolicy policy_entry;
    Section entry(diag, table, k, line_of(*value));
    entry.expect_keys({"level", "mx"});
    read_domain_policy(entry, policy_entry);
    out.emplace_back(name, std::move(policy_entry));
  }
}

void read_policy(const Section& root, Policy& policy, Diagnostics& diag) {
  Section s = root.section("policy", {"default", "domain"});
  read_level(s, "default", policy.default_level, kStrictestDefaultLevel);
  read_domains(s, policy.domains, diag);
}

void read_mta_sts(const Section& root, MtaSts& m) {
  Section s = root.section("mta_sts", {"enabled", "cache_file", "ca_file", "https_port"});
  s.read("enabled", m.enabled);
  s.read_path("cache_file", m.cache_file);
  s.read_path("ca_file", m.ca_file);
  s.read_int("https_port", m.https_port, 1, 65535);
}

void read_small_sections(const Section& root, Config& config) {
  // The resolver cannot use itself to find its servers: addresses only.
  root.section("dns", {"servers"}).read_endpoints("servers", config.dns.servers, HostKind::AddressOnly);
  // audit.path = "" turns the audit log off, so an empty string is allowed here.
  if (const std::string* path = root.section("audit", {"path"}).string("path")) config.audit.path = *path;
  Section metrics = root.section("metrics", {"listen"});
  if (const std::string* listen = metrics.string("listen"); listen != nullptr && !listen->empty()) {
    Endpoint ep;
    if (metrics.read_endpoint("listen", ep, HostKind::NameOrAddress)) config.metrics.listen = ep;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Checks across keys, run only when every key was valid on its own.

bool is_wildcard(const Endpoint& ep) { return ep.host == "0.0.0.0" || ep.host == "::"; }

// Two listeners collide when they could accept the same connection: with SO_REUSEPORT the kernel would
// spread connections between them instead of failing to bind.
bool overlaps(const Endpoint& a, const Endpoint& b) {
  if (a.port != b.port) return false;
  if (lower(a.host) == lower(b.host)) return true;
  auto covers = [](const Endpoint& wild, const Endpoint& other) {
    if (!is_wildcard(wild)) return false;
    bool wild_v6 = wild.host == "::";
    if (is_ipv4(other.host)) return !wild_v6;
    if (is_ipv6(other.host)) return wild_v6;
    return true;   // a host name may resolve to either family
  };
  return covers(a, b) || covers(b, a);
}

bool is_loopback_or_wildcard(const std::string& host) {
  return host.starts_with("127.") || host == "::1" || lower(host) == "localhost" || host == "0.0.0.0" || host == "::";
}

// Every listening address with the key that configured it and the line to report.
struct Listener {
  std::string key;
  int line;
  const Endpoint* endpoint;
};

std::vector<Listener> listeners(const Config& c, const Section& root) {
  std::vector<Listener> out;
  auto add_all = [&](std::string_view section, const std::vector<Endpoint>& endpoints) {
    int line = root.view(section).line("listen");
    for (std::size_t i = 0; i < endpoints.size(); ++i) {
      out.push_back({index_key(std::string(section) + ".listen", i), line, &endpoints[i]});
    }
  };
  if (c.inbound.enabled) add_all("inbound", c.inbound.listen);
  add_all("outbound", c.outbound.listen);
  if (c.metrics.listen) out.push_back({"metrics.listen", root.view("metrics").line("listen"), &*c.metrics.listen});
  return out;
}

void check_listeners(const Config& c, const Section& root, Diagnostics& diag) {
  std::vector<Listener> all = listeners(c, root);
  auto section_of = [](const std::string& k) { return k.substr(0, k.find('.')); };
  for (std::size_t i = 0; i < all.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      // Within one list, exact duplicates were refused while reading; wildcard plus specific is fine there.
      if (section_of(all[i].key) == section_of(all[j].key)) continue;
      if (!overlaps(*all[i].endpoint, *all[j].endpoint)) continue;
      return diag.error(all[i].line, all[i].key,
                        quoted(all[i].endpoint->text) + " overlaps " + all[j].key + " (" +
                            quoted(all[j].endpoint->text) + "): each listener needs its own address");
    }
  }
}

void check_inbound(const Config& c, const Section& root, Diagnostics& diag) {
  const Inbound& in = c.inbound;
  if (!in.enabled) return;
  Section inbound = root.view("inbound");
  if (in.backend.text.empty()) {
    return diag.error(inbound.line(), "inbound.backend",
                      "required when inbound is enabled: the legacy MTA's address, e.g. \"127.0.0.1:2525\"");
  }
  if (in.listen.empty()) {
    return inbound.error("listen", "must list at least one address when inbound is enabled");
  }
  for (const Endpoint& ep : in.listen) {
    bool same_host = lower(ep.host) == lower(in.backend.host) ||
                     (is_wildcard(ep) && is_loopback_or_wildcard(in.backend.host));
    if (ep.port == in.backend.port && same_host) {
      return inbound.error("backend", quoted(in.backend.text) + " is mxguard's own listener " + quoted(ep.text) +
                                          ": point it at the legacy MTA");
    }
  }
}

void warn_plain_backend(const Config& c, const Section& root, Diagnostics& diag) {
  if (!c.inbound.enabled || c.inbound.backend_protocol != BackendProtocol::Plain) return;
  Section inbound = root.view("inbound");
  std::string spelled = inbound.has("backend_protocol") ? "\"plain\"" : "\"plain\" (the default)";
  inbound.warn("backend_protocol",
               spelled + ": the backend sees every client as mxguard's own address; if it trusts that address "
                         "(mynetworks), it is an open relay: use proxy-v2 or xclient");
}

// ---------------------------------------------------------------------------------------------------------

LoadResult build(const toml::table& document, std::string_view path) {
  Diagnostics diag{std::string(path)};
  Section root(diag, &document, "", 0);
  root.expect_keys({"server", "inbound", "outbound", "policy", "mta_sts", "dns", "audit", "metrics"});
  Config config;
  config.source_path = std::string(path);
  read_server(root, config.server, diag);
  read_inbound(root, config.inbound, diag);
  read_outbound(root, config.outbound);
  read_policy(root, config.policy, diag);
  read_mta_sts(root, config.mta_sts);
  read_small_sections(root, config);
  if (!diag.ok()) return diag.first();

  // Checks across keys only make sense once every key is valid on its own.
  check_inbound(config, root, diag);
  if (diag.ok()) check_listeners(config, root, diag);
  if (!diag.ok()) return diag.first();
  warn_plain_backend(config, root, diag);
  config.warnings = diag.take_warnings();
  return config;
}

std::string lower_first(std::string s) {
  if (!s.empty() && s[0] >= 'A' && s[0] <= 'Z') s[0] = static_cast<char>(s[0] - 'A' + 'a');
  return s;
}

// Reads a whole file with POSIX calls, so that every failure has an errno to explain it (a directory, a
// missing file and a permission problem each read differently).
std::variant<std::string, ConfigError> read_file(const std::string& path) {
  auto fail = [&](std::string why) { return ConfigError{path, 0, "", std::move(why)}; };
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return fail("cannot read: not a regular file");
  }
  std::string text;
  char buffer[65536];
  for (;;) {
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int saved = errno;
      close(fd);
      return fail(std::string("cannot read: ") + std::strerror(saved));
    }
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
    if (text.size() > kMaxFileSize) {
      close(fd);
      return fail("larger than 4 MiB: this is not a configuration file");
    }
  }
  close(fd);
  return text;
}

}  // namespace

LoadResult parse_config(std::string_view text, std::string_view path) {
  try {
    toml::table document = toml::parse(text, path);
    return build(document, path);
  } catch (const toml::parse_error& e) {
    return ConfigError{std::string(path), static_cast<int>(e.source().begin.line), "",
                       "invalid TOML: " + lower_first(std::string(e.description()))};
  } catch (const std::exception& e) {
    // Only allocation failures can get here; the promise is that nothing escapes.
    return ConfigError{std::string(path), 0, "", std::string("cannot load: ") + e.what()};
  }
}

LoadResult load_config(const std::string& path) {
  try {
    auto file = read_file(path);
    if (auto* error = std::get_if<ConfigError>(&file)) return *error;
    return parse_config(std::get<std::string>(file), path);
  } catch (const std::exception& e) {
    return ConfigError{path, 0, "", std::string("cannot load: ") + e.what()};
  }
}

}  // namespace mxguard::config

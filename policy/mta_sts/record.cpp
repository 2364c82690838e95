#include "policy/mta_sts/record.h"

#include <optional>
#include <set>
#include <string>
#include <utility>

#include "base/ascii.h"
#include "base/log_text.h"
#include "policy/dns/version_record.h"

namespace mxguard::mta_sts {
namespace {

constexpr std::string_view kVersion = "v=STSv1";
constexpr std::size_t kMaxIdLength = 32;
constexpr std::size_t kMaxFieldNameLength = 32;   // (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")

bool is_wsp(char c) { return c == ' ' || c == '\t'; }
bool is_alnum(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// sts-ext-name
bool is_field_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxFieldNameLength || !is_alnum(name.front())) return false;
  for (char c : name) {
    if (!is_alnum(c) && c != '_' && c != '-' && c != '.') return false;
  }
  return true;
}

// sts-ext-value: 1*(%x21-3A / %x3C / %x3E-7E), i.e. visible ASCII but '=' and ';'.
bool is_field_value(std::string_view value) {
  if (value.empty()) return false;
  for (char c : value) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x21 || u > 0x7e || c == '=' || c == ';') return false;
  }
  return true;
}

bool is_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxIdLength) return false;
  for (char c : id) {
    if (!is_alnum(c)) return false;
  }
  return true;
}

std::string quoted(std::string_view s) { return "\"" + log_text::sanitize(s, 40) + "\""; }

}  // namespace

bool begins_with_sts_version(std::string_view record) { return dns::begins_with_version(record, kVersion); }

std::variant<TxtRecord, std::string> parse_txt_record(std::string_view text) {
  if (!begins_with_sts_version(text)) return std::string("does not start with \"v=STSv1\"");
  std::size_t pos = kVersion.size();
  std::set<std::string, std::less<>> seen{"v"};
  std::optional<std::string> id;
  bool id_in_other_case = false;

  auto skip_wsp = [&] {
    while (pos < text.size() && is_wsp(text[pos])) ++pos;
  };
  while (true) {
    // sts-field-delim = *WSP ";" *WSP; after the last field: an optional delimiter, then the end. Trailing
    // WSP without a ';' is outside the ABNF but unambiguous, and is accepted.
    skip_wsp();
    if (pos == text.size()) break;
    if (text[pos] != ';') return "has " + quoted(text.substr(pos)) + " where ';' should separate fields";
    ++pos;
    skip_wsp();
    if (pos == text.size()) break;
    if (text[pos] == ';') return std::string("has an empty field (\";;\")");

    std::size_t end = pos;
    while (end < text.size() && text[end] != ';' && !is_wsp(text[end])) ++end;
    std::string_view field = text.substr(pos, end - pos);
    pos = end;

    std::size_t eq = field.find('=');
    if (eq == std::string_view::npos) return "has the field " + quoted(field) + " without '='";
    std::string_view name = field.substr(0, eq);
    std::string_view value = field.substr(eq + 1);
    if (!is_field_name(name)) return "has an invalid field name " + quoted(name);
    if (!seen.emplace(name).second) return "has the field " + quoted(name) + " twice";
    if (name == "id") {
      if (!is_id(value)) return "has the id " + quoted(value) + ", not 1 to 32 letters and digits";
      id = std::string(value);
      continue;
    }
    if (!is_field_value(value)) return "has the field " + quoted(name) + " with an invalid value " + quoted(value);
    if (ascii::iequals(name, "id")) id_in_other_case = true;
  }
  if (!id) return std::string(id_in_other_case ? "has no id field (\"id\" is lower-case)" : "has no id field");
  return TxtRecord{std::move(*id)};
}

Discovery discover(const dns::TxtResult& answer) {
  Discovery d;
  dns::VersionRecord selected = dns::select_version_record(answer, kVersion);
  switch (selected.kind) {
    case dns::VersionRecord::Kind::None:
      d.kind = Discovery::Kind::None;
      return d;
    case dns::VersionRecord::Kind::Failed:
      d.kind = Discovery::Kind::Temporary;
      d.detail = answer.status == dns::Status::Malformed
                     ? "the TXT answer could not be read"
                     : "the TXT lookup failed (SERVFAIL, timeout or no server reachable)";
      return d;
    case dns::VersionRecord::Kind::Several:
      d.kind = Discovery::Kind::Invalid;
      d.detail = std::to_string(selected.count) + " records start with v=STSv1";
      return d;
    case dns::VersionRecord::Kind::One:
      break;
  }
  auto parsed = parse_txt_record(selected.text);
  if (auto* problem = std::get_if<std::string>(&parsed)) {
    d.kind = Discovery::Kind::Invalid;
    d.detail = "the record " + *problem;
    return d;
  }
  d.kind = Discovery::Kind::Published;
  d.id = std::get<TxtRecord>(parsed).id;
  return d;
}

}  // namespace mxguard::mta_sts

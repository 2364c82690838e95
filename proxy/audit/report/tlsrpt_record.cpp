#include "proxy/audit/report/tlsrpt_record.h"

#include "base/ascii.h"
#include "policy/dns/version_record.h"

namespace mxguard::audit::report {

namespace {
constexpr std::string_view kVersion = "v=TLSRPTv1";

bool is_wsp(char c) { return c == ' ' || c == '\t'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
int hex_value(char c) { return is_digit(c) ? c - '0' : (ascii::lower(c) - 'a' + 10); }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_wsp(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_wsp(s.back())) s.remove_suffix(1);
  return s;
}

// Printable form of untrusted bytes for messages: at most 60 characters, others as '?'.
std::string shown(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 60)) out.push_back(c >= 0x20 && c <= 0x7e ? c : '?');
  if (s.size() > 60) out += "...";
  return out;
}

bool valid_ext_name(std::string_view n) {
  if (n.empty() || n.size() > 32 || !(is_alpha(n[0]) || is_digit(n[0]))) return false;
  for (char c : n) {
    if (!(is_alpha(c) || is_digit(c) || c == '_' || c == '-' || c == '.')) return false;
  }
  return true;
}

bool valid_ext_value(std::string_view v) {
  if (v.empty()) return false;
  for (char c : v) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x21 || u > 0x7e || c == ';' || c == '=') return false;
  }
  return true;
}

// RFC 3986 characters, minus the three RFC 8460 wants encoded; '%' only as a valid escape.
std::string uri_problem(std::string_view uri) {
  std::size_t colon = uri.find(':');
  if (colon == std::string_view::npos || colon == 0) return "has a rua URI without a scheme: " + shown(uri);
  if (!is_alpha(uri[0])) return "has a rua URI whose scheme does not start with a letter: " + shown(uri);
  for (char c : uri.substr(0, colon)) {
    if (!(is_alpha(c) || is_digit(c) || c == '+' || c == '-' || c == '.')) {
      return "has a rua URI with a bad scheme: " + shown(uri);
    }
  }
  if (colon + 1 == uri.size()) return "has a rua URI with nothing after its scheme: " + shown(uri);
  static constexpr std::string_view kAllowed = "-._~:/?#[]@$&'()*+=";
  for (std::size_t i = 0; i < uri.size(); ++i) {
    char c = uri[i];
    if (c == '%') {
      if (i + 2 >= uri.size() || !is_hex(uri[i + 1]) || !is_hex(uri[i + 2])) {
        return "has a rua URI with a broken %-escape: " + shown(uri);
      }
      i += 2;
      continue;
    }
    if (c == ',' || c == '!' || c == ';') return "has a rua URI with an unencoded ',' '!' or ';': " + shown(uri);
    if (!(is_alpha(c) || is_digit(c) || kAllowed.find(c) != std::string_view::npos)) {
      return "has a rua URI with a character URIs do not have: " + shown(uri);
    }
  }
  return {};
}

std::string percent_decoded(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && is_hex(s[i + 1]) && is_hex(s[i + 2])) {
      out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

bool valid_domain(std::string_view d) {
  if (d.empty() || d.size() > 253 || d.front() == '.' || d.back() == '.') return false;
  std::size_t label = 0;
  for (char c : d) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    if (!(is_alpha(c) || is_digit(c) || c == '-' || c == '_') || ++label > 63) return false;
  }
  return true;
}

// The addresses of a mailto: URI, or why there are none.
std::variant<std::vector<std::string>, std::string> mailto_addresses(std::string_view uri) {
  std::string_view rest = uri.substr(7);   // after "mailto:"
  rest = rest.substr(0, rest.find('?'));
  std::string decoded = percent_decoded(rest);
  std::vector<std::string> out;
  std::string_view list = decoded;
  while (true) {
    std::size_t comma = list.find(',');
    std::string_view addr = trim(list.substr(0, comma));
    std::size_t at = addr.rfind('@');
    if (addr.empty() || at == std::string_view::npos || at == 0 || addr.find('@') != at ||
        !valid_domain(addr.substr(at + 1))) {
      return "has a mailto URI that is not an address: " + shown(uri);
    }
    for (char c : addr) {
      auto u = static_cast<unsigned char>(c);
      if (u <= 0x20 || u >= 0x7f || c == '<' || c == '>' || c == '"' || c == '\\' || c == '(' || c == ')') {
        return "has a mailto URI with characters an address cannot have: " + shown(uri);
      }
    }
    out.emplace_back(addr);
    if (comma == std::string_view::npos) return out;
    list.remove_prefix(comma + 1);
  }
}

std::string add_uris(std::string_view value, TlsrptRecord& record) {
  while (true) {
    std::size_t comma = value.find(',');
    std::string_view uri = trim(value.substr(0, comma));
    if (uri.empty()) return "has an empty rua URI";
    if (std::string problem = uri_problem(uri); !problem.empty()) return problem;
    if (ascii::istarts_with(uri, "mailto:")) {
      auto addresses = mailto_addresses(uri);
      if (auto* why = std::get_if<std::string>(&addresses)) return *why;
      for (std::string& a : std::get<std::vector<std::string>>(addresses)) record.mailto.push_back(std::move(a));
    } else if (ascii::istarts_with(uri, "https://") && uri.size() > 8) {
      record.https.emplace_back(uri);
    } else {
      record.unsupported.emplace_back(uri);
    }
    if (comma == std::string_view::npos) return {};
    value.remove_prefix(comma + 1);
  }
}
}  // namespace

bool begins_with_tlsrpt_version(std::string_view record) { return dns::begins_with_version(record, kVersion); }

std::variant<TlsrptRecord, std::string> parse_tlsrpt_record(std::string_view text) {
  if (!begins_with_tlsrpt_version(text)) return std::string("does not begin with v=TLSRPTv1");
  std::string_view rest = text.substr(kVersion.size());
  TlsrptRecord record;
  bool have_rua = false;
  bool first = true;
  while (true) {
    // field-delim, or the end (with trailing whitespace, which the ABNF lacks but which is unambiguous)
    std::string_view before = rest;
    while (!rest.empty() && is_wsp(rest.front())) rest.remove_prefix(1);
    if (rest.empty()) {
      if (first) return std::string("has no field after v=TLSRPTv1");
      break;
    }
    if (rest.front() != ';') return "has text where a ';' belongs: " + shown(before);
    rest.remove_prefix(1);
    while (!rest.empty() && is_wsp(rest.front())) rest.remove_prefix(1);
    if (rest.empty()) {
      if (first) return std::string("has no field after v=TLSRPTv1");
      break;   // the optional last field-delim
    }
    first = false;
    std::size_t end = rest.find(';');
    std::string_view field = rest.substr(0, end);
    // A field's value runs to the next ';' (trailing WSP belongs to the delimiter).
    while (!field.empty() && is_wsp(field.back())) field.remove_suffix(1);
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
    std::size_t eq = field.find('=');
    if (eq == std::string_view::npos) return "has a field without '=': " + shown(field);
    std::string_view name = field.substr(0, eq);
    std::string_view value = field.substr(eq + 1);
    if (name == "rua") {
      if (have_rua) return std::string("has two rua fields");
      have_rua = true;
      if (std::string problem = add_uris(value, record); !problem.empty()) return problem;
    } else if (name == "v") {
      return std::string("has a second v field");
    } else if (!valid_ext_name(name) || !valid_ext_value(value)) {
      return "has a field that is not name=value: " + shown(field);
    }
  }
  if (!have_rua) return std::string("has no rua field");
  return record;
}

TlsrptDiscovery discover_tlsrpt(const dns::TxtResult& answer) {
  TlsrptDiscovery d;
  dns::VersionRecord selected = dns::select_version_record(answer, kVersion);
  switch (selected.kind) {
    case dns::VersionRecord::Kind::None: d.kind = TlsrptDiscovery::Kind::None; return d;
    case dns::VersionRecord::Kind::Failed:
      d.kind = TlsrptDiscovery::Kind::Temporary;
      d.detail = answer.status == dns::Status::Temporary ? "the lookup failed (no answer that can be trusted)"
                                                          : "the lookup failed (the answer could not be read)";
      return d;
    case dns::VersionRecord::Kind::Several:
      d.kind = TlsrptDiscovery::Kind::Invalid;
      d.detail = std::to_string(selected.count) + " records begin with v=TLSRPTv1";
      return d;
    case dns::VersionRecord::Kind::One: break;
  }
  d.kind = TlsrptDiscovery::Kind::Invalid;
  auto parsed = parse_tlsrpt_record(selected.text);
  if (auto* why = std::get_if<std::string>(&parsed)) {
    d.detail = "the record " + *why;
    return d;
  }
  d.record = std::get<TlsrptRecord>(parsed);
  if (d.record.mailto.empty() && d.record.https.empty()) {
    d.detail = "the record names no mailto: or https: destination";
    return d;
  }
  d.kind = TlsrptDiscovery::Kind::Published;
  return d;
}

}  // namespace mxguard::audit::report

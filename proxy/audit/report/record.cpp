#include "proxy/audit/report/record.h"

#include <nlohmann/json.hpp>

namespace mxguard::audit::report {

namespace {
using json = nlohmann::json;

// Reads an optional string field; false (with `why`) when it is there with another type.
bool read_string(const json& j, const char* key, std::string& out, std::string& why) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return true;
  if (!it->is_string()) {
    why = std::string("\"") + key + "\" is not a string";
    return false;
  }
  out = it->get<std::string>();
  return true;
}

bool read_bool(const json& j, const char* key, bool& out, std::string& why) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return true;
  if (!it->is_boolean()) {
    why = std::string("\"") + key + "\" is not true or false";
    return false;
  }
  out = it->get<bool>();
  return true;
}

bool read_int(const json& j, const char* key, std::optional<std::int64_t>& out, std::string& why) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return true;
  if (!it->is_number_integer()) {
    why = std::string("\"") + key + "\" is not an integer";
    return false;
  }
  out = it->get<std::int64_t>();
  return true;
}

bool read_strings(const json& j, const char* key, std::vector<std::string>& out, std::string& why) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return true;
  bool ok = it->is_array();
  if (ok) {
    for (const json& item : *it) {
      if (!item.is_string()) {
        ok = false;
        break;
      }
      out.push_back(item.get<std::string>());
    }
  }
  if (!ok) why = std::string("\"") + key + "\" is not a list of strings";
  return ok;
}
}  // namespace

std::variant<Record, std::string> parse_record(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  // No exceptions: a broken line is data, not an error of the program (allow_exceptions = false gives a
  // discarded value instead of throwing).
  json j = json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return std::string("not JSON");
  if (!j.is_object()) return std::string("not a JSON object");

  Record r;
  std::string why;
  std::string direction;
  if (!read_string(j, "ts", r.ts_text, why) || !read_string(j, "event", r.event, why) ||
      !read_string(j, "direction", direction, why)) {
    return why;
  }
  if (r.ts_text.empty()) return std::string("no \"ts\"");
  if (r.event.empty()) return std::string("no \"event\"");
  auto ts = parse_rfc3339(r.ts_text);
  if (!ts) return "\"ts\" is not an RFC 3339 time: " + r.ts_text.substr(0, 40);
  r.ts = *ts;
  auto dir = direction_from(direction);
  if (!dir) return direction.empty() ? std::string("no \"direction\"") : "unknown direction " + direction.substr(0, 20);
  r.direction = *dir;
  r.kind = event_kind_from(r.event);

  bool ok = read_string(j, "session", r.session, why) && read_string(j, "peer", r.peer, why) &&
            read_string(j, "verdict", r.verdict_text, why) && read_string(j, "domain", r.domain, why) &&
            read_string(j, "mx", r.mx, why) && read_string(j, "mx_address", r.mx_address, why) &&
            read_string(j, "sending_ip", r.sending_ip, why) && read_string(j, "policy", r.policy, why) &&
            read_string(j, "policy_source", r.policy_source, why) && read_string(j, "policy_id", r.policy_id, why) &&
            read_string(j, "tls_version", r.tls_version, why) && read_string(j, "cipher", r.cipher, why) &&
            read_string(j, "sni", r.sni, why) && read_string(j, "reason", r.reason, why) &&
            read_string(j, "detail", r.detail, why) && read_string(j, "id", r.id, why) &&
            read_string(j, "mode", r.mode, why) && read_string(j, "report_domain", r.report_domain, why) &&
            read_int(j, "transaction", r.transaction, why) && read_bool(j, "plaintext_retry", r.plaintext_retry, why) &&
            read_bool(j, "implicit_tls", r.implicit_tls, why) && read_bool(j, "changed", r.changed, why) &&
            read_bool(j, "cached_policy_in_force", r.cached_policy_in_force, why) &&
            read_strings(j, "policy_lines", r.policy_lines, why) && read_strings(j, "tlsa", r.tlsa, why);
  if (!ok) return why;
  r.verdict = verdict_from(r.verdict_text);
  return r;
}

}  // namespace mxguard::audit::report

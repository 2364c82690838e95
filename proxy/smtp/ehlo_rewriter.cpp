#include "proxy/smtp/ehlo_rewriter.h"

#include "base/ascii.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mxguard::smtp {

namespace {

// Extensions that change neither framing nor who may do what, so they can pass through mxguard.
constexpr std::array<std::string_view, 11> kAlwaysOffered{
    "SIZE", "PIPELINING", "8BITMIME", "DSN", "ENHANCEDSTATUSCODES", "SMTPUTF8",
    "VRFY", "ETRN", "HELP", "DELIVERBY", "MT-PRIORITY",
};

using ascii::upper;

bool offered(const std::string& keyword, bool tls_active) {
  if (std::find(kAlwaysOffered.begin(), kAlwaysOffered.end(), keyword) != kAlwaysOffered.end()) return true;
  // Credentials only ever cross an encrypted channel; REQUIRETLS is meaningless without TLS.
  bool auth = keyword == "AUTH" || keyword.starts_with("AUTH=");
  return tls_active && (auth || keyword == "REQUIRETLS");
}

// The SIZE line to show. `params` is what followed "SIZE" (RFC 1870: an optional decimal, 0 = no limit).
std::string size_line(std::string_view params, std::uint64_t max) {
  std::size_t start = params.find_first_not_of(' ');
  std::string_view number = start == std::string_view::npos ? std::string_view() : params.substr(start);
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  // An unreadable number (or one too large to hold) is treated like none: no limit announced.
  std::optional<std::uint64_t> declared;
  if (!number.empty() && ec == std::errc() && end == number.data() + number.size()) declared = value;
  if (max == 0) return declared ? "SIZE " + std::to_string(*declared) : std::string("SIZE");
  std::uint64_t limit = !declared || *declared == 0 ? max : std::min(*declared, max);
  return "SIZE " + std::to_string(limit);
}

}  // namespace

Reply rewrite_ehlo(const Reply& backend, const EhloOffer& offer) {
  if (backend.klass() != 2) return backend;
  Reply out;
  out.code = backend.code;
  out.lines.push_back(backend.lines.empty() ? std::string() : backend.lines.front());

  std::vector<std::string> seen;   // one line per keyword: a second SIZE could contradict the first
  for (std::size_t i = 1; i < backend.lines.size(); ++i) {
    std::string_view line = backend.lines[i];
    std::size_t space = line.find(' ');
    std::string keyword = upper(line.substr(0, space));
    if (keyword.empty() || !offered(keyword, offer.tls_active)) continue;
    if (std::find(seen.begin(), seen.end(), keyword) != seen.end()) continue;
    seen.push_back(keyword);
    if (keyword == "SIZE") {
      out.lines.push_back(size_line(space == std::string_view::npos ? std::string_view() : line.substr(space),
                                    offer.max_message_size));
    } else {
      out.lines.emplace_back(line);
    }
  }
  if (offer.max_message_size != 0 && std::find(seen.begin(), seen.end(), "SIZE") == seen.end()) {
    out.lines.push_back("SIZE " + std::to_string(offer.max_message_size));
  }
  // Appended last, after the backend's own order, so the rest of the reply reads as the backend wrote it.
  if (offer.starttls_available && !offer.tls_active) out.lines.push_back("STARTTLS");
  return out;
}

}  // namespace mxguard::smtp

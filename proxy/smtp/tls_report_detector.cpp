#include "proxy/smtp/tls_report_detector.h"

#include "base/ascii.h"

namespace mxguard::smtp {

namespace {
constexpr std::string_view kField = "TLS-Report-Domain:";
// A line longer than this cannot be the field with a domain in it; only its start is kept.
constexpr std::size_t kMaxLineKept = kField.size() + TlsReportDetector::kMaxValueBytes + 64;

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}
}  // namespace

void TlsReportDetector::feed(std::string_view bytes) {
  for (char c : bytes) {
    if (done_) return;
    if (++seen_ > kMaxHeaderBytes) {
      done_ = true;
      return;
    }
    if (c == '\n') {
      line_done();
      continue;
    }
    if (line_.size() < kMaxLineKept) line_.push_back(c);
  }
}

void TlsReportDetector::line_done() {
  std::string_view line = line_;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.empty()) {
    done_ = true;   // the empty line that ends the header section
  } else if (!found_ && ascii::istarts_with(line, kField)) {
    found_ = true;
    value_ = std::string(trimmed(line.substr(kField.size())).substr(0, kMaxValueBytes));
  }
  line_.clear();
}

}  // namespace mxguard::smtp

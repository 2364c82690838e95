#include "proxy/audit/report/tlsrpt_email.h"

#include <cstdio>

#include "proxy/audit/report/gzip.h"
#include "proxy/audit/report/timestamp.h"

namespace mxguard::audit::report {

namespace {
// Header values come from the configuration, the command line and a DNS record: none of them may end
// a header field or start another one.
std::string header_safe(const std::string& s) {
  std::string out;
  for (char c : s) out.push_back(c == '\r' || c == '\n' ? ' ' : c);
  return out;
}

std::string boundary_for(const std::string& id) {
  std::uint64_t h = 1469598103934665603ull;
  for (char c : id) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  char buf[48];
  // "=_" cannot occur in base64 text or in the 7-bit text part we write.
  std::snprintf(buf, sizeof buf, "----=_mxguard_tlsrpt_%016llx", static_cast<unsigned long long>(h));
  return buf;
}
}  // namespace

std::string render_report_email(const ReportEmail& e) {
  std::string to;
  for (const std::string& a : e.to) to += (to.empty() ? "" : ",\n ") + header_safe(a);
  std::string boundary = boundary_for(e.report_id);
  std::string id = header_safe(e.report_id);
  std::string m;
  m += "From: " + header_safe(e.from) + "\n";
  m += "To: " + to + "\n";
  m += "Subject: Report Domain: " + header_safe(e.policy_domain) + " Submitter: " + header_safe(e.submitter) +
       " Report-ID: <" + id + ">\n";
  m += "Date: " + format_rfc5322(e.date) + "\n";
  m += "Message-ID: <" + id + ">\n";
  m += "TLS-Report-Domain: " + header_safe(e.policy_domain) + "\n";
  m += "TLS-Report-Submitter: " + header_safe(e.submitter) + "\n";
  m += "TLS-Required: No\n";
  m += "Auto-Submitted: auto-generated\n";
  m += "MIME-Version: 1.0\n";
  m += "Content-Type: multipart/report; report-type=\"tlsrpt\";\n boundary=\"" + boundary + "\"\n";
  m += "\nThis is a multipart message in MIME format.\n\n";
  m += "--" + boundary + "\n";
  m += "Content-Type: text/plain; charset=\"us-ascii\"\nContent-Transfer-Encoding: 7bit\n\n";
  m += e.human_summary + "\n\n";
  m += "--" + boundary + "\n";
  m += "Content-Type: application/tlsrpt+gzip\nContent-Transfer-Encoding: base64\n";
  m += "Content-Disposition: attachment;\n filename=\"" + header_safe(e.file_name) + "\"\n\n";
  m += base64_lines(e.gzipped_report);
  m += "\n--" + boundary + "--\n";
  return m;
}

}  // namespace mxguard::audit::report

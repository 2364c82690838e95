#pragma once
// A TLS-RPT report as the email of RFC 8460 §5.3, ready for `sendmail -t -oi < FILE`: multipart/report;
// report-type="tlsrpt", a text/plain part for people and the application/tlsrpt+gzip part (base64),
// the TLS-Report-Domain and TLS-Report-Submitter header fields, and TLS-Required: No (RFC 8689) so
// that a report about a domain's broken TLS can still reach it. Line ends are LF, as sendmail reads a
// local file; the MTA writes CRLF on the wire. DKIM (RFC 8460 §5.3 requires it) is the MTA's job.
#include <chrono>
#include <string>
#include <vector>

namespace mxguard::audit::report {

struct ReportEmail {
  std::string from;                  // an address
  std::vector<std::string> to;       // addresses from the rua's mailto: URIs
  std::string policy_domain, submitter, report_id;
  std::string file_name;             // the attachment's name (report_file_name)
  std::string gzipped_report;
  std::string human_summary;         // one or two lines for the text/plain part
  std::chrono::sys_seconds date{};   // the Date header
};

std::string render_report_email(const ReportEmail& email);

}  // namespace mxguard::audit::report

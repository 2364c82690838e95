#pragma once
// `mxguard audit --tlsrpt DIR`: the reports written to DIR (RFC 8460 §5.1 names, gzip), the §5.3 email
// beside each report whose domain publishes mailto: destinations (NAME.eml, for `sendmail -t -oi`),
// the https: destinations listed (NAME.https, one URI a line), and a listing on stdout.
#include <nlohmann/json.hpp>

#include <string>

#include "policy/config/config.h"
#include "proxy/app/audit_command.h"
#include "proxy/audit/report/tlsrpt_report.h"

namespace mxguard::app {

class TlsrptOutput {
 public:
  TlsrptOutput(const AuditOptions& options, const config::Config* config);
  // "" or why no report can be made (no submitter, DIR not creatable).
  std::string check();
  void add(const audit::report::Record& r, bool counted) { builder_.add(r, counted); }
  // Writes the files; returns the listing (text, or JSON with --json) and sets `failed` when a file
  // could not be written.
  std::string finish(bool& failed);

 private:
  audit::report::PolicyTexts cached_policy_texts() const;

  const AuditOptions& options_;
  const config::Config* config_;
  audit::report::ReportIdentity who_;
  std::string from_;
  audit::report::TlsrptBuilder builder_;
};

}  // namespace mxguard::app

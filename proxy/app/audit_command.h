#pragma once
// `mxguard audit FILE...`: the audit log turned into answers (issue 16). The summary (text, or --json),
// RFC 8460 TLS-RPT reports (--tlsrpt DIR) and a self-contained HTML report (--html FILE), from plain or
// gzip-compressed audit files. The pure parts are proxy/audit/report/; this is the command line around
// them: options, progress on stderr, files written, DNS for the reporting addresses.
#include <optional>
#include <string>
#include <vector>

namespace mxguard::app {

struct AuditOptions {
  std::vector<std::string> files;   // none: the configuration's [audit] path
  std::string config_path;
  bool config_given = false;        // -c was on the command line (a missing file is then an error)
  std::string since, until, domain, direction;
  bool json = false;
  std::string tlsrpt_dir;           // --tlsrpt DIR
  std::string html_file;            // --html FILE
  // TLS-RPT (RFC 8460 §4.4): who reports, and how to reach them.
  std::string organization, contact, submitter, from;
  bool no_dns = false;              // do not look up _smtp._tls: write the .json.gz files only
};

// Exit status: 0, or 2 for a usage problem, an unreadable file or a configuration that does not load.
// Bad lines never change the status: they are counted and named in the output.
int audit_command(const AuditOptions& options);

}  // namespace mxguard::app

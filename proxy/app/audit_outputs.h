#pragma once
// What one `mxguard audit` run makes from the records it reads: the summary, TLS-RPT reports, the HTML
// report. Every output sees every record once, in one pass over the files.
#include <functional>
#include <memory>
#include <string>

#include "policy/config/config.h"
#include "proxy/app/audit_command.h"
#include "proxy/app/audit_tlsrpt_output.h"
#include "proxy/audit/report/filter.h"
#include "proxy/audit/report/input.h"
#include "proxy/audit/report/summary.h"

namespace mxguard::app {

class Outputs {
 public:
  Outputs(const AuditOptions& options, const config::Config* config, audit::report::Filter filter);

  // Before reading: "" or why the outputs cannot be made (an option missing, a directory not writable).
  std::string check();
  void add(audit::report::Record&& record);
  // After reading: writes and prints; `note_bad_lines` is called where the bad lines are not in stdout.
  int finish(const audit::report::ReadStats& stats, const std::function<void()>& note_bad_lines);

 private:
  const AuditOptions& options_;
  const config::Config* config_;
  audit::report::Filter filter_;
  audit::report::SummaryBuilder summary_;
  std::unique_ptr<TlsrptOutput> tlsrpt_;   // --tlsrpt
};

}  // namespace mxguard::app

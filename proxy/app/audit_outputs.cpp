#include "proxy/app/audit_outputs.h"

#include <cstdio>

#include "proxy/audit/report/summary_render.h"

namespace mxguard::app {

using namespace audit::report;

Outputs::Outputs(const AuditOptions& options, const config::Config* config, Filter filter)
    : options_(options), config_(config), filter_(std::move(filter)) {
  if (!options.tlsrpt_dir.empty()) tlsrpt_ = std::make_unique<TlsrptOutput>(options, config);
}

std::string Outputs::check() {
  if (tlsrpt_) {
    if (std::string problem = tlsrpt_->check(); !problem.empty()) return problem;
  }
  return {};
}

void Outputs::add(Record&& record) {
  bool counted = filter_.matches(record);
  if (counted) summary_.add(record);
  if (tlsrpt_) tlsrpt_->add(record, counted);
}

int Outputs::finish(const ReadStats& stats, const std::function<void()>& note_bad_lines) {
  Summary summary = summary_.finish();
  if (!tlsrpt_) {
    // The summary itself lists the bad lines.
    std::string out = options_.json ? summary_json(summary, stats).dump(2) + "\n" : render_summary_text(summary, stats);
    std::fputs(out.c_str(), stdout);
    return 0;
  }
  note_bad_lines();
  int status = 0;
  bool failed = false;
  std::fputs(tlsrpt_->finish(failed).c_str(), stdout);
  if (failed) status = 2;
  return status;
}

}  // namespace mxguard::app

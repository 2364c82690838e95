#include "proxy/app/audit_outputs.h"

#include <cstdio>

#include "proxy/audit/report/summary_render.h"

namespace mxguard::app {

using namespace audit::report;

Outputs::Outputs(const AuditOptions& options, const config::Config* config, Filter filter)
    : options_(options), config_(config), filter_(std::move(filter)) {}

std::string Outputs::check() { return {}; }

void Outputs::add(Record&& record) {
  if (filter_.matches(record)) summary_.add(record);
}

int Outputs::finish(const ReadStats& stats, const std::function<void()>&) {
  Summary summary = summary_.finish();
  std::string out = options_.json ? summary_json(summary, stats).dump(2) + "\n" : render_summary_text(summary, stats);
  std::fputs(out.c_str(), stdout);
  return 0;
}

}  // namespace mxguard::app

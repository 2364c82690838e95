#include "proxy/app/audit_outputs.h"

#include <cstdio>
#include <fstream>

#include "proxy/audit/report/html_report.h"
#include "proxy/audit/report/timestamp.h"

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
  int status = 0;
  if (!options_.html_file.empty()) {
    HtmlOptions html;
    html.generated_at = format_rfc3339_seconds(std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()));
    std::string page = render_html_report(summary, stats, html);
    std::string tmp = options_.html_file + ".tmp";
    bool written = false;
    {
      std::ofstream out(tmp, std::ios::binary);
      out << page;
      out.close();   // flushed and closed before the rename, so the name never shows half a page
      written = static_cast<bool>(out);
    }
    written = written && std::rename(tmp.c_str(), options_.html_file.c_str()) == 0;
    if (!written) {
      std::remove(tmp.c_str());
      std::fprintf(stderr, "mxguard audit: cannot write %s\n", options_.html_file.c_str());
      return 2;
    }
    if (!tlsrpt_) {
      note_bad_lines();
      std::printf("mxguard audit: wrote %s (%zu bytes)\n", options_.html_file.c_str(), page.size());
      return 0;
    }
  }
  if (!tlsrpt_) {
    // The summary itself lists the bad lines.
    std::string out = options_.json ? summary_json(summary, stats).dump(2) + "\n" : render_summary_text(summary, stats);
    std::fputs(out.c_str(), stdout);
    return 0;
  }
  note_bad_lines();
  bool failed = false;
  std::fputs(tlsrpt_->finish(failed).c_str(), stdout);
  if (failed) status = 2;
  return status;
}

}  // namespace mxguard::app

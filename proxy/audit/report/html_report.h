#pragma once
// `mxguard audit --html FILE`: one self-contained HTML page from a Summary: inline CSS and SVG, no
// script, no external asset (it opens from a mail attachment or a file share as it is). Shows the
// encrypted share over time per direction, the STARTTLS success rates, downgrade attempts by domain
// and reason, the top failing MX hosts, MTA-STS fetch failures and the downgrade attempts listed.
#include <string>

#include "proxy/audit/report/input.h"
#include "proxy/audit/report/summary.h"

namespace mxguard::audit::report {

struct HtmlOptions {
  std::string title = "mxguard audit report";
  std::string generated_at;   // shown in the page's footer ("" to leave it out, as the golden test does)
  std::size_t max_listed = 500;   // downgrade attempts listed (all are counted in the charts)
};

std::string render_html_report(const Summary& summary, const ReadStats& stats, const HtmlOptions& options = {});

// The time axis: hourly buckets for up to three days of data, daily ones beyond. Exposed for tests.
struct TimeBuckets {
  std::vector<std::string> labels;
  std::vector<HourCounts> counts;
};
TimeBuckets time_buckets(const Summary& summary);

}  // namespace mxguard::audit::report

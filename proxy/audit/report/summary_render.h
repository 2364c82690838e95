#pragma once
// The summary for people (aligned text) and for machines (JSON, --json). Pure: strings in, strings out.
#include <string>

#include <nlohmann/json.hpp>

#include "proxy/audit/report/input.h"
#include "proxy/audit/report/summary.h"

namespace mxguard::audit::report {

std::string render_summary_text(const Summary& summary, const ReadStats& stats);

// Shares and rates are fractions (0.833) or null when there is no data; counts are integers.
nlohmann::ordered_json summary_json(const Summary& summary, const ReadStats& stats);

}  // namespace mxguard::audit::report

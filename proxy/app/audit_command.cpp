#include "proxy/app/audit_command.h"

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "base/ascii.h"
#include "policy/config/config_loader.h"
#include "proxy/app/audit_outputs.h"
#include "proxy/audit/report/filter.h"
#include "proxy/audit/report/input.h"
#include "proxy/audit/report/summary_render.h"

namespace mxguard::app {

namespace {
using namespace audit::report;

bool build_filter(const AuditOptions& o, Filter& f) {
  if (!o.since.empty() && !(f.since = parse_since(o.since))) {
    std::fprintf(stderr, "mxguard audit: --since %s: not an RFC 3339 time or YYYY-MM-DD\n", o.since.c_str());
    return false;
  }
  if (!o.until.empty() && !(f.until = parse_until(o.until))) {
    std::fprintf(stderr, "mxguard audit: --until %s: not an RFC 3339 time or YYYY-MM-DD\n", o.until.c_str());
    return false;
  }
  f.domain = ascii::lower(o.domain);
  if (f.domain.ends_with('.')) f.domain.pop_back();
  if (!o.direction.empty()) {
    f.direction = audit::direction_from(o.direction);
    if (!f.direction) {
      std::fprintf(stderr, "mxguard audit: --direction %s: inbound or outbound\n", o.direction.c_str());
      return false;
    }
  }
  return true;
}

// Progress for inputs that take a while: nothing for the first seconds (a day's log is read before
// anyone would look), then one line every two seconds.
class ProgressLine {
 public:
  void operator()(const Progress& p) {
    auto now = std::chrono::steady_clock::now();
    if (now - start_ < std::chrono::seconds(3) || now - last_ < std::chrono::seconds(2)) return;
    last_ = now;
    std::string where = p.file_size > 0 ? std::to_string(p.file_bytes_read * 100 / p.file_size) + " %" : "";
    std::fprintf(stderr, "mxguard audit: reading %s %s (%llu lines so far)\n", p.file.c_str(), where.c_str(),
                 static_cast<unsigned long long>(p.lines));
    shown_ = true;
  }
  bool shown() const { return shown_; }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_{};
  bool shown_ = false;
};

void note_bad_lines(const ReadStats& stats) {
  if (stats.bad == 0) return;
  const BadLine& b = stats.bad_lines.front();
  std::fprintf(stderr, "mxguard audit: %llu bad line(s) skipped; the first: %s:%llu: %s\n",
               static_cast<unsigned long long>(stats.bad), b.file.c_str(), static_cast<unsigned long long>(b.line),
               b.why.c_str());
}
}  // namespace

int audit_command(const AuditOptions& options) {
  Filter filter;
  if (!build_filter(options, filter)) return 2;

  // The configuration: where the log is when no file is named, and for TLS-RPT the submitter's name,
  // the DNS servers and the MTA-STS cache (policies fetched before the files begin).
  std::optional<config::Config> config;
  bool wants_config = options.files.empty() || !options.tlsrpt_dir.empty();
  if (options.config_given || (wants_config && std::filesystem::exists(options.config_path))) {
    config::LoadResult loaded = config::load_config(options.config_path);
    if (const auto* error = std::get_if<config::ConfigError>(&loaded)) {
      std::fprintf(stderr, "%s\n", error->to_string().c_str());
      return 2;
    }
    config = std::move(std::get<config::Config>(loaded));
  }
  std::vector<std::string> files = options.files;
  if (files.empty()) {
    if (!config || config->audit.path.empty()) {
      std::fprintf(stderr, "mxguard audit: no audit file named, and no [audit] path in %s\n",
                   options.config_path.c_str());
      return 2;
    }
    files.push_back(config->audit.path);
  }

  Outputs outputs(options, config ? &*config : nullptr, filter);
  if (std::string problem = outputs.check(); !problem.empty()) {
    std::fprintf(stderr, "mxguard audit: %s\n", problem.c_str());
    return 2;
  }
  ReadStats stats;
  ProgressLine progress;
  ReadOptions read_options;
  read_options.progress = [&progress](const Progress& p) { progress(p); };
  std::string error = read_audit_files(files, [&](Record&& r) { outputs.add(std::move(r)); }, stats, read_options);
  if (!error.empty()) {
    std::fprintf(stderr, "mxguard audit: %s\n", error.c_str());
    return 2;
  }
  if (progress.shown()) {
    std::fprintf(stderr, "mxguard audit: read %llu lines\n", static_cast<unsigned long long>(stats.lines));
  }
  return outputs.finish(stats, [&] { note_bad_lines(stats); });
}

}  // namespace mxguard::app

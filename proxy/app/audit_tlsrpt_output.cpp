#include "proxy/app/audit_tlsrpt_output.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "policy/mta_sts/cache_file.h"
#include "proxy/app/audit_tlsrpt_dns.h"
#include "proxy/audit/report/gzip.h"
#include "proxy/audit/report/tlsrpt_email.h"
#include "proxy/audit/report/tlsrpt_record.h"

namespace mxguard::app {

using namespace audit::report;
using nlohmann::ordered_json;

namespace {
// Written whole or not at all: a cron job that sends DIR/*.eml never sends half a report.
std::string write_file(const std::string& path, std::string_view bytes) {
  std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) return "cannot create " + tmp + ": " + std::strerror(errno);
  const char* p = bytes.data();
  std::size_t left = bytes.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      std::string why = std::strerror(n < 0 ? errno : ENOSPC);
      ::close(fd);
      ::unlink(tmp.c_str());
      return "cannot write " + tmp + ": " + why;
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
    std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    return "cannot write " + path + ": " + why;
  }
  return {};
}

std::string base_name(const std::string& json_gz_name) {
  return json_gz_name.substr(0, json_gz_name.size() - std::string_view(".json.gz").size());
}

std::string joined(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const std::string& i : items) out += (out.empty() ? "" : std::string(separator)) + i;
  return out;
}

std::string_view kind_name(TlsrptDiscovery::Kind kind) {
  switch (kind) {
    case TlsrptDiscovery::Kind::Published: return "published";
    case TlsrptDiscovery::Kind::None: return "none";
    case TlsrptDiscovery::Kind::Invalid: return "invalid";
    case TlsrptDiscovery::Kind::Temporary: return "lookup-failed";
  }
  return "?";
}
}  // namespace

TlsrptOutput::TlsrptOutput(const AuditOptions& options, const config::Config* config)
    : options_(options), config_(config) {
  who_.submitter = options.submitter;
  if (who_.submitter.empty() && config) who_.submitter = config->server.hostname;
  who_.organization = options.organization.empty() ? who_.submitter : options.organization;
  who_.contact = options.contact.empty() ? "postmaster@" + who_.submitter : options.contact;
  from_ = options.from.empty() ? who_.contact : options.from;
}

std::string TlsrptOutput::check() {
  if (who_.submitter.empty()) {
    return "--tlsrpt needs the submitter's domain: --submitter DOMAIN, or [server] hostname in --config";
  }
  std::error_code ec;
  std::filesystem::create_directories(options_.tlsrpt_dir, ec);
  if (ec) return "cannot create " + options_.tlsrpt_dir + ": " + ec.message();
  if (::access(options_.tlsrpt_dir.c_str(), W_OK) != 0) return options_.tlsrpt_dir + " is not writable";
  return {};
}

PolicyTexts TlsrptOutput::cached_policy_texts() const {
  // Policies fetched before the audit files begin are still in the MTA-STS cache file. It is only read
  // (never load_cache_file, which would move a corrupt file aside under the running mxguard's feet).
  PolicyTexts texts;
  if (!config_ || config_->mta_sts.cache_file.empty()) return texts;
  std::ifstream in(config_->mta_sts.cache_file, std::ios::binary);
  if (!in) return texts;
  std::stringstream ss;
  ss << in.rdbuf();
  auto parsed = mta_sts::parse_cache(ss.str());
  if (auto* cache = std::get_if<mta_sts::ParsedCache>(&parsed)) {
    for (const mta_sts::CachedPolicy& p : cache->entries) {
      texts[{p.domain, p.id}] = mta_sts::policy_lines(p.policy.text);
    }
  }
  return texts;
}

std::string TlsrptOutput::finish(bool& failed) {
  std::vector<DomainReport> all = builder_.finish(cached_policy_texts());
  // Only days that are over: a report is about a whole UTC day (RFC 8460 §4.1), and tomorrow's run
  // would otherwise send a second, different report with the same id.
  auto now = std::chrono::system_clock::now();
  std::vector<DomainReport> reports;
  std::vector<std::string> unfinished_days;
  for (DomainReport& r : all) {
    if (Time{r.day + std::chrono::days{1}} > now) {
      std::string day = format_day(r.day);
      if (unfinished_days.empty() || unfinished_days.back() != day) unfinished_days.push_back(day);
      continue;
    }
    reports.push_back(std::move(r));
  }

  std::map<std::string, TlsrptDiscovery> found;
  std::string dns_problem;
  if (!options_.no_dns) {
    std::vector<std::string> domains;
    for (const DomainReport& r : reports) {
      if (domains.empty() || domains.back() != r.domain) domains.push_back(r.domain);
    }
    std::sort(domains.begin(), domains.end());
    domains.erase(std::unique(domains.begin(), domains.end()), domains.end());
    for (auto& [domain, answer] : lookup_tlsrpt_records(domains, config_, dns_problem)) {
      found[domain] = discover_tlsrpt(answer);
    }
  }

  ordered_json listing = ordered_json::array();
  std::string text;
  for (const DomainReport& r : reports) {
    std::string name = report_file_name(r, who_);
    std::string dir = options_.tlsrpt_dir + "/";
    std::string gz = gzip_compress(report_json(r, who_).dump());
    std::uint64_t ok = 0, bad = 0;
    for (const PolicyReport& p : r.policies) {
      ok += p.successful;
      bad += p.failed;
    }
    ordered_json item{{"domain", r.domain}, {"day", format_day(r.day)}, {"file", dir + name},
                      {"report_id", report_id(r, who_)}, {"successful", ok}, {"failed", bad}};
    text += "  " + format_day(r.day) + " " + r.domain + ": " + std::to_string(ok) + " successful, " +
            std::to_string(bad) + " failed session(s): " + dir + name + "\n";
    if (std::string e = write_file(dir + name, gz); !e.empty()) {
      text += "    " + e + "\n";
      item["error"] = e;
      failed = true;
      listing.push_back(item);
      continue;
    }
    for (const PolicyReport& p : r.policies) {
      if (p.missing_text) {
        text += "    note: the text of MTA-STS policy " + p.policy_id +
                " is in neither the audit files nor the cache file: policy-string left out\n";
      }
    }
    auto d = found.find(r.domain);
    if (d == found.end()) {
      item["tlsrpt"] = "not-looked-up";
      listing.push_back(item);
      continue;
    }
    const TlsrptDiscovery& disc = d->second;
    item["tlsrpt"] = kind_name(disc.kind);
    item["mailto"] = disc.record.mailto;
    item["https"] = disc.record.https;
    if (!disc.detail.empty()) item["detail"] = disc.detail;
    switch (disc.kind) {
      case TlsrptDiscovery::Kind::None: text += "    no _smtp._tls record: nobody to send it to\n"; break;
      case TlsrptDiscovery::Kind::Temporary:
        text += "    _smtp._tls." + r.domain + ": " + disc.detail + (dns_problem.empty() ? "" : ": " + dns_problem) +
                "; not sent (run again later)\n";
        break;
      case TlsrptDiscovery::Kind::Invalid:
        text += "    _smtp._tls." + r.domain + " is malformed: " + disc.detail + "; not sent\n";
        break;
      case TlsrptDiscovery::Kind::Published: break;
    }
    if (!disc.record.unsupported.empty()) {
      text += "    ignored (neither mailto: nor https:): " + joined(disc.record.unsupported, ", ") + "\n";
    }
    if (disc.kind != TlsrptDiscovery::Kind::Published) {
      listing.push_back(item);
      continue;
    }
    if (!disc.record.mailto.empty()) {
      ReportEmail email;
      email.from = from_;
      email.to = disc.record.mailto;
      email.policy_domain = r.domain;
      email.submitter = who_.submitter;
      email.report_id = report_id(r, who_);
      email.file_name = name;
      email.gzipped_report = gz;
      email.date = std::chrono::floor<std::chrono::seconds>(now);
      email.human_summary = "This is an aggregate TLS report (RFC 8460) from " + who_.organization + " (" +
                            who_.submitter + ") for " + r.domain + ", covering " + format_day(r.day) +
                            " UTC: " + std::to_string(ok) + " successful and " + std::to_string(bad) +
                            " failed session(s).";
      std::string path = dir + base_name(name) + ".eml";
      if (std::string e = write_file(path, render_report_email(email)); !e.empty()) {
        text += "    " + e + "\n";
        failed = true;
      } else {
        text += "    email to " + joined(disc.record.mailto, ", ") + ": " + path + "\n";
        item["email"] = path;
      }
    }
    if (!disc.record.https.empty()) {
      std::string path = dir + base_name(name) + ".https";
      if (std::string e = write_file(path, joined(disc.record.https, "\n") + "\n"); !e.empty()) {
        text += "    " + e + "\n";
        failed = true;
      } else {
        text += "    POST (application/tlsrpt+gzip) to " + joined(disc.record.https, ", ") + ": listed in " + path + "\n";
        item["https_file"] = path;
      }
    }
    listing.push_back(item);
  }

  if (options_.json) {
    ordered_json j{{"directory", options_.tlsrpt_dir},
                   {"reports", listing},
                   {"unfinished_days", unfinished_days},
                   {"not_counted_tls_report_decisions", builder_.excluded_as_reports()},
                   {"skipped_domains", builder_.skipped_domains()}};
    return j.dump(2) + "\n";
  }
  std::string head = "mxguard audit --tlsrpt: " + std::to_string(reports.size()) + " report(s) in " +
                     options_.tlsrpt_dir + "\n";
  if (builder_.excluded_as_reports() > 0) {
    head += "  (" + std::to_string(builder_.excluded_as_reports()) +
            " MX decision(s) of transactions that carried TLS reports are not counted)\n";
  }
  for (const std::string& day : unfinished_days) head += "  " + day + " is not over yet: no report for it\n";
  for (const std::string& d : builder_.skipped_domains()) head += "  " + d + " is not an ASCII domain name: not reported\n";
  return head + text;
}

}  // namespace mxguard::app

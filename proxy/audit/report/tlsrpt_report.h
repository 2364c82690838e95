#pragma once
// RFC 8460 aggregate reports from the audit log: one report per policy domain per UTC day, built from
// the outbound `tls-policy` events (one per MX decision: a session in RFC 8460's sense).
//
// How an event counts (docs/operations.md repeats this for postmasters):
// - policy: "sts" when the decision applied the domain's MTA-STS policy (policy_source mta-sts with a
//   policy_id); then policy-string is that policy's lines (from the mta-sts-fetch event of that domain
//   and id, anywhere in the files read, else from the MTA-STS cache file) and mx-host its mx patterns.
//   "tlsa" when DANE decided (policy_source dane): policy-string is the TLSA record set the decision
//   used, mx-host the MX it belongs to (TLSA records are per MX host, RFC 8460 §4.4). Each decision has
//   one policy_source, so a domain with both DANE and MTA-STS is never counted twice.
//   Otherwise "no-policy-found". One policies[] entry per distinct policy in the day.
// - success: verdict delivered without a reason (TLS as the policy wanted). Failure: anything with a
//   reason (refused, allowed-testing, a TLS attempt that failed, plaintext at may for want of
//   STARTTLS), with that reason as result-type (a word outside RFC 8460 §4.3's list becomes
//   validation-failure), sending-mta-ip, receiving-mx-hostname and receiving-ip where known.
// - not counted: level none (the operator chose no TLS: nothing to tell the domain), the plaintext retry
//   after a failed TLS attempt (the attempt is the failure), every decision of a transaction that
//   carried a TLS report (tls-report-relayed; RFC 8460 §5.3), and domains that are not ASCII names.
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "proxy/audit/report/record.h"

namespace mxguard::audit::report {

// Who reports (RFC 8460 §4.4): organization-name, contact-info, and the submitter's domain (§5.3's
// TLS-Report-Submitter and the first part of the file name).
struct ReportIdentity {
  std::string organization;
  std::string contact;
  std::string submitter;
};

struct FailureDetail {
  std::string result_type, sending_ip, mx_host, receiving_ip;
  std::uint64_t sessions = 0;
};

struct PolicyReport {
  std::string type;                        // "sts" | "tlsa" | "no-policy-found"
  std::string policy_id;                   // sts: the TXT record's id
  std::vector<std::string> policy_lines;   // sts: empty when the text was not found (see missing_text)
  std::vector<std::string> mx_patterns;    // sts: from the policy's mx lines; tlsa: the MX host
  bool missing_text = false;
  std::uint64_t successful = 0, failed = 0;
  std::vector<FailureDetail> failures;     // most sessions first
};

struct DomainReport {
  std::string domain;   // lower-case A-label
  Day day{};
  std::vector<PolicyReport> policies;   // sts ones first, by id; then tlsa; then no-policy-found
};

// (domain, policy id) -> the policy's lines: what a report's policy-string is made of.
using PolicyTexts = std::map<std::pair<std::string, std::string>, std::vector<std::string>>;

class TlsrptBuilder {
 public:
  // Every record read; `counted`: it passes the command line's filter (only those are counted, but
  // policy texts and report transactions are learned from all of them, whenever they were written).
  void add(const Record& r, bool counted);
  // `more_texts` (the cache file) fills what the audit files did not have. Days and domains in order.
  std::vector<DomainReport> finish(const PolicyTexts& more_texts = {});

  std::uint64_t excluded_as_reports() const { return excluded_; }
  const std::set<std::string>& skipped_domains() const { return skipped_domains_; }   // not ASCII

 private:
  struct Decision {
    std::string session;
    std::int64_t transaction = 0;
    std::string domain, policy_id;
    std::string tlsa_key;                 // DANE: the MX host and its TLSA records, one line each
    Day day{};
    bool success = false;
    FailureDetail failure;
  };
  std::vector<Decision> decisions_;
  PolicyTexts texts_;
  std::set<std::pair<std::string, std::int64_t>> report_transactions_;
  std::set<std::string> skipped_domains_;
  std::uint64_t excluded_ = 0;
};

// The report's JSON, exactly RFC 8460 §4.4's members (no others), in its order.
nlohmann::ordered_json report_json(const DomainReport& report, const ReportIdentity& who);
// "2026-11-22.example.com@mx.sender.example": unique per submitter, domain and day, the same on every
// run (a rerun replaces, never duplicates), and a valid msg-id for the email's Subject and Message-ID.
std::string report_id(const DomainReport& report, const ReportIdentity& who);
// RFC 8460 §5.1: submitter!policy-domain!begin!end!unique-id.json.gz (begin and end in epoch seconds).
std::string report_file_name(const DomainReport& report, const ReportIdentity& who);

}  // namespace mxguard::audit::report

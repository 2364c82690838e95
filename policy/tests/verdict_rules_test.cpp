// Every combination of the verdict's inputs, checked against the rules as the design states them. The
// expectation is computed by the table of rules below (first matching rule wins), written from the
// design and RFC 8460, not from policy/verdict.cpp: a change of behaviour has to change both.
#include <gtest/gtest.h>

#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "policy/verdict.h"

namespace mxguard::policy {
namespace {

using Handshake = Observation::Handshake;
using Cert = Observation::CertProblem;
using Match = Observation::DaneMatch;

const TlsLevel kLevels[] = {TlsLevel::None,   TlsLevel::May,  TlsLevel::Encrypt, TlsLevel::Verify,
                            TlsLevel::MtaSts, TlsLevel::Dane, TlsLevel::DaneOnly};
const Handshake kHandshakes[] = {Handshake::NotAttempted, Handshake::Failed, Handshake::Succeeded};
const Cert kCertProblems[] = {Cert::None, Cert::Expired, Cert::NotYetValid, Cert::HostMismatch, Cert::NotTrusted, Cert::Other};
const char* const kVersions[] = {"TLSv1.3", "TLSv1.2", "TLSv1.1"};
enum class Mx { NoPatterns, Allowed, NotAllowed };
const Mx kMx[] = {Mx::NoPatterns, Mx::Allowed, Mx::NotAllowed};

// What a `dane` policy is where DANE does not apply: `may`, or the domain's MTA-STS policy.
enum class Fallback { May, StsEnforce, StsTesting };

// The DANE facts of the MX host (policy) and the check of its certificate (observation).
struct Dane {
  DaneStatus status;
  bool mx_secure;
  Match match;
  Fallback fallback;
};

// Below the DANE levels the facts must not matter: none, and a full set that would refuse if it counted.
const std::vector<Dane>& scenarios_below_dane() {
  static const std::vector<Dane> all = {{DaneStatus::NotLookedUp, false, Match::NotChecked, Fallback::May},
                                        {DaneStatus::Usable, true, Match::None, Fallback::StsEnforce}};
  return all;
}

// At the DANE levels: every status and MX security; every match for usable records and two (to show they
// are ignored) otherwise; the MTA-STS fallbacks where DANE does not cover the host.
const std::vector<Dane>& scenarios_at_dane() {
  static const std::vector<Dane> all = [] {
    std::vector<Dane> out;
    const DaneStatus statuses[] = {DaneStatus::NotLookedUp, DaneStatus::Failed,   DaneStatus::Insecure,
                                   DaneStatus::NoRecords,   DaneStatus::Unusable, DaneStatus::Usable};
    for (DaneStatus status : statuses) {
      for (bool mx_secure : {false, true}) {
        if (status == DaneStatus::Usable) {
          for (Match m : {Match::NotChecked, Match::EndEntity, Match::TrustAnchor, Match::None}) {
            out.push_back({status, mx_secure, m, Fallback::May});
          }
        } else {
          for (Match m : {Match::NotChecked, Match::EndEntity}) out.push_back({status, mx_secure, m, Fallback::May});
        }
        if (status == DaneStatus::Insecure || status == DaneStatus::NoRecords) {
          for (Fallback f : {Fallback::StsEnforce, Fallback::StsTesting}) {
            for (Match m : {Match::NotChecked, Match::EndEntity}) out.push_back({status, mx_secure, m, f});
          }
        }
      }
    }
    return out;
  }();
  return all;
}

struct Row {
  TlsLevel level;
  bool starttls;
  Handshake handshake;
  const char* version;
  bool chain;
  bool host;
  Cert cert;
  bool testing;
  Mx mx;
  bool injected;
  Dane dane;
};

// ---------------------------------------------------------------------------------------------------------
// The rules. A rule either delivers, or names a problem. What a problem does depends on the level and the
// mode: `may` goes on in plaintext (unless the MX itself is not allowed), MTA-STS testing mode delivers
// and reports, everything else is refused with 451: 4.7.4 when STARTTLS is missing, else 4.7.5.

// DANE levels have no testing mode, and a DANE policy that does not cover the MX host is judged as the
// policy it falls back to, row by row.

enum class Action {
  DeliverTls,
  Plaintext,       // level none: no STARTTLS, no problem
  TlsProblem,      // TLS is not as the level demands (may falls back to plaintext)
  MxProblem,       // not a TLS problem: no plaintext fallback, only testing mode lets it through
  Fallback,        // `dane` without DANE for this host: the fallback policy's rules decide
};

struct Rule {
  const char* name;
  std::function<bool(const Row&)> applies;
  Action action;
  ResultType reason;
};

bool webpki(TlsLevel l) { return l == TlsLevel::Verify || l == TlsLevel::MtaSts; }
bool dane(TlsLevel l) { return l == TlsLevel::Dane || l == TlsLevel::DaneOnly; }
bool dane_status(const Row& r, DaneStatus s) { return dane(r.level) && r.dane.status == s; }
bool not_covered(const Row& r) { return dane_status(r, DaneStatus::Insecure) || dane_status(r, DaneStatus::NoRecords); }
bool usable(const Row& r) { return dane_status(r, DaneStatus::Usable); }
// The chain and the name are checked: the WebPKI levels, and DANE when a trust anchor matched.
bool authenticating(const Row& r) { return webpki(r.level) || (usable(r) && r.dane.match == Match::TrustAnchor); }
bool handshake_failed(const Row& r) { return r.handshake == Handshake::Failed; }
bool succeeded_authenticating(const Row& r) { return r.handshake == Handshake::Succeeded && authenticating(r); }

const std::vector<Rule>& rules() {
  static const std::vector<Rule> table = {
      {"an MX outside mx_patterns is never used", [](const Row& r) { return r.mx == Mx::NotAllowed; },
       Action::MxProblem, ResultType::ValidationFailure},
      {"none never uses STARTTLS", [](const Row& r) { return r.level == TlsLevel::None; }, Action::Plaintext,
       ResultType::None},
      {"DANE facts nobody looked up fail closed", [](const Row& r) { return dane_status(r, DaneStatus::NotLookedUp); },
       Action::MxProblem, ResultType::DaneRequired},
      {"a failed TLSA lookup is never a fallback", [](const Row& r) { return dane_status(r, DaneStatus::Failed); },
       Action::MxProblem, ResultType::DnssecInvalid},
      {"dane-only without DNSSEC-validated TLSA records",
       [](const Row& r) { return r.level == TlsLevel::DaneOnly && not_covered(r); }, Action::MxProblem,
       ResultType::DaneRequired},
      {"dane without DANE for this host is the domain's other policy",
       [](const Row& r) { return r.level == TlsLevel::Dane && not_covered(r); }, Action::Fallback, ResultType::None},
      {"dane-only behind MX records that are not validated",
       [](const Row& r) { return r.level == TlsLevel::DaneOnly && !r.dane.mx_secure; }, Action::MxProblem,
       ResultType::DaneRequired},
      {"dane-only with no usable TLSA record",
       [](const Row& r) { return r.level == TlsLevel::DaneOnly && dane_status(r, DaneStatus::Unusable); },
       Action::MxProblem, ResultType::DaneRequired},
      {"no STARTTLS in the EHLO reply", [](const Row& r) { return !r.starttls; }, Action::TlsProblem,
       ResultType::StarttlsNotSupported},
      {"STARTTLS offered but no handshake", [](const Row& r) { return r.handshake == Handshake::NotAttempted; },
       Action::TlsProblem, ResultType::StarttlsNotSupported},
      {"response injection after STARTTLS", [](const Row& r) { return r.injected; }, Action::TlsProblem,
       ResultType::ValidationFailure},
      {"handshake aborted: no TLSA record matched",
       [](const Row& r) { return handshake_failed(r) && usable(r) && r.dane.match == Match::None; }, Action::TlsProblem,
       ResultType::TlsaInvalid},
      {"handshake aborted: expired certificate",
       [](const Row& r) { return handshake_failed(r) && authenticating(r) && r.cert == Cert::Expired; },
       Action::TlsProblem, ResultType::CertificateExpired},
      {"handshake aborted: certificate for another name",
       [](const Row& r) { return handshake_failed(r) && authenticating(r) && r.cert == Cert::HostMismatch; },
       Action::TlsProblem, ResultType::CertificateHostMismatch},
      {"handshake aborted: untrusted or not yet valid certificate",
       [](const Row& r) {
         return handshake_failed(r) && authenticating(r) && (r.cert == Cert::NotTrusted || r.cert == Cert::NotYetValid);
       },
       Action::TlsProblem, ResultType::CertificateNotTrusted},
      {"handshake failed", [](const Row& r) { return handshake_failed(r); }, Action::TlsProblem,
       ResultType::ValidationFailure},
      {"TLS older than 1.2", [](const Row& r) { return std::string(r.version) == "TLSv1.1"; }, Action::TlsProblem,
       ResultType::ValidationFailure},
      {"may, encrypt and DANE with only unusable records take any certificate",
       [](const Row& r) { return !webpki(r.level) && !usable(r); }, Action::DeliverTls, ResultType::None},
      {"a DANE-EE match ignores names and dates", [](const Row& r) { return usable(r) && r.dane.match == Match::EndEntity; },
       Action::DeliverTls, ResultType::None},
      {"DANE: no usable TLSA record matches",
       [](const Row& r) { return usable(r) && (r.dane.match == Match::None || r.dane.match == Match::NotChecked); },
       Action::TlsProblem, ResultType::TlsaInvalid},
      {"expired certificate", [](const Row& r) { return succeeded_authenticating(r) && r.cert == Cert::Expired; },
       Action::TlsProblem, ResultType::CertificateExpired},
      {"certificate problem of another kind", [](const Row& r) { return succeeded_authenticating(r) && r.cert == Cert::Other; },
       Action::TlsProblem, ResultType::ValidationFailure},
      {"untrusted or not yet valid certificate",
       [](const Row& r) { return succeeded_authenticating(r) && (r.cert == Cert::NotTrusted || r.cert == Cert::NotYetValid); },
       Action::TlsProblem, ResultType::CertificateNotTrusted},
      {"chain not trusted", [](const Row& r) { return succeeded_authenticating(r) && !r.chain; }, Action::TlsProblem,
       ResultType::CertificateNotTrusted},
      {"certificate for another name",
       [](const Row& r) { return succeeded_authenticating(r) && (!r.host || r.cert == Cert::HostMismatch); },
       Action::TlsProblem, ResultType::CertificateHostMismatch},
      {"verified", [](const Row&) { return true; }, Action::DeliverTls, ResultType::None},
  };
  return table;
}

struct Expected {
  const char* rule;
  Outcome outcome;
  ResultType reason;
  int code;
  std::string enhanced;
};

// The row as the fallback policy of a `dane` domain sees it: its level, its testing mode, its mx patterns
// (the MTA-STS ones cover the row's MX host), and no DANE facts.
Row fallback_row(const Row& r) {
  Row f = r;
  f.level = r.dane.fallback == Fallback::May ? TlsLevel::May : TlsLevel::MtaSts;
  f.testing = r.dane.fallback == Fallback::StsTesting;
  if (r.dane.fallback != Fallback::May && r.mx == Mx::NoPatterns) f.mx = Mx::Allowed;
  f.dane = scenarios_below_dane().front();
  return f;
}

Expected expected_for(const Row& r) {
  for (const Rule& rule : rules()) {
    if (!rule.applies(r)) continue;
    switch (rule.action) {
      case Action::DeliverTls: return {rule.name, Outcome::DeliverTls, ResultType::None, 0, ""};
      case Action::Plaintext: return {rule.name, Outcome::DeliverPlaintext, ResultType::None, 0, ""};
      case Action::Fallback: return expected_for(fallback_row(r));
      case Action::TlsProblem:
        if (r.level == TlsLevel::May) return {rule.name, Outcome::DeliverPlaintext, rule.reason, 0, ""};
        [[fallthrough]];
      case Action::MxProblem: {
        std::string enhanced = rule.reason == ResultType::StarttlsNotSupported ? "4.7.4" : "4.7.5";
        bool testing = r.testing && !dane(r.level);
        return {rule.name, testing ? Outcome::AllowedTesting : Outcome::Refuse, rule.reason, 451, enhanced};
      }
    }
  }
  ADD_FAILURE() << "no rule applies";
  return {};
}

// ---------------------------------------------------------------------------------------------------------

EffectivePolicy policy_of(const Row& r) {
  EffectivePolicy p;
  p.domain = "example.org";
  p.level = r.level;
  p.source = r.testing ? PolicySource::MtaSts : PolicySource::Config;
  p.testing = r.testing;
  if (r.mx != Mx::NoPatterns) p.mx_patterns = {"mx.backup.example", "*.example.org"};
  p.dane.status = r.dane.status;
  p.dane.mx_secure = r.dane.mx_secure;
  if (r.dane.fallback != Fallback::May) {
    p.without_dane = NonDanePolicy{TlsLevel::MtaSts, PolicySource::MtaSts, {"*.example.org"},
                                   r.dane.fallback == Fallback::StsTesting};
  }
  return p;
}

Observation observation_of(const Row& r) {
  Observation o;
  o.mx_host = r.mx == Mx::NotAllowed ? "mx.elsewhere.example" : "mx1.example.org";
  o.starttls_offered = r.starttls;
  o.handshake = r.handshake;
  o.tls_version = r.handshake == Handshake::Succeeded ? r.version : "";
  o.chain_trusted = r.chain;
  o.host_matches = r.host;
  o.cert_problem = r.cert;
  o.injected_after_starttls = r.injected;
  o.dane_match = r.dane.match;
  return o;
}

std::string describe(const Row& r) {
  std::ostringstream out;
  out << "level=" << to_string(r.level) << " starttls=" << r.starttls << " handshake=" << static_cast<int>(r.handshake)
      << " version=" << r.version << " chain=" << r.chain << " host=" << r.host
      << " cert=" << static_cast<int>(r.cert) << " testing=" << r.testing << " mx=" << static_cast<int>(r.mx)
      << " injected=" << r.injected << " dane=" << to_string(r.dane.status) << " mx_secure=" << r.dane.mx_secure
      << " match=" << static_cast<int>(r.dane.match) << " fallback=" << static_cast<int>(r.dane.fallback);
  return out.str();
}

template <class Fn>
void for_every_row(Fn fn) {
  for (TlsLevel level : kLevels)
    for (bool starttls : {false, true})
      for (Handshake handshake : kHandshakes)
        for (const char* version : kVersions)
          for (bool chain : {false, true})
            for (bool host : {false, true})
              for (Cert cert : kCertProblems)
                for (bool testing : {false, true})
                  for (Mx mx : kMx)
                    for (bool injected : {false, true})
                      for (const Dane& d : dane(level) ? scenarios_at_dane() : scenarios_below_dane())
                        fn(Row{level, starttls, handshake, version, chain, host, cert, testing, mx, injected, d});
}

TEST(VerdictRules, EveryCombinationFollowsTheRules) {
  int rows = 0;
  int failures = 0;
  for_every_row([&](const Row& r) {
    ++rows;
    Verdict v = decide(policy_of(r), observation_of(r));
    Expected e = expected_for(r);
    bool ok = v.outcome == e.outcome && v.reason == e.reason && v.smtp_code == e.code && v.enhanced == e.enhanced;
    if (!ok && ++failures <= 20) {
      ADD_FAILURE() << describe(r) << "\n  rule \"" << e.rule << "\" expects " << to_string(e.outcome) << " "
                    << to_string(e.reason) << " " << e.code << " " << e.enhanced << "\n  got " << to_string(v.outcome)
                    << " " << to_string(v.reason) << " " << v.smtp_code << " " << v.enhanced << " (" << v.detail << ")";
    }
  });
  EXPECT_EQ(failures, 0) << "of " << rows << " combinations";
  const int per_level = 2 * 3 * 3 * 2 * 2 * 6 * 2 * 3 * 2;
  EXPECT_EQ(rows, per_level * (5 * static_cast<int>(scenarios_below_dane().size()) +
                               2 * static_cast<int>(scenarios_at_dane().size())));
}

TEST(VerdictRules, EveryRuleDecidesSomeCombination) {
  std::vector<int> used(rules().size(), 0);
  for_every_row([&](const Row& r) {
    for (std::size_t i = 0; i < rules().size(); ++i) {
      if (rules()[i].applies(r)) {
        ++used[i];
        break;
      }
    }
  });
  for (std::size_t i = 0; i < rules().size(); ++i) EXPECT_GT(used[i], 0) << "rule never decides: " << rules()[i].name;
}

TEST(VerdictRules, EveryVerdictThatIsNotAPlainSuccessSaysWhy) {
  for_every_row([&](const Row& r) {
    Verdict v = decide(policy_of(r), observation_of(r));
    if (v.outcome != Outcome::DeliverTls) {
      EXPECT_FALSE(v.detail.empty()) << describe(r);
    }
    if (v.outcome == Outcome::Refuse || v.outcome == Outcome::AllowedTesting) {
      EXPECT_NE(v.reason, ResultType::None) << describe(r);
    }
    // Never a permanent failure: only the remote server may make a message bounce.
    EXPECT_TRUE(v.smtp_code == 0 || (v.smtp_code >= 400 && v.smtp_code < 500)) << describe(r);
  });
}

}  // namespace
}  // namespace mxguard::policy

#pragma once
// Scripted remotes for the MxDialogue tests: the replies a typical MX sends, TLS facts as a tls::Engine
// would report them, and a recorder of every action the dialogue asked for.
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "policy/tls_level.h"
#include "policy/verdict.h"
#include "proxy/outbound/mx_dialogue.h"

namespace mxguard::outbound {

// Failure messages show actions and states as words, not bytes.
inline void PrintTo(const DialogueAction& a, std::ostream* os) {
  *os << "{write \"";
  for (char c : a.write) {
    if (c == '\r') *os << "\\r";
    else if (c == '\n') *os << "\\n";
    else *os << c;
  }
  *os << "\"" << (a.start_tls ? (a.verify_certificate ? ", start_tls verify" : ", start_tls") : "")
      << (a.close ? ", close" : "") << "}";
}
inline void PrintTo(DialogueState s, std::ostream* os) { *os << to_string(s); }

}  // namespace mxguard::outbound

namespace mxguard::outbound::testing {

inline constexpr std::string_view kMx = "mx1.example.org";
inline constexpr std::string_view kHelo = "relay.mxguard.test";
inline constexpr std::string_view kGreeting = "220 mx1.example.org ESMTP Postfix\r\n";
inline constexpr std::string_view kEhloWithStarttls =
    "250-mx1.example.org\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n"
    "250 8BITMIME\r\n";
inline constexpr std::string_view kEhloWithoutStarttls =
    "250-mx1.example.org\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250 8BITMIME\r\n";
inline constexpr std::string_view kStarttlsGo = "220 2.0.0 Ready to start TLS\r\n";
inline constexpr std::string_view kStarttls454 = "454 4.7.0 TLS not available due to local problem\r\n";
// What a server says after TLS: more than before (SMTPUTF8, CHUNKING), no STARTTLS.
inline constexpr std::string_view kEhloAfterTls =
    "250-mx1.example.org\r\n250-PIPELINING\r\n250-SIZE 20480000\r\n250-CHUNKING\r\n250-SMTPUTF8\r\n"
    "250-ENHANCEDSTATUSCODES\r\n250 8BITMIME\r\n";

inline constexpr std::string_view kEhloCommand = "EHLO relay.mxguard.test\r\n";
inline constexpr std::string_view kHeloCommand = "HELO relay.mxguard.test\r\n";
inline constexpr std::string_view kStarttlsCommand = "STARTTLS\r\n";
inline constexpr std::string_view kQuitCommand = "QUIT\r\n";

inline policy::EffectivePolicy make_policy(policy::TlsLevel level, bool testing = false) {
  policy::EffectivePolicy p;
  p.domain = "example.org";
  p.level = level;
  p.source = policy::PolicySource::Config;
  p.testing = testing;
  if (level == policy::TlsLevel::MtaSts) {
    p.source = policy::PolicySource::MtaSts;
    p.mx_patterns = {"*.example.org"};
  }
  return p;
}

// A handshake that went right: TLS 1.3 and a certificate for the MX from a trusted chain.
inline TlsFacts good_tls(bool required = true) {
  TlsFacts f;
  f.version = "TLSv1.3";
  f.cipher = "TLS_AES_256_GCM_SHA384";
  f.verification.performed = true;
  f.verification.required = required;
  f.verification.expected_host = std::string(kMx);
  f.verification.subject_cn = std::string(kMx);
  f.verification.dns_names = {std::string(kMx)};
  return f;
}

inline void add_problem(tls::CertVerification& v, tls::CertProblem problem, int x509_error, std::string text) {
  if (v.problem == tls::CertProblem::None) {
    v.problem = problem;
    v.x509_error = x509_error;
    v.x509_text = std::move(text);
    v.error_depth = 0;
  }
  v.problems |= 1u << static_cast<unsigned>(problem);
}

// The certificate check found `problem`. A handshake that completed (verification recorded only) or
// the facts of a failed one: when `failed`, the kind is CertificateVerify and no version is known.
inline TlsFacts cert_problem_tls(tls::CertProblem problem, bool failed) {
  TlsFacts f = good_tls(failed);
  switch (problem) {
    case tls::CertProblem::Expired: add_problem(f.verification, problem, 10, "certificate has expired"); break;
    case tls::CertProblem::NotYetValid: add_problem(f.verification, problem, 9, "certificate is not yet valid"); break;
    case tls::CertProblem::HostMismatch: add_problem(f.verification, problem, 62, "Hostname mismatch"); break;
    case tls::CertProblem::NotTrusted:
      add_problem(f.verification, problem, 18, "self signed certificate");
      break;
    case tls::CertProblem::Other: add_problem(f.verification, problem, 7, "certificate signature failure"); break;
    case tls::CertProblem::None: break;
  }
  if (failed) {
    f.version.clear();
    f.cipher.clear();
    f.failure = tls::FailureKind::CertificateVerify;
    f.failure_reason = "handshake: certificate verification failed: " + f.verification.describe();
  }
  return f;
}

inline TlsFacts failed_tls(tls::FailureKind kind, std::string reason = "handshake: failed") {
  TlsFacts f;
  f.failure = kind;
  f.failure_reason = std::move(reason);
  return f;
}

// Every action a dialogue returned, and what they add up to.
struct Recorder {
  std::vector<DialogueAction> actions;
  std::string written;           // every `write`, in order
  int start_tls = 0;
  bool verify_certificate = false;
  bool closed = false;

  const DialogueAction& add(DialogueAction a) {
    written += a.write;
    if (a.start_tls) {
      ++start_tls;
      verify_certificate = a.verify_certificate;
    }
    closed = closed || a.close;
    actions.push_back(std::move(a));
    return actions.back();
  }
};

// Feeds `bytes` one at a time; the actions are recorded one per byte.
inline void feed_bytewise(MxDialogue& d, Recorder& r, std::string_view bytes) {
  for (char c : bytes) r.add(d.on_bytes(std::string_view(&c, 1)));
}

inline DialogueAction send(std::string_view write) {
  DialogueAction a;
  a.write = std::string(write);
  return a;
}

inline DialogueAction close_with(std::string_view write) {
  DialogueAction a = send(write);
  a.close = true;
  return a;
}

inline DialogueAction start_tls(bool verify) {
  DialogueAction a;
  a.start_tls = true;
  a.verify_certificate = verify;
  return a;
}

}  // namespace mxguard::outbound::testing

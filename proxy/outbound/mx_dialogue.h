#pragma once
// The SMTP client side toward ONE remote MX connection, from its greeting to the point where mail may be
// sent (design.md, "Outbound" step 2), as a pure state machine: what the remote says goes in, what to do
// next comes out, and whether the domain's policy lets this connection carry the mail. No I/O, no clock,
// no libuv: the outbound session drives it over a net::Connection, the tests and the fuzzer drive it
// alone.
//
//   Greeting --220--> Ehlo --250--> [level none, or a plaintext retry] ---------------------> Ready (plaintext)
//                       | 5xx         [STARTTLS not offered] -- decide --> Ready (plaintext) | Refused
//                       v             [STARTTLS offered] --> StarttlsReply
//                     Helo --250--> (no extensions: STARTTLS not offered, as above)
//   StarttlsReply --220 alone--> Handshake --on_tls_ready-- decide --> EhloAfterTls --250--> Ready (TLS)
//                 --other reply-- decide --> Refused | Ready (plaintext)
//                 --220 + more bytes (response injection), close, timeout-- decide --> Refused | retry
//   Handshake --on_tls_failed / close / timeout-- decide --> Refused | retry
//   anything unexpected from the remote (4xx/5xx greeting, bad reply, a close) --> Failed
//
// Refused: the policy does not let this MX carry the mail (a 4.7.x for the client if no MX is left).
// Failed: this MX did not work for reasons of its own (not a policy verdict): try the next one.
// A plaintext retry (Failed with wants_plaintext_retry(): level may, or a testing policy): the TLS
// attempt killed the connection but the policy allows plaintext; reconnect to the same address and run
// a new dialogue with plaintext_retry = true, which never sends STARTTLS (Postfix's smtp client does the
// same: RETRY_AS_PLAINTEXT in smtp_proto.c).
//
// The driver's part: read the state after every call; time every step (on_timeout); if
// Connection::start_tls returns false, call on_tls_failed with failure Local; close with
// close_after_flush (the QUIT, or the alert of a failed handshake, still leaves); after Ready, fail the
// MX if leftover() is not empty, and relay only with the capabilities() of the last EHLO.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "policy/verdict.h"
#include "proxy/smtp/reply_parser.h"
#include "proxy/tls/tls_engine.h"
#include "proxy/tls/verification.h"

namespace mxguard::outbound {

// What the driver must do after an event, in this order: write `write`, then start TLS if `start_tls`,
// then close if `close` (after the written bytes have left: Connection::close_after_flush).
struct DialogueAction {
  std::string write;               // bytes to send (plaintext; the driver's Connection encrypts once TLS is on)
  bool start_tls = false;          // Connection::start_tls(client_ctx->new_ssl(mx_host, mx_host, verify_certificate)),
                                   // or with `dane` client_ctx->new_dane_ssl(mx_host, the policy's TLSA records)
  bool verify_certificate = false; // for start_tls: a certificate problem fails the handshake
                                   // (policy::certificate_check is WebPki or Dane)
  bool dane = false;               // for start_tls: check the certificate against the policy's TLSA records
                                   // (RFC 7672 §3) instead of the WebPKI
  bool close = false;              // drop the connection (after sending `write`, e.g. QUIT)

  bool empty() const { return write.empty() && !start_tls && !close; }
  bool operator==(const DialogueAction&) const = default;
};

enum class DialogueState { Greeting, Ehlo, Helo, StarttlsReply, Handshake, EhloAfterTls, Ready, Refused, Failed };

// What became of TLS on one connection, whatever the verdict made of it (the metrics count these).
enum class TlsAttempt {
  None,          // STARTTLS never sent: not offered, level none, a plaintext retry
  Sent,          // STARTTLS sent, no answer (yet)
  Declined,      // the remote answered STARTTLS with other than 220: no handshake
  Failed,        // no TLS session: the handshake failed, bytes were injected after the 220, or the
                 // connection was lost around STARTTLS
  Established,   // the handshake completed (the verdict may still refuse what it showed)
};
std::string_view to_string(DialogueState state);   // "greeting", "ehlo", ..., "ready", "refused", "failed"

// What the TLS layer said about the handshake, in the terms of tls::Engine. The driver fills it with
// tls_facts(*connection.tls()); tests and the fuzzer fill it by hand. The dialogue maps it to a
// policy::Observation (policy/ knows nothing of proxy/).
struct TlsFacts {
  std::string version;                    // Engine::info().version: "TLSv1.3", "TLSv1.2", "TLSv1.1", ...
  std::string cipher;                     // Engine::info().cipher, for the audit log
  tls::CertVerification verification;     // Engine::verification(): what the check of the certificate found
  tls::FailureKind failure = tls::FailureKind::None;   // on_tls_failed: Engine::failure().kind
  std::string failure_reason;             // Engine::failure().reason, for the log
};

// The facts of an engine whose handshake finished or failed.
TlsFacts tls_facts(const tls::Engine& engine);

// What the DANE check of a connection to `mx_host` expects under the host's policy (DialogueAction::dane):
// the policy's usable TLSA records and, as the names a DANE-TA chain may carry (RFC 7672 §3.2.2), the MX
// host and, when the MX records were validated (or the host is a static route), the recipient domain.
tls::DaneExpectation dane_expectation(const policy::EffectivePolicy& host_policy, const std::string& mx_host);

// What the remote offered in its last EHLO reply (RFC 5321 §4.1.1.1; keywords are case-insensitive).
// After TLS this is the second EHLO's only: nothing learned in plaintext survives (RFC 3207 §4.2).
struct Capabilities {
  bool esmtp = false;                 // the remote took EHLO (false after a fallback to HELO: no extensions)
  bool pipelining = false;            // RFC 2920
  bool size = false;                  // RFC 1870 SIZE was offered ...
  std::uint64_t max_size = 0;         // ... with this limit (0: none announced, or unreadable)
  bool eightbitmime = false;          // RFC 6152
  bool smtputf8 = false;              // RFC 6531
  bool chunking = false;              // RFC 3030
  bool starttls = false;              // RFC 3207
  bool enhanced_status_codes = false; // RFC 2034
  bool dsn = false;                   // RFC 3461: whether NOTIFY= / ORCPT= / RET= / ENVID= may be relayed

  bool operator==(const Capabilities&) const = default;
};

// Bounds on what the remote may send ([outbound.limits] max_reply_line; the reply parser's line count).
struct DialogueLimits {
  std::size_t max_reply_line = 4096;   // bytes of one reply line including CRLF; longer: the MX fails
  std::size_t max_reply_lines = 100;   // lines of one multi-line reply; more: the MX fails
};

class MxDialogue {
 public:
  // `policy`: the effective policy of this MX host (policy::policy_for_host at the DANE levels; held as
  // policy::applicable_policy of it). `mx_host`: the name connected to (an MX name, a
  // route's host or the transparent destination), used for the policy's mx patterns and the certificate.
  // `helo_name`: our EHLO/HELO argument ([server] hostname); a name with spaces or control bytes is never
  // sent (the dialogue fails at the greeting). `plaintext_retry`: this connection is the retry after a
  // TLS attempt on the same address failed (wants_plaintext_retry); STARTTLS is never sent on it.
  MxDialogue(policy::EffectivePolicy policy, std::string mx_host, std::string helo_name, bool plaintext_retry = false,
             DialogueLimits limits = {});

  // Bytes from the remote (plaintext, or decrypted once TLS is on). While the handshake runs, the
  // driver's Connection feeds received bytes to TLS, not here; bytes that reach this in the Handshake
  // state are treated as plaintext injected before TLS.
  DialogueAction on_bytes(std::string_view bytes);
  // Connection::on_tls_ready: the handshake finished.
  DialogueAction on_tls_ready(const TlsFacts& facts);
  // Connection::on_tls_failed, and also when Connection::start_tls returned false (failure Local).
  DialogueAction on_tls_failed(const TlsFacts& facts);
  // The remote closed or reset the connection (Connection::on_eof / on_error). During the handshake
  // this is a TLS failure (servers that cannot speak our TLS versions often just hang up).
  DialogueAction on_closed();
  // The driver's timer for the current step expired (greeting_timeout in Greeting, tls_handshake_timeout
  // in Handshake, reply_timeout otherwise); the driver closes the connection. Judged like a close, with
  // its own text.
  DialogueAction on_timeout();

  DialogueState state() const { return state_; }
  // Ready, Refused and Failed are final: later events return empty actions and change nothing (bytes
  // after Ready are kept in leftover()).
  bool finished() const;
  // What this connection showed so far; verdict() is policy::decide over exactly this.
  const policy::Observation& observation() const { return observation_; }
  // Set once decided: Ready (over TLS or plaintext, perhaps allowed-testing), Refused, a plaintext retry.
  // It is the TLS decision about this MX; it stays set if the MX fails later for reasons of its own (an
  // EHLO after TLS refused), so state() alone says whether the connection can be used.
  const std::optional<policy::Verdict>& verdict() const { return verdict_; }
  // The connection runs TLS (on_tls_ready came in the Handshake step). With Ready: the mail goes over TLS.
  bool tls_active() const { return tls_active_; }
  // The TLS facts of the handshake, once there was one (version and cipher for the audit log).
  const std::optional<TlsFacts>& tls() const { return tls_; }
  // From the last EHLO reply (empty after HELO).
  const Capabilities& capabilities() const { return capabilities_; }
  // Level may (or a testing policy): the TLS attempt failed after STARTTLS and the connection is gone;
  // reconnect to this address with plaintext_retry = true. Only ever with state() Failed.
  bool wants_plaintext_retry() const { return wants_plaintext_retry_; }
  // What became of TLS here, and whether the handshake itself began (the 220 came, start_tls asked).
  TlsAttempt tls_attempt() const { return tls_attempt_; }
  bool handshake_started() const { return handshake_started_; }
  bool plaintext_retry() const { return plaintext_retry_; }
  // One printable line for the log and the 451 text: what went wrong with this MX ("" when nothing did).
  // Refused, a plaintext retry, and a delivery the policy allows despite a problem: policy::reply_text of
  // the verdict plus what its detail leaves out (the STARTTLS reply, the kind of TLS failure). Failed:
  // the MX, the step, and its reply.
  std::string failure_text() const;
  // The last reply the remote sent (the one a Failed state ended on, for the log).
  const std::optional<smtp::Reply>& last_reply() const { return last_reply_; }
  // Bytes received after the reply that made the dialogue Ready. They answer nothing we sent: non-empty
  // means the remote pipelined junk, and the driver must fail the MX rather than read them as replies.
  const std::string& leftover() const { return leftover_; }

  const policy::EffectivePolicy& policy() const { return policy_; }
  const std::string& mx_host() const { return mx_host_; }

 private:
  enum class Cause { None, Greeting, Reply, Malformed, Unsolicited, Closed, Timeout, BadHeloName, Driver, AfterTls };

  DialogueAction handle_reply(const smtp::Reply& reply, std::size_t extra_bytes);
  DialogueAction on_greeting(const smtp::Reply& reply);
  DialogueAction on_ehlo(const smtp::Reply& reply);
  DialogueAction on_helo(const smtp::Reply& reply);
  DialogueAction on_starttls_reply(const smtp::Reply& reply, std::size_t extra_bytes);
  DialogueAction on_ehlo_after_tls(const smtp::Reply& reply);
  // After the plaintext EHLO/HELO: STARTTLS, or decide without it.
  DialogueAction after_hello();
  // Decides over the observation so far; `connection_usable`: QUIT can still be sent in the clear or over
  // TLS. Handles Refuse; returns nullopt when the outcome lets the connection go on.
  std::optional<DialogueAction> decide_or_refuse(bool connection_usable);
  // The TLS attempt is over without a usable TLS session (handshake failed, injection, a close).
  DialogueAction tls_attempt_failed(bool connection_usable);
  DialogueAction connection_lost(bool timed_out);
  DialogueAction fail(Cause cause, std::string what, bool send_quit);
  DialogueAction ready();
  void record_tls(const TlsFacts& facts, policy::Observation::Handshake handshake);

  policy::EffectivePolicy policy_;
  std::string mx_host_;
  std::string helo_name_;
  bool plaintext_retry_;
  DialogueLimits limits_;

  DialogueState state_ = DialogueState::Greeting;
  std::string in_;            // received bytes not yet part of a complete reply
  std::size_t tail_ = 0;      // bytes of in_ after its last LF (the line still being received)
  std::string leftover_;
  policy::Observation observation_;
  std::optional<policy::Verdict> verdict_;
  std::optional<TlsFacts> tls_;
  std::optional<smtp::Reply> last_reply_;
  Capabilities capabilities_;
  bool tls_active_ = false;
  bool wants_plaintext_retry_ = false;
  TlsAttempt tls_attempt_ = TlsAttempt::None;
  bool handshake_started_ = false;
  Cause cause_ = Cause::None;
  std::string failure_;       // Failed for a reason of the MX's own: what happened, naming the MX
  std::string specifics_;     // what the verdict's detail does not say: the STARTTLS reply, the TLS failure
};

}  // namespace mxguard::outbound

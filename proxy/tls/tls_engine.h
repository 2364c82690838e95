#pragma once
// One TLS session over memory BIOs: bytes in and out are the caller's business, so the same engine serves
// a libuv socket, a test harness or a fuzzer. No I/O happens here. The role (server or client) is the
// SSL's own: SSL_set_accept_state / SSL_set_connect_state before it is handed over.
#include <openssl/ssl.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "proxy/tls/verification.h"

namespace mxguard::tls {

enum class Progress {
  Ok,         // handshake finished (or data moved); nothing is wrong
  WantMore,   // needs more ciphertext from the peer
  Failed,     // fatal: see failure(); send pending ciphertext (the alert), then close
  Closed,     // the peer sent close_notify (after the handshake; during it, that is a failure)
};

// Why a TLS session failed, as a kind the audit log and metrics can count. The reason text is for people.
enum class FailureKind {
  None,
  Protocol,            // the handshake broke down: malformed or unexpected messages, no cipher/group/ALPN in common
  PeerAlert,           // the peer ended it with a fatal alert (Failure::alert)
  CertificateVerify,   // a required check of the peer's certificate failed (Failure::cert says why)
  VersionTooLow,       // no protocol version in common: the peer speaks only what we refuse (below TLS 1.2)
  Record,              // after the handshake: a record that does not decrypt or parse
  UnexpectedEof,       // the peer closed TLS inside the handshake
  Local,               // our own side: memory, an unusable SSL
};

// "protocol error", "peer alert", "certificate verification failed", "protocol version too low", ...
std::string_view to_string(FailureKind kind);
// Which kind a BoringSSL error (ERR_peek_last_error) is; 0 means the stream ended without one.
FailureKind classify_failure(uint32_t packed_error, bool handshake_done);

struct Failure {
  FailureKind kind = FailureKind::None;
  std::string reason;       // "handshake: NO_SHARED_CIPHER", "handshake: certificate has expired (depth 0)"
  int alert = -1;           // PeerAlert / VersionTooLow by alert: the alert description (SSL_AD_*)
  CertVerification cert;    // what the certificate check had found by then (client role; empty otherwise)
  bool failed() const { return kind != FailureKind::None; }
};

struct SessionInfo {
  std::string version;   // "TLSv1.3"
  std::string cipher;    // IANA name, "TLS_AES_256_GCM_SHA384"
  std::string sni;       // server name the client asked for, may be empty
  std::string alpn;      // negotiated protocol, may be empty
};

class Engine {
 public:
  // Takes ownership of `ssl`; the engine wires it to two memory BIOs.
  explicit Engine(bssl::UniquePtr<SSL> ssl);
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  bool is_client() const;

  // Ciphertext received from the peer.
  void feed(std::string_view ciphertext);
  // Drives the handshake; call after feed() until it says Ok. A client's first call produces the
  // ClientHello without any input.
  Progress handshake();
  bool handshake_done() const { return handshake_done_; }
  // Appends decrypted application data to `out`, at most `max` bytes.
  Progress read(std::string& out, std::size_t max);
  // Encrypts application data; the ciphertext becomes available through take_output().
  Progress write(std::string_view plaintext);
  // Puts records the library holds back for the next application data (a server's session tickets) into
  // the output now.
  void flush_pending_records();
  // Ciphertext to send to the peer (handshake records, application data, alerts); empties the buffer.
  std::string take_output();
  // The same, appended to `out` (whose capacity a caller may want to reuse).
  void append_output(std::string& out);
  bool has_output() const;

  SessionInfo info() const;
  // The first failure (later ones are consequences of it).
  const Failure& failure() const;
  const std::string& failure_reason() const { return failure().reason; }
  // What the check of the peer's certificate found so far; `performed` is false for a server-side SSL
  // and before the peer's certificate arrived.
  const CertVerification& verification() const;

 private:
  Progress fail(int ssl_ret, const char* what);
  void record_failure(int ssl_error, uint32_t code, const char* what);
  // Replace an emptied memory BIO that grew large by a fresh one (see kKeptBioCapacity).
  void shed_spent_input();
  void shed_spent_output();
  bssl::UniquePtr<SSL> ssl_;
  BIO* in_ = nullptr;    // owned by ssl_
  BIO* out_ = nullptr;   // owned by ssl_
  bool handshake_done_ = false;
  std::unique_ptr<Failure> failure_;   // set once, at the first failure: most sessions never need one
};

}  // namespace mxguard::tls

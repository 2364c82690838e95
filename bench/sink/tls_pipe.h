#pragma once
// The sink's server side of STARTTLS: BoringSSL over memory BIOs, bytes in and bytes out, no I/O of its
// own (the connection writes what take_output() returns). The sink plays the remote MX of the outbound
// benchmark, so it offers what a well-run MX does (TLS 1.2 and 1.3, an ECDSA certificate, session
// tickets) and no session cache; the relays under test never offer a session, so every handshake is a
// full one.
#include <openssl/ssl.h>

#include <string>
#include <string_view>

namespace mxguard::bench {

// The server context: `chain` (leaf first, then intermediates, PEM) and its `key`. nullptr and `error`
// set when they cannot be loaded.
bssl::UniquePtr<SSL_CTX> server_context(const std::string& chain, const std::string& key, std::string& error);

class TlsPipe {
 public:
  explicit TlsPipe(SSL_CTX* ctx);
  TlsPipe(const TlsPipe&) = delete;
  TlsPipe& operator=(const TlsPipe&) = delete;

  bool ok() const { return ssl_ != nullptr; }
  bool handshake_done() const { return handshake_done_; }
  // Takes ciphertext from the client; appends what it decrypts to `plaintext`. False on a fatal error or
  // the client's close_notify (why() says which); bytes decrypted before it are still appended.
  bool feed(std::string_view ciphertext, std::string& plaintext);
  // Encrypts `plaintext` into the output. False on a fatal error.
  bool write(std::string_view plaintext);
  // Ciphertext waiting to be sent (handshake records, encrypted replies); empties the output.
  std::string take_output();
  const std::string& why() const { return why_; }
  // "TLSv1.3 TLS_AES_128_GCM_SHA256 X25519" once the handshake is done, "... resumed" for a resumption.
  std::string describe() const;

 private:
  bool failed(int ret, const char* what);

  bssl::UniquePtr<SSL> ssl_;
  BIO* rbio_ = nullptr;   // owned by ssl_
  BIO* wbio_ = nullptr;   // owned by ssl_
  bool handshake_done_ = false;
  std::string why_;
};

}  // namespace mxguard::bench

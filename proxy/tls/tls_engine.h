#pragma once
// One TLS session over memory BIOs: bytes in and out are the caller's business, so the same engine serves
// a libuv socket, a test harness or a fuzzer. No I/O happens here.
#include <openssl/ssl.h>

#include <cstddef>
#include <string>
#include <string_view>

namespace mxguard::tls {

enum class Progress {
  Ok,         // handshake finished (or data moved); nothing is wrong
  WantMore,   // needs more ciphertext from the peer
  Failed,     // fatal: see failure_reason(); send pending ciphertext (the alert), then close
  Closed,     // the peer sent close_notify
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

  // Ciphertext received from the peer.
  void feed(std::string_view ciphertext);
  // Drives the handshake; call after feed() until it says Ok.
  Progress handshake();
  bool handshake_done() const { return handshake_done_; }
  // Appends decrypted application data to `out`, at most `max` bytes.
  Progress read(std::string& out, std::size_t max);
  // Encrypts application data; the ciphertext becomes available through take_output().
  Progress write(std::string_view plaintext);
  // Ciphertext to send to the peer (handshake records, application data, alerts); empties the buffer.
  std::string take_output();
  bool has_output() const;

  SessionInfo info() const;
  const std::string& failure_reason() const { return failure_; }

 private:
  Progress fail(int ssl_ret, const char* what);
  bssl::UniquePtr<SSL> ssl_;
  BIO* in_ = nullptr;    // owned by ssl_
  BIO* out_ = nullptr;   // owned by ssl_
  bool handshake_done_ = false;
  std::string failure_;
};

}  // namespace mxguard::tls

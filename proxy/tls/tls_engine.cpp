#include "proxy/tls/tls_engine.h"

#include <openssl/err.h>

#ifndef OPENSSL_IS_BORINGSSL
#error "mxguard must be built against BoringSSL (android-libboringssl-dev), not OpenSSL"
#endif

namespace mxguard::tls {

Engine::Engine(bssl::UniquePtr<SSL> ssl) : ssl_(std::move(ssl)) {
  in_ = BIO_new(BIO_s_mem());
  out_ = BIO_new(BIO_s_mem());
  // An empty memory BIO must report "retry", not EOF, so SSL_* return WANT_READ while waiting for bytes.
  BIO_set_mem_eof_return(in_, -1);
  BIO_set_mem_eof_return(out_, -1);
  SSL_set_bio(ssl_.get(), in_, out_);
}

void Engine::feed(std::string_view ciphertext) {
  if (!ciphertext.empty()) BIO_write(in_, ciphertext.data(), static_cast<int>(ciphertext.size()));
}

Progress Engine::fail(int ssl_ret, const char* what) {
  int err = SSL_get_error(ssl_.get(), ssl_ret);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return Progress::WantMore;
  if (err == SSL_ERROR_ZERO_RETURN) return Progress::Closed;
  uint32_t code = ERR_peek_last_error();
  if (failure_.empty()) {
    if (code != 0) {
      const char* reason = ERR_reason_error_string(code);
      failure_ = std::string(what) + ": " + (reason ? reason : "unknown error");
    } else {
      failure_ = std::string(what) + ": " + (err == SSL_ERROR_SYSCALL ? "unexpected end of stream" : "failed");
    }
  }
  ERR_clear_error();
  return Progress::Failed;
}

Progress Engine::handshake() {
  if (handshake_done_) return Progress::Ok;
  int ret = SSL_do_handshake(ssl_.get());
  if (ret == 1) {
    handshake_done_ = true;
    return Progress::Ok;
  }
  return fail(ret, "handshake");
}

Progress Engine::read(std::string& out, std::size_t max) {
  char buf[16384];
  std::size_t total = 0;
  while (total < max) {
    int want = static_cast<int>(std::min(sizeof buf, max - total));
    int ret = SSL_read(ssl_.get(), buf, want);
    if (ret <= 0) {
      Progress p = fail(ret, "read");
      return (p == Progress::WantMore) ? Progress::Ok : p;
    }
    out.append(buf, static_cast<std::size_t>(ret));
    total += static_cast<std::size_t>(ret);
  }
  return Progress::Ok;
}

Progress Engine::write(std::string_view plaintext) {
  while (!plaintext.empty()) {
    int ret = SSL_write(ssl_.get(), plaintext.data(), static_cast<int>(std::min<std::size_t>(plaintext.size(), 1 << 30)));
    if (ret <= 0) return fail(ret, "write");
    plaintext.remove_prefix(static_cast<std::size_t>(ret));
  }
  return Progress::Ok;
}

bool Engine::has_output() const { return BIO_pending(out_) > 0; }

std::string Engine::take_output() {
  std::string out;
  std::size_t pending = BIO_pending(out_);
  if (pending == 0) return out;
  out.resize(pending);
  int n = BIO_read(out_, out.data(), static_cast<int>(pending));
  out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return out;
}

SessionInfo Engine::info() const {
  SessionInfo info;
  if (const char* v = SSL_get_version(ssl_.get())) info.version = v;
  if (const SSL_CIPHER* c = SSL_get_current_cipher(ssl_.get())) {
    if (const char* name = SSL_CIPHER_standard_name(c)) info.cipher = name;
  }
  if (const char* sni = SSL_get_servername(ssl_.get(), TLSEXT_NAMETYPE_host_name)) info.sni = sni;
  const uint8_t* alpn = nullptr;
  unsigned alpn_len = 0;
  SSL_get0_alpn_selected(ssl_.get(), &alpn, &alpn_len);
  if (alpn) info.alpn.assign(reinterpret_cast<const char*>(alpn), alpn_len);
  return info;
}

}  // namespace mxguard::tls

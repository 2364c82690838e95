#include "bench/sink/tls_pipe.h"

#include <openssl/err.h>

#ifndef OPENSSL_IS_BORINGSSL
#error "the sink must be built against BoringSSL (android-libboringssl-dev), not OpenSSL"
#endif

namespace mxguard::bench {
namespace {

std::string last_error() {
  uint32_t code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown error";
  const char* reason = ERR_reason_error_string(code);
  return reason ? reason : "error " + std::to_string(code);
}

char plain_buffer[16 * 1024];   // one loop thread: each read is consumed before the next one

}  // namespace

bssl::UniquePtr<SSL_CTX> server_context(const std::string& chain, const std::string& key, std::string& error) {
  bssl::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_method()));
  if (!ctx || SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION) != 1) {
    error = "cannot create a TLS context: " + last_error();
    return nullptr;
  }
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), chain.c_str()) != 1) {
    error = "cannot load the certificate chain " + chain + ": " + last_error();
    return nullptr;
  }
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), key.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx.get()) != 1) {
    error = "cannot load the key " + key + ": " + last_error();
    return nullptr;
  }
  // Session tickets are sent, as an MX with OpenSSL or BoringSSL defaults sends them (TLS 1.3: two after
  // the client's Finished), and at once (feed()). They matter beyond resumption: a client that does not
  // set TCP_NODELAY (Postfix's smtp) writes its Finished and its EHLO apart, and Nagle holds the EHLO
  // until the server's ACK; a server with nothing to send delays that ACK by 40 ms. Neither relay under
  // test offers a session back, so every handshake is still a full one; describe() marks a resumed one.
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  return ctx;
}

TlsPipe::TlsPipe(SSL_CTX* ctx) {
  bssl::UniquePtr<SSL> ssl(SSL_new(ctx));
  bssl::UniquePtr<BIO> rbio(BIO_new(BIO_s_mem()));
  bssl::UniquePtr<BIO> wbio(BIO_new(BIO_s_mem()));
  if (!ssl || !rbio || !wbio) return;
  // An empty memory BIO must say "retry", not EOF, so the handshake waits for the client's records.
  BIO_set_mem_eof_return(rbio.get(), -1);
  BIO_set_mem_eof_return(wbio.get(), -1);
  rbio_ = rbio.release();
  wbio_ = wbio.release();
  SSL_set_bio(ssl.get(), rbio_, wbio_);   // the SSL owns both BIOs from here on
  SSL_set_accept_state(ssl.get());
  ssl_ = std::move(ssl);
}

bool TlsPipe::failed(int ret, const char* what) {
  int err = SSL_get_error(ssl_.get(), ret);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return false;
  why_ = what;
  why_ += err == SSL_ERROR_ZERO_RETURN ? ": close_notify" : ": " + last_error();
  return true;
}

bool TlsPipe::feed(std::string_view ciphertext, std::string& plaintext) {
  BIO_write(rbio_, ciphertext.data(), static_cast<int>(ciphertext.size()));
  if (!handshake_done_) {
    int ret = SSL_do_handshake(ssl_.get());
    if (ret != 1) return !failed(ret, "TLS handshake");
    handshake_done_ = true;
    // BoringSSL holds a TLS 1.3 server's tickets until its next write; an MX on OpenSSL sends them at
    // once. A zero-byte write flushes them now, and with them the ACK of the client's Finished.
    if (int w = SSL_write(ssl_.get(), "", 0); w < 0 && failed(w, "TLS write")) return false;
  }
  for (;;) {
    int n = SSL_read(ssl_.get(), plain_buffer, sizeof plain_buffer);
    if (n <= 0) return !failed(n, "TLS read");
    plaintext.append(plain_buffer, static_cast<std::size_t>(n));
  }
}

bool TlsPipe::write(std::string_view plaintext) {
  if (plaintext.empty()) return true;
  int ret = SSL_write(ssl_.get(), plaintext.data(), static_cast<int>(plaintext.size()));
  return ret > 0 || !failed(ret, "TLS write");
}

std::string TlsPipe::take_output() {
  std::size_t pending = BIO_pending(wbio_);
  if (pending == 0) return {};
  std::string out(pending, '\0');
  int n = BIO_read(wbio_, out.data(), static_cast<int>(pending));
  out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return out;
}

std::string TlsPipe::describe() const {
  if (!handshake_done_) return "no TLS";
  const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl_.get());
  const char* group = SSL_get_curve_name(SSL_get_curve_id(ssl_.get()));
  return std::string(SSL_get_version(ssl_.get())) + " " + (cipher ? SSL_CIPHER_standard_name(cipher) : "?") + " " +
         (group ? group : "?") + (SSL_session_reused(ssl_.get()) ? " resumed" : "");
}

}  // namespace mxguard::bench

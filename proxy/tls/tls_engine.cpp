#include "proxy/tls/tls_engine.h"

#include <openssl/buf.h>
#include <openssl/err.h>

#include <algorithm>

#ifndef OPENSSL_IS_BORINGSSL
#error "mxguard must be built against BoringSSL (android-libboringssl-dev), not OpenSSL"
#endif

namespace mxguard::tls {

std::string_view to_string(FailureKind kind) {
  switch (kind) {
    case FailureKind::None: return "none";
    case FailureKind::Protocol: return "protocol error";
    case FailureKind::PeerAlert: return "peer alert";
    case FailureKind::CertificateVerify: return "certificate verification failed";
    case FailureKind::VersionTooLow: return "protocol version too low";
    case FailureKind::Record: return "record error";
    case FailureKind::UnexpectedEof: return "unexpected end of TLS";
    case FailureKind::Local: return "local error";
  }
  return "protocol error";
}

FailureKind classify_failure(uint32_t packed_error, bool handshake_done) {
  if (packed_error == 0) return FailureKind::UnexpectedEof;
  if (ERR_GET_LIB(packed_error) == ERR_LIB_SSL) {
    int reason = ERR_GET_REASON(packed_error);
    if (reason == SSL_R_CERTIFICATE_VERIFY_FAILED) return FailureKind::CertificateVerify;
    // Our side refusing the peer's version, or the peer refusing ours with a protocol_version alert: with
    // TLS 1.2 as our minimum, either way the peer is too old.
    if (reason == SSL_R_UNSUPPORTED_PROTOCOL || reason == SSL_R_TLSV1_ALERT_PROTOCOL_VERSION) {
      return FailureKind::VersionTooLow;
    }
    if (reason >= SSL_AD_REASON_OFFSET && reason < SSL_AD_REASON_OFFSET + 256) return FailureKind::PeerAlert;
    if (reason == ERR_R_MALLOC_FAILURE || reason == ERR_R_INTERNAL_ERROR) return FailureKind::Local;
  }
  return handshake_done ? FailureKind::Record : FailureKind::Protocol;
}

namespace {
// A memory BIO keeps the capacity of the largest burst it ever held (a handshake flight, a message's
// records). Once such a buffer is empty again an idle session should not pin it: an idle TLS session's
// footprint is a benchmark figure, and a few hundred bytes is all an idle one needs.
constexpr std::size_t kKeptBioCapacity = 256;

BIO* new_memory_bio() {
  BIO* bio = BIO_new(BIO_s_mem());
  // An empty memory BIO must report "retry", not EOF, so SSL_* return WANT_READ while waiting for bytes.
  if (bio) BIO_set_mem_eof_return(bio, -1);
  return bio;
}

bool spent(BIO* bio) {
  BUF_MEM* mem = nullptr;
  return bio && BIO_pending(bio) == 0 && BIO_get_mem_ptr(bio, &mem) == 1 && mem && mem->max > kKeptBioCapacity;
}
}  // namespace

Engine::Engine(bssl::UniquePtr<SSL> ssl) : ssl_(std::move(ssl)) {
  in_ = new_memory_bio();
  out_ = new_memory_bio();
  SSL_set_bio(ssl_.get(), in_, out_);
}

void Engine::shed_spent_input() {
  if (!spent(in_)) return;
  if (BIO* fresh = new_memory_bio()) {
    SSL_set0_rbio(ssl_.get(), fresh);   // frees the old one
    in_ = fresh;
  }
}

void Engine::shed_spent_output() {
  if (!spent(out_)) return;
  if (BIO* fresh = new_memory_bio()) {
    SSL_set0_wbio(ssl_.get(), fresh);
    out_ = fresh;
  }
}

bool Engine::is_client() const { return SSL_is_server(ssl_.get()) == 0; }

void Engine::feed(std::string_view ciphertext) {
  if (!ciphertext.empty()) BIO_write(in_, ciphertext.data(), static_cast<int>(ciphertext.size()));
}

void Engine::record_failure(int ssl_error, uint32_t code, const char* what) {
  Failure f;
  f.kind = classify_failure(code, handshake_done_);
  if (const CertVerification* v = find_verification(ssl_.get())) f.cert = *v;
  int reason = code ? ERR_GET_REASON(code) : 0;
  if (code && ERR_GET_LIB(code) == ERR_LIB_SSL && reason >= SSL_AD_REASON_OFFSET &&
      reason < SSL_AD_REASON_OFFSET + 256) {
    f.alert = reason - SSL_AD_REASON_OFFSET;
  }
  if (f.kind == FailureKind::CertificateVerify && f.cert.problem != CertProblem::None) {
    f.reason = std::string(what) + ": certificate verification failed: " + f.cert.describe();
  } else if (code != 0) {
    const char* text = ERR_reason_error_string(code);
    f.reason = std::string(what) + ": " + (text ? text : "unknown error");
  } else {
    f.reason = std::string(what) + ": " + (ssl_error == SSL_ERROR_SYSCALL ? "unexpected end of stream" : "failed");
  }
  failure_ = std::make_unique<Failure>(std::move(f));
}

Progress Engine::fail(int ssl_ret, const char* what) {
  int err = SSL_get_error(ssl_.get(), ssl_ret);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return Progress::WantMore;
  if (err == SSL_ERROR_ZERO_RETURN) return Progress::Closed;
  if (!failure_) record_failure(err, ERR_peek_last_error(), what);
  ERR_clear_error();
  return Progress::Failed;
}

Progress Engine::handshake() {
  if (handshake_done_) return Progress::Ok;
  int ret = SSL_do_handshake(ssl_.get());
  if (ret == 1) {
    handshake_done_ = true;
    shed_spent_input();
    return Progress::Ok;
  }
  Progress p = fail(ret, "handshake");
  if (p == Progress::Closed) {   // close_notify before the handshake finished: it never started for real
    if (!failure_) {
      failure_ = std::make_unique<Failure>();
      failure_->kind = FailureKind::UnexpectedEof;
      failure_->alert = SSL_AD_CLOSE_NOTIFY;
      failure_->reason = "peer closed TLS during the handshake";
      if (const CertVerification* v = find_verification(ssl_.get())) failure_->cert = *v;
    }
    return Progress::Failed;
  }
  return p;
}

Progress Engine::read(std::string& out, std::size_t max) {
  char buf[16384];
  std::size_t total = 0;
  while (total < max) {
    int want = static_cast<int>(std::min(sizeof buf, max - total));
    int ret = SSL_read(ssl_.get(), buf, want);
    if (ret <= 0) {
      Progress p = fail(ret, "read");
      if (p != Progress::WantMore) return p;
      shed_spent_input();
      return Progress::Ok;
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

void Engine::flush_pending_records() {
  // BoringSSL holds a TLS 1.3 server's session tickets back to send them with the first application data
  // (one record burst instead of two). An empty write releases them without any data.
  static const char kNothing = 0;
  if (handshake_done_ && !failure_) SSL_write(ssl_.get(), &kNothing, 0);
  ERR_clear_error();
}

bool Engine::has_output() const { return BIO_pending(out_) > 0; }

std::string Engine::take_output() {
  std::string out;
  append_output(out);
  return out;
}

void Engine::append_output(std::string& out) {
  std::size_t pending = BIO_pending(out_);
  if (pending == 0) return;
  std::size_t old_size = out.size();
  out.resize(old_size + pending);
  int n = BIO_read(out_, out.data() + old_size, static_cast<int>(pending));
  out.resize(old_size + (n > 0 ? static_cast<std::size_t>(n) : 0));
  shed_spent_output();
}

const Failure& Engine::failure() const {
  static const Failure kNone;
  return failure_ ? *failure_ : kNone;
}

const CertVerification& Engine::verification() const {
  static const CertVerification kNone;
  const CertVerification* v = find_verification(ssl_.get());
  return v ? *v : kNone;
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

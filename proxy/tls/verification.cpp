#include "proxy/tls/verification.h"

#include <openssl/x509.h>

#include <memory>

#include "proxy/tls/x509_names.h"

namespace mxguard::tls {
namespace {

void free_record(void* /*parent*/, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  std::unique_ptr<CertVerification> owned(static_cast<CertVerification*>(ptr));
}

int record_index() {
  // Allocated once per process; BoringSSL calls free_record when an SSL carrying a record is freed.
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, free_record);
  return index;
}

CertVerification* record_of(X509_STORE_CTX* store) {
  auto* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  if (!ssl || record_index() < 0) return nullptr;
  return static_cast<CertVerification*>(SSL_get_ex_data(ssl, record_index()));
}

void note(CertVerification& v, int error, int depth, const char* own_text = nullptr) {
  if (error == X509_V_OK) return;
  CertProblem problem = classify_x509_error(error);
  v.problems |= 1u << static_cast<unsigned>(problem);
  if (v.problem != CertProblem::None) return;
  v.problem = problem;
  v.x509_error = error;
  const char* text = own_text ? own_text : X509_verify_cert_error_string(error);
  v.x509_text = text ? text : "unknown verification error";
  v.error_depth = depth;
}

// The chain as the server sent it, leaf first, whatever order the store context holds it in.
bssl::UniquePtr<STACK_OF(X509)> presented_chain(X509_STORE_CTX* store) {
  bssl::UniquePtr<STACK_OF(X509)> chain(sk_X509_new_null());
  X509* leaf = X509_STORE_CTX_get0_cert(store);
  if (!chain || !leaf || !sk_X509_push(chain.get(), leaf)) return nullptr;
  X509_up_ref(leaf);
  STACK_OF(X509)* untrusted = X509_STORE_CTX_get0_untrusted(store);
  for (std::size_t i = 0; untrusted && i < sk_X509_num(untrusted); ++i) {
    X509* cert = sk_X509_value(untrusted, i);
    if (X509_cmp(cert, leaf) == 0) continue;
    if (!sk_X509_push(chain.get(), cert)) return nullptr;
    X509_up_ref(cert);
  }
  return chain;
}

// RFC 7672 §3 instead of the WebPKI: the records decide, the CA file plays no part.
int verify_dane(X509_STORE_CTX* store, CertVerification& v) {
  bssl::UniquePtr<STACK_OF(X509)> chain = presented_chain(store);
  DaneResult result = chain ? check_dane(*v.dane, chain.get()) : DaneResult{};
  v.dane_match = result.match;
  v.dane_record = result.record;
  v.dane_depth = result.depth;
  if (result.match == DaneResult::Match::None) {
    note(v, X509_V_ERR_CERT_UNTRUSTED, 0, "no TLSA record matches the certificate chain");
  } else if (result.match == DaneResult::Match::TrustAnchor) {
    for (const auto& [error, depth] : result.problems) note(v, error, depth);
  }
  X509_STORE_CTX_set_error(store, v.x509_error);
  return (v.problems == 0 || !v.required) ? 1 : 0;
}

// Called by X509_verify_cert for each problem (ok == 0) and each certificate checked (ok == 1). Always
// answering 1 lets the check run on, so a certificate that is both expired and for the wrong name says so.
int on_certificate(int ok, X509_STORE_CTX* store) {
  if (!ok) {
    if (CertVerification* v = record_of(store)) {
      note(*v, X509_STORE_CTX_get_error(store), X509_STORE_CTX_get_error_depth(store));
    }
  }
  return 1;
}

int on_chain(X509_STORE_CTX* store, void*) {
  CertVerification* v = record_of(store);
  if (!v) return X509_verify_cert(store);   // an SSL without a record: BoringSSL's own behaviour
  v->performed = true;
  const X509* leaf = X509_STORE_CTX_get0_cert(store);
  v->subject_cn = common_name(leaf);
  v->dns_names = dns_names(leaf);
  if (v->dane) return verify_dane(store, *v);
  X509_STORE_CTX_set_verify_cb(store, on_certificate);
  int ret = X509_verify_cert(store);
  // Failures outside the per-certificate callback (an unusable parameter, memory) still must count.
  if (ret <= 0 && v->problems == 0) {
    int error = X509_STORE_CTX_get_error(store);
    note(*v, error == X509_V_OK ? X509_V_ERR_UNSPECIFIED : error, X509_STORE_CTX_get_error_depth(store));
  }
  // The alert sent and SSL_get_verify_result then name the first problem rather than the last one.
  X509_STORE_CTX_set_error(store, v->x509_error);
  return (v->problems == 0 || !v->required) ? 1 : 0;
}

}  // namespace

std::string_view to_string(CertProblem problem) {
  switch (problem) {
    case CertProblem::None: return "";
    case CertProblem::Expired: return "expired";
    case CertProblem::NotYetValid: return "not yet valid";
    case CertProblem::HostMismatch: return "host mismatch";
    case CertProblem::NotTrusted: return "not trusted";
    case CertProblem::Other: return "invalid";
  }
  return "invalid";
}

std::string_view tlsrpt_result_type(CertProblem problem) {
  switch (problem) {
    case CertProblem::None: return "";
    case CertProblem::Expired: return "certificate-expired";
    case CertProblem::HostMismatch: return "certificate-host-mismatch";
    case CertProblem::NotTrusted: return "certificate-not-trusted";
    case CertProblem::NotYetValid:   // RFC 8460 has no type of its own for it
    case CertProblem::Other: return "validation-failure";
  }
  return "validation-failure";
}

CertProblem classify_x509_error(int x509_error) {
  switch (x509_error) {
    case X509_V_OK: return CertProblem::None;
    case X509_V_ERR_CERT_HAS_EXPIRED: return CertProblem::Expired;
    case X509_V_ERR_CERT_NOT_YET_VALID: return CertProblem::NotYetValid;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH: return CertProblem::HostMismatch;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_UNTRUSTED:
    case X509_V_ERR_CERT_REJECTED: return CertProblem::NotTrusted;
    default: return CertProblem::Other;
  }
}

std::string CertVerification::describe() const {
  if (problem == CertProblem::None) return {};
  return x509_text + " (depth " + std::to_string(error_depth) + ")";
}

void enable_verification(SSL_CTX* ctx) { SSL_CTX_set_cert_verify_callback(ctx, on_chain, nullptr); }

bool attach_verification(SSL* ssl, bool required, std::string_view expected_host,
                         std::optional<DaneExpectation> dane) {
  if (record_index() < 0) return false;
  CertVerification fresh;
  fresh.required = required;
  fresh.expected_host = std::string(expected_host);
  fresh.dane = std::move(dane);
  if (auto* existing = static_cast<CertVerification*>(SSL_get_ex_data(ssl, record_index()))) {
    *existing = std::move(fresh);   // replacing the pointer would leak the old record
  } else {
    auto record = std::make_unique<CertVerification>(std::move(fresh));
    if (SSL_set_ex_data(ssl, record_index(), record.get()) != 1) return false;
    record.release();   // owned by the SSL now: free_record deletes it
  }
  SSL_set_verify(ssl, SSL_VERIFY_PEER, nullptr);
  return true;
}

const CertVerification* find_verification(const SSL* ssl) {
  if (!ssl || record_index() < 0) return nullptr;
  return static_cast<const CertVerification*>(SSL_get_ex_data(ssl, record_index()));
}

}  // namespace mxguard::tls

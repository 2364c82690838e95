#include "proxy/tls/dane_check.h"

#include <openssl/mem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include <algorithm>

#include "proxy/tls/verification.h"

namespace mxguard::tls {
namespace {

// DER of the whole certificate or of its SubjectPublicKeyInfo.
std::optional<std::vector<std::uint8_t>> selected_bytes(const X509* cert, std::uint8_t selector) {
  std::uint8_t* der = nullptr;
  int length = -1;
  if (selector == policy::tlsa::kCert) {
    length = i2d_X509(const_cast<X509*>(cert), &der);
  } else if (selector == policy::tlsa::kSpki) {
    length = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
  } else {
    return std::nullopt;
  }
  if (length <= 0 || der == nullptr) return std::nullopt;
  bssl::UniquePtr<std::uint8_t> owned(der);
  return std::vector<std::uint8_t>(der, der + length);
}

// The problems X509_verify_cert meets with the trust anchor of one DANE-TA record, gathered through the
// verify callback (which always answers 1, so every problem is seen, as verification.cpp does).
struct Gathered {
  std::vector<std::pair<int, int>> problems;
};

int gathered_index() {
  static const int index = X509_STORE_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

int on_problem(int ok, X509_STORE_CTX* ctx) {
  if (!ok) {
    auto* gathered = static_cast<Gathered*>(X509_STORE_CTX_get_ex_data(ctx, gathered_index()));
    if (gathered) gathered->problems.emplace_back(X509_STORE_CTX_get_error(ctx), X509_STORE_CTX_get_error_depth(ctx));
  }
  return 1;
}

// The leaf checked with `anchor` as the one trust anchor: the chain from the leaf through the presented
// certificates up to it, the dates, the purpose, and the reference names. nullopt if the leaf does not
// chain to the anchor at all (the record then matched some unrelated certificate the server sent).
std::optional<std::vector<std::pair<int, int>>> check_chain_to(X509* anchor, STACK_OF(X509) * presented,
                                                              const std::vector<std::string>& names) {
  bssl::UniquePtr<X509_STORE> store(X509_STORE_new());
  bssl::UniquePtr<X509_STORE_CTX> ctx(X509_STORE_CTX_new());
  X509* leaf = sk_X509_value(presented, 0);
  if (!store || !ctx || X509_STORE_add_cert(store.get(), anchor) != 1 ||
      X509_STORE_CTX_init(ctx.get(), store.get(), leaf, presented) != 1 ||
      X509_STORE_CTX_set_default(ctx.get(), "ssl_server") != 1) {
    return std::vector<std::pair<int, int>>{{X509_V_ERR_UNSPECIFIED, 0}};
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  // The anchor need not be self-signed: a DANE-TA record may name an intermediate (RFC 7671 §5.2).
  X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
  bool first = true;
  for (const std::string& name : names) {
    // Explicit lengths: 0 would poison the parameter on this BoringSSL (dependencies.md).
    int ok = first ? X509_VERIFY_PARAM_set1_host(param, name.data(), name.size())
                   : X509_VERIFY_PARAM_add1_host(param, name.data(), name.size());
    if (ok != 1) return std::vector<std::pair<int, int>>{{X509_V_ERR_UNSPECIFIED, 0}};
    first = false;
  }
  Gathered gathered;
  X509_STORE_CTX_set_ex_data(ctx.get(), gathered_index(), &gathered);
  X509_STORE_CTX_set_verify_cb(ctx.get(), on_problem);
  int ret = X509_verify_cert(ctx.get());
  if (ret <= 0 && gathered.problems.empty()) {
    int error = X509_STORE_CTX_get_error(ctx.get());
    gathered.problems.emplace_back(error == X509_V_OK ? X509_V_ERR_UNSPECIFIED : error, 0);
  }
  bool reaches_anchor = std::none_of(gathered.problems.begin(), gathered.problems.end(), [](const auto& p) {
    return classify_x509_error(p.first) == CertProblem::NotTrusted;
  });
  if (!reaches_anchor) return std::nullopt;
  return gathered.problems;
}

}  // namespace

std::optional<std::vector<std::uint8_t>> association_data(const X509* cert, std::uint8_t selector,
                                                          std::uint8_t matching_type) {
  auto bytes = selected_bytes(cert, selector);
  if (!bytes) return std::nullopt;
  switch (matching_type) {
    case policy::tlsa::kFull: return bytes;
    case policy::tlsa::kSha256: {
      std::vector<std::uint8_t> digest(SHA256_DIGEST_LENGTH);
      SHA256(bytes->data(), bytes->size(), digest.data());
      return digest;
    }
    case policy::tlsa::kSha512: {
      std::vector<std::uint8_t> digest(SHA512_DIGEST_LENGTH);
      SHA512(bytes->data(), bytes->size(), digest.data());
      return digest;
    }
    default: return std::nullopt;
  }
}

bool record_matches(const policy::TlsaRecord& record, const X509* cert) {
  if (!policy::usable_for_smtp(record) || cert == nullptr) return false;
  auto data = association_data(cert, record.selector, record.matching_type);
  // The data is public (it is in the DNS): a plain comparison leaks nothing.
  return data && *data == record.data;
}

DaneResult check_dane(const DaneExpectation& expectation, STACK_OF(X509) * presented) {
  DaneResult result;
  const std::size_t count = presented ? sk_X509_num(presented) : 0;
  if (count == 0) return result;
  X509* leaf = sk_X509_value(presented, 0);
  for (const policy::TlsaRecord& r : expectation.records) {
    if (r.usage == policy::tlsa::kDaneEe && record_matches(r, leaf)) {
      return DaneResult{DaneResult::Match::EndEntity, policy::to_string(r), 0, {}};
    }
  }
  std::optional<DaneResult> first_with_problems;
  for (const policy::TlsaRecord& r : expectation.records) {
    if (r.usage != policy::tlsa::kDaneTa) continue;
    for (std::size_t depth = 1; depth < count; ++depth) {
      X509* candidate = sk_X509_value(presented, depth);
      if (!record_matches(r, candidate)) continue;
      auto problems = check_chain_to(candidate, presented, expectation.reference_names);
      if (!problems) continue;
      DaneResult found{DaneResult::Match::TrustAnchor, policy::to_string(r), static_cast<int>(depth), *problems};
      if (found.problems.empty()) return found;
      if (!first_with_problems) first_with_problems = std::move(found);
    }
  }
  return first_with_problems.value_or(result);
}

}  // namespace mxguard::tls

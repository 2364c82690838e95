#include "policy/engine/mta_sts_overlay.h"

namespace mxguard::policy {

bool wants_mta_sts(const EffectivePolicy& configured) {
  if (configured.level == TlsLevel::DaneOnly) return false;
  if (configured.level == TlsLevel::Dane) return true;
  return configured.source != PolicySource::Config || configured.level == TlsLevel::MtaSts;
}

EffectivePolicy with_mta_sts(EffectivePolicy configured, const std::optional<StsPolicyView>& sts) {
  if (!sts || sts->mode == StsPolicyView::Mode::None || sts->mx.empty()) return configured;

  if (configured.level == TlsLevel::Dane) {
    // What `may` would become, entry or not: an entry at `dane` asks for DANE and, without it, for the
    // domain's own policy.
    EffectivePolicy base = configured;
    base.level = TlsLevel::May;
    base.source = PolicySource::Default;
    base.without_dane.reset();
    EffectivePolicy fallback = with_mta_sts(std::move(base), sts);
    if (fallback.source == PolicySource::MtaSts) {
      configured.without_dane = NonDanePolicy{fallback.level, fallback.source, fallback.mx_patterns, fallback.testing};
    }
    return configured;
  }

  if (configured.source == PolicySource::Config) {
    // The operator's exception. Only an entry that itself asks for MTA-STS takes anything from the policy.
    if (configured.level == TlsLevel::MtaSts && configured.mx_patterns.empty()) configured.mx_patterns = sts->mx;
    return configured;
  }
  if (configured.level > TlsLevel::MtaSts) return configured;

  bool testing = sts->mode == StsPolicyView::Mode::Testing;
  if (testing && requires_tls(configured.level)) return configured;

  configured.level = TlsLevel::MtaSts;
  configured.source = PolicySource::MtaSts;
  configured.mx_patterns = sts->mx;
  configured.testing = testing;
  return configured;
}

}  // namespace mxguard::policy

#include "policy/engine/mta_sts_overlay.h"

namespace mxguard::policy {

EffectivePolicy with_mta_sts(EffectivePolicy configured, const std::optional<StsPolicyView>& sts) {
  if (!sts || sts->mode == StsPolicyView::Mode::None || sts->mx.empty()) return configured;

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

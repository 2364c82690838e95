#include "proxy/metrics/worker_metrics.h"

namespace mxguard::metrics {

std::string_view to_string(TlsState s) {
  switch (s) {
    case TlsState::Established: return "established";
    case TlsState::Failed: return "failed";
    case TlsState::None: return "none";
  }
  return "none";
}

std::string_view to_string(PolicyVerdict v) {
  switch (v) {
    case PolicyVerdict::Delivered: return "delivered";
    case PolicyVerdict::Refused: return "refused";
    case PolicyVerdict::AllowedTesting: return "allowed-testing";
  }
  return "refused";
}

std::string_view to_string(StsFetch f) {
  switch (f) {
    case StsFetch::Fetched: return "fetched";
    case StsFetch::FetchError: return "sts-policy-fetch-error";
    case StsFetch::PolicyInvalid: return "sts-policy-invalid";
    case StsFetch::WebPkiInvalid: return "sts-webpki-invalid";
  }
  return "sts-policy-fetch-error";
}

}  // namespace mxguard::metrics

namespace mxguard::metrics {
// The tables are sized by these enums: a new enumerator must grow them.
static_assert(ix(policy::TlsLevel::DaneOnly) + 1 == kLevels);
static_assert(ix(policy::PolicySource::MtaSts) + 1 == kSources);
static_assert(ix(policy::ResultType::DaneRequired) + 1 == kResultTypes);
static_assert(ix(session::HandshakeFailure::Local) + 1 == session::kHandshakeFailures);
static_assert(ix(audit::Direction::Outbound) + 1 == kDirections);
}  // namespace mxguard::metrics

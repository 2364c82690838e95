#pragma once
// The TLS-RPT policy of a domain (RFC 8460 §3): the TXT record at _smtp._tls.<domain>, which says where
// reports go. Pure functions over the bytes of the answer, as policy/mta_sts/record.h does for MTA-STS.
//
//   tlsrpt-record  = tlsrpt-version 1*(field-delim tlsrpt-field) [field-delim]
//   field-delim    = *WSP ";" *WSP
//   tlsrpt-field   = tlsrpt-rua / tlsrpt-extension
//   tlsrpt-version = %s"v=TLSRPTv1"
//   tlsrpt-rua     = %s"rua=" tlsrpt-uri *(*WSP "," *WSP tlsrpt-uri)
//   tlsrpt-uri     = URI   ; commas, exclamation points and semicolons MUST be percent-encoded
//   tlsrpt-extension = tlsrpt-ext-name "=" tlsrpt-ext-value
//   tlsrpt-ext-name  = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
//   tlsrpt-ext-value = 1*(%x21-3A / %x3C / %x3E-7E)
//
// The details, where the RFC leaves room:
// - "v=TLSRPTv1" and "rua=" are case-sensitive (%s); the URI scheme is not (RFC 3986 §3.1).
// - rua is required and must appear once; each URI must be a URI of RFC 3986's characters (no space,
//   no control, no raw ',' '!' ';', every '%' followed by two hex digits) with a scheme.
// - mailto: URIs become addresses: the part before '?' (header fields are ignored), percent-decoded,
//   split at ',' (a list is allowed by RFC 6068), each a local part '@' a domain. https: URIs are kept as
//   they are. A URI with another scheme is not an error of the record: it is listed in `unsupported`
//   (RFC 8460 defines only these two), and the record is still usable if another URI is.
// - Unknown fields with a valid name and value are ignored (the RFC: "unknown fields SHALL be ignored").
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "policy/dns/records.h"

namespace mxguard::audit::report {

struct TlsrptRecord {
  std::vector<std::string> mailto;        // addresses, in order
  std::vector<std::string> https;         // URIs, in order
  std::vector<std::string> unsupported;   // URIs with another scheme
  friend bool operator==(const TlsrptRecord&, const TlsrptRecord&) = default;
};

// One record (its character-strings concatenated). Returns the record or what is wrong with it, in
// words that follow "the record" ("has no rua field"); never throws.
std::variant<TlsrptRecord, std::string> parse_tlsrpt_record(std::string_view text);

// Whether a TXT record takes part at all: it starts with "v=TLSRPTv1" followed by the end, ';' or WSP.
bool begins_with_tlsrpt_version(std::string_view record);

// RFC 8460 §3's selection (dns::select_version_record, which MTA-STS shares): records that do not begin
// with v=TLSRPTv1 are discarded; exactly one must remain, and it must parse, and name at least one mailto
// or https destination.
struct TlsrptDiscovery {
  enum class Kind {
    Published,   // `record` says where reports go
    None,        // no record (NXDOMAIN, NODATA, none that begins with v=TLSRPTv1)
    Invalid,     // records begin with v=TLSRPTv1 but not exactly one valid one: `detail` says why
    Temporary,   // the lookup failed: nothing is known (try again tomorrow)
  };
  Kind kind = Kind::Temporary;
  TlsrptRecord record;
  std::string detail;
};

TlsrptDiscovery discover_tlsrpt(const dns::TxtResult& answer);

}  // namespace mxguard::audit::report

#pragma once
// The one TXT record a protocol publishes at a name of its own, told apart by the version field it begins
// with: "v=STSv1" at _mta-sts.<domain> (MTA-STS, RFC 8461 §3.1), "v=TLSRPTv1" at _smtp._tls.<domain>
// (TLS-RPT, RFC 8460 §3). Both RFCs select alike: records that do not begin with the version are
// discarded (an SPF record at the same name is harmless), exactly one must remain, and two or more are
// an error even if only one of them would parse (the records are counted before they are parsed). Pure:
// the parsers of the two records (policy/mta_sts/record, proxy/audit/report/tlsrpt_record) take it from
// here.
#include <cstddef>
#include <string_view>

#include "policy/dns/records.h"

namespace mxguard::dns {

// Whether `record` begins with the field `version`: those bytes exactly (case-sensitive, nothing before
// them), then the end, ';' or WSP (space, tab), so that "v=STSv10" does not begin with "v=STSv1". Both
// ABNFs allow WSP before the first ';' (RFC 8461 errata 6285).
bool begins_with_version(std::string_view record, std::string_view version);

struct VersionRecord {
  enum class Kind {
    One,       // exactly one record begins with the version: `text`
    None,      // NXDOMAIN, NODATA, or no record begins with the version: nothing is published
    Several,   // `count` records begin with the version: none is selected
    Failed,    // the lookup failed (Temporary, Malformed): nothing is known, whatever records it carried
  };
  Kind kind = Kind::Failed;
  std::string_view text;   // One: the record as the answer holds it (its character-strings concatenated)
  std::size_t count = 0;   // how many records begin with the version (One: 1; Failed: 0)
};

// `text` points into `answer`, which must outlive the result (hence no temporaries).
VersionRecord select_version_record(const TxtResult& answer, std::string_view version);
VersionRecord select_version_record(TxtResult&& answer, std::string_view version) = delete;

}  // namespace mxguard::dns

#pragma once
// The MTA-STS TXT record at _mta-sts.<domain> (RFC 8461 §3.1): whether a domain publishes a policy, and
// the id that changes when the policy does. Pure functions over the bytes of the answer.
#include <string>
#include <string_view>
#include <variant>

#include "policy/dns/records.h"

namespace mxguard::mta_sts {

// One valid record: "v=STSv1; id=20160831085700Z;" (more fields may follow and are ignored).
struct TxtRecord {
  std::string id;   // 1..32 ALPHA / DIGIT
  friend bool operator==(const TxtRecord&, const TxtRecord&) = default;
};

// Parses one record (the concatenation of its character-strings). RFC 8461 §3.1: "v=STSv1" must be the
// first field; fields are separated by ';' with optional whitespace (WSP) around them; a trailing ';' is
// allowed; "id" is required (1..32 alphanumerics); other fields must be well-formed "name=value" and are
// ignored; a duplicated field is an error. Returns the record or what is wrong with it, in words that
// follow "the record" ("has no id field").
std::variant<TxtRecord, std::string> parse_txt_record(std::string_view text);

// What the TXT lookup says about the domain, after RFC 8461 §3.1's selection: records that do not start
// with "v=STSv1" are discarded (so an SPF record next to it is harmless); exactly one must remain.
struct Discovery {
  enum class Kind {
    Published,   // exactly one valid record: `id` is its id
    None,        // NXDOMAIN, NODATA, or no record that starts with "v=STSv1": no policy is published
    Invalid,     // records start with "v=STSv1" but none or several of them are valid: no new policy
    Temporary,   // the lookup failed (SERVFAIL, timeout, malformed answer): nothing is known
  };
  Kind kind = Kind::Temporary;
  std::string id;       // Published only
  std::string detail;   // Invalid and Temporary: why, for the log and audit ("2 records start with v=STSv1")
};

Discovery discover(const dns::TxtResult& answer);

}  // namespace mxguard::mta_sts

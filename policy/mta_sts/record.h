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
//
// The details, where the RFC leaves room:
// - Field names and the version are case-sensitive (the ABNF's %s"v=STSv1", %s"id="): "ID=abc" is an
//   extension field, so a record with only it has no id; "V=STSv1" is not an MTA-STS record at all.
// - Nothing may precede "v=STSv1" (not even whitespace). Whitespace after the last field, with or without
//   a trailing ';', is accepted (the ABNF has WSP only around a ';', but the record is unambiguous).
// - An extension field is sts-ext-name "=" sts-ext-value: a name of 1..32 letters, digits, '_', '-', '.'
//   starting with a letter or digit, and a non-empty value of visible ASCII other than '=' and ';'.
// - An empty field (";;"), a field without '=', or two fields not separated by ';' make the record invalid.
std::variant<TxtRecord, std::string> parse_txt_record(std::string_view text);

// Whether a TXT record takes part in MTA-STS discovery at all: it starts with the field "v=STSv1" (followed
// by the end, ';' or whitespace, so "v=STSv10" does not). RFC 8461 §3.1 says "records that do not begin
// with "v=STSv1;" are discarded"; the ABNF also allows whitespace before that ';' (errata 6285).
bool begins_with_sts_version(std::string_view record);

// What the TXT lookup says about the domain, after RFC 8461 §3.1's selection (dns::select_version_record,
// which TLS-RPT shares): records that do not start with "v=STSv1" are discarded (so an SPF record next to
// it is harmless); exactly one must remain, and it must parse. Two records that start with "v=STSv1" are Invalid even if only one of them parses (the
// RFC counts records before it parses them). A Malformed answer is Temporary: the name may well have a
// record that this answer failed to carry.
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

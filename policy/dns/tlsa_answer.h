#pragma once
// A raw answer to a TLSA query (RFC 6698 §2.1) to a TlsaResult. c-ares 1.18 has no TLSA parser, so the
// answer section is walked here: owner names (with compression pointers, RFC 1035 §4.1.4), the CNAME
// chain from the question's name, and the TLSA records at its end. Pure: no channel, no I/O, fuzzed alone
// (fuzz/tlsa_answer_fuzz.cpp).
//
// The rules of answer.h hold: a failed exchange, a truncated or otherwise unusable header, an RCODE
// other than NOERROR and NXDOMAIN are never "no records"; a message that cannot be read to its last answer
// record, or a TLSA record shorter than its three parameter bytes, is Malformed.
#include <span>

#include "policy/dns/records.h"

namespace mxguard::dns {

// `ares_status` and `answer` as an ares_send callback received them. Records are those whose owner is
// the question's name or, after CNAMEs, the name the chain leads to; records of other owners and of other
// classes than IN are ignored.
TlsaResult parse_tlsa_answer(int ares_status, std::span<const unsigned char> answer);

}  // namespace mxguard::dns

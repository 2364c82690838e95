// The TLSA answer reader (policy/dns/tlsa_answer.h): the input is a raw DNS message. Checks that nothing
// but Ok carries records and every Ok carries some, that only Ok, NoData and NxDomain carry the AD bit,
// that every record's data lies within the message, that the same bytes always read the same, that a
// failed exchange is never "no records" whatever its buffer holds, and that the records found, written
// into a plain message of their own, read back exactly (with the AD bit as it was).
#include <ares.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "fuzz/check.h"
#include "policy/dns/tlsa_answer.h"

using namespace mxguard;
using namespace mxguard::dns;

namespace {

void put16(std::vector<unsigned char>& out, std::size_t v) {
  out.push_back(static_cast<unsigned char>(v >> 8));
  out.push_back(static_cast<unsigned char>(v));
}

void put_name(std::vector<unsigned char>& out) {
  for (const char* label : {"_25", "_tcp", "mx", "example"}) {
    std::string l(label);
    out.push_back(static_cast<unsigned char>(l.size()));
    out.insert(out.end(), l.begin(), l.end());
  }
  out.push_back(0);
}

// A response without compression: one question, the records, nothing else.
std::vector<unsigned char> plain_message(const std::vector<policy::TlsaRecord>& records, bool ad) {
  std::vector<unsigned char> m = {0x12, 0x34, 0x81, static_cast<unsigned char>(0x80 | (ad ? 0x20 : 0)), 0, 1};
  put16(m, records.size());
  put16(m, 0);
  put16(m, 0);
  put_name(m);
  put16(m, 52);
  put16(m, 1);
  for (const policy::TlsaRecord& r : records) {
    put_name(m);
    put16(m, 52);
    put16(m, 1);
    m.insert(m.end(), {0, 0, 1, 44});
    put16(m, r.data.size() + 3);
    m.insert(m.end(), {r.usage, r.selector, r.matching_type});
    m.insert(m.end(), r.data.begin(), r.data.end());
  }
  return m;
}

void check_shape(const TlsaResult& r, std::size_t input_size) {
  FUZZ_CHECK((r.status == Status::Ok) == !r.records.empty());
  if (r.authenticated_data) {
    FUZZ_CHECK(r.status == Status::Ok || r.status == Status::NoData || r.status == Status::NxDomain);
  }
  for (const policy::TlsaRecord& rec : r.records) FUZZ_CHECK(rec.data.size() + 3 <= input_size);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const unsigned char> input(data, size);
  TlsaResult r = parse_tlsa_answer(ARES_SUCCESS, input);
  check_shape(r, size);

  TlsaResult again = parse_tlsa_answer(ARES_SUCCESS, input);
  FUZZ_CHECK(again.status == r.status && again.records == r.records && again.authenticated_data == r.authenticated_data);

  for (int failure : {ARES_ESERVFAIL, ARES_ETIMEOUT, ARES_ECONNREFUSED, ARES_EBADRESP}) {
    TlsaResult failed = parse_tlsa_answer(failure, input);
    FUZZ_CHECK(failed.status == Status::Temporary || failed.status == Status::Malformed);
    FUZZ_CHECK(failed.records.empty() && !failed.authenticated_data);
  }

  if (r.status == Status::Ok) {
    std::vector<unsigned char> plain = plain_message(r.records, r.authenticated_data);
    TlsaResult reread = parse_tlsa_answer(ARES_SUCCESS, plain);
    FUZZ_CHECK(reread.status == Status::Ok);
    FUZZ_CHECK(reread.records == r.records);
    FUZZ_CHECK(reread.authenticated_data == r.authenticated_data);
  }
  return 0;
}

// The _mta-sts TXT record and discovery (policy/mta_sts/record.h). The input is a TXT answer: records
// separated by 0x01. Checks that an accepted record has an id of 1..32 letters and digits that it spells
// as "id=<id>" after a leading "v=STSv1", that discover() follows RFC 8461 §3.1's selection exactly
// (count the records that begin with v=STSv1, then parse the one), that an unrelated record never
// changes the outcome, that a failed lookup is never None, and that every message is printable ASCII.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/check.h"
#include "policy/mta_sts/record.h"

using namespace mxguard;
using namespace mxguard::mta_sts;

namespace {

bool is_id(std::string_view id) {
  if (id.empty() || id.size() > 32) return false;
  for (char c : id) {
    bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!alnum) return false;
  }
  return true;
}

std::vector<std::string> split(std::string_view input, char separator) {
  std::vector<std::string> out;
  while (true) {
    std::size_t at = input.find(separator);
    out.emplace_back(input.substr(0, at));
    if (at == std::string_view::npos) return out;
    input.remove_prefix(at + 1);
  }
}

void check_record(const std::string& record) {
  auto parsed = parse_txt_record(record);
  if (auto* problem = std::get_if<std::string>(&parsed)) {
    FUZZ_CHECK(!problem->empty() && printable_ascii(*problem));
    return;
  }
  const std::string& id = std::get<TxtRecord>(parsed).id;
  FUZZ_CHECK(is_id(id));
  FUZZ_CHECK(begins_with_sts_version(record));
  FUZZ_CHECK(record.find("id=" + id) != std::string::npos);
  // The canonical spelling of the same record parses to the same id.
  auto canonical = parse_txt_record("v=STSv1; id=" + id + ";");
  FUZZ_CHECK(std::holds_alternative<TxtRecord>(canonical) && std::get<TxtRecord>(canonical).id == id);
}

// RFC 8461 §3.1, written out again as plainly as possible.
Discovery::Kind expected_kind(const std::vector<std::string>& records) {
  const std::string* selected = nullptr;
  std::size_t count = 0;
  for (const std::string& r : records) {
    if (r.starts_with("v=STSv1") && (r.size() == 7 || r[7] == ';' || r[7] == ' ' || r[7] == '\t')) {
      ++count;
      selected = &r;
    }
  }
  if (count == 0) return Discovery::Kind::None;
  if (count > 1) return Discovery::Kind::Invalid;
  return std::holds_alternative<TxtRecord>(parse_txt_record(*selected)) ? Discovery::Kind::Published
                                                                         : Discovery::Kind::Invalid;
}

Discovery discover_records(dns::Status status, std::vector<std::string> records) {
  dns::TxtResult answer;
  answer.status = status;
  answer.records = std::move(records);
  return discover(answer);
}

void check_discovery(const Discovery& d) {
  FUZZ_CHECK(printable_ascii(d.detail));
  FUZZ_CHECK((d.kind == Discovery::Kind::Published) == !d.id.empty());
  if (d.kind == Discovery::Kind::Published) FUZZ_CHECK(is_id(d.id) && d.detail.empty());
  if (d.kind == Discovery::Kind::Invalid || d.kind == Discovery::Kind::Temporary) FUZZ_CHECK(!d.detail.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> records = split(input, '\x01');
  for (const std::string& r : records) check_record(r);

  Discovery found = discover_records(dns::Status::Ok, records);
  check_discovery(found);
  FUZZ_CHECK(found.kind == expected_kind(records));
  if (records.size() == 1 && found.kind == Discovery::Kind::Published) {
    FUZZ_CHECK(found.id == std::get<TxtRecord>(parse_txt_record(records[0])).id);
  }

  // Records that are not MTA-STS records change nothing, wherever they are.
  std::vector<std::string> with_spf = records;
  with_spf.insert(with_spf.begin(), "v=spf1 -all");
  with_spf.push_back("google-site-verification=abc");
  Discovery with_others = discover_records(dns::Status::Ok, with_spf);
  FUZZ_CHECK(with_others.kind == found.kind && with_others.id == found.id);

  // The same answer twice: one record that begins with v=STSv1 becomes two.
  std::vector<std::string> doubled = records;
  doubled.insert(doubled.end(), records.begin(), records.end());
  Discovery twice = discover_records(dns::Status::Ok, doubled);
  FUZZ_CHECK(twice.kind == (found.kind == Discovery::Kind::None ? Discovery::Kind::None : Discovery::Kind::Invalid));

  // Whatever the records say, the status decides first: a failed lookup is never "no policy".
  for (dns::Status s : {dns::Status::Temporary, dns::Status::Malformed}) {
    Discovery d = discover_records(s, records);
    check_discovery(d);
    FUZZ_CHECK(d.kind == Discovery::Kind::Temporary);
  }
  for (dns::Status s : {dns::Status::NxDomain, dns::Status::NoData}) {
    FUZZ_CHECK(discover_records(s, {}).kind == Discovery::Kind::None);
  }
  return 0;
}

#include "policy/dns/version_record.h"

#include <string>

namespace mxguard::dns {

bool begins_with_version(std::string_view record, std::string_view version) {
  if (!record.starts_with(version)) return false;
  if (record.size() == version.size()) return true;
  char next = record[version.size()];
  return next == ';' || next == ' ' || next == '\t';
}

VersionRecord select_version_record(const TxtResult& answer, std::string_view version) {
  VersionRecord out;
  switch (answer.status) {
    case Status::NxDomain:
    case Status::NoData:
      out.kind = VersionRecord::Kind::None;
      return out;
    case Status::Temporary:
    case Status::Malformed:
      // Never None: a dropped or mangled answer must not read as "this domain publishes nothing".
      out.kind = VersionRecord::Kind::Failed;
      return out;
    case Status::Ok:
      break;
  }
  for (const std::string& record : answer.records) {
    if (!begins_with_version(record, version)) continue;   // SPF, site verification, another version
    ++out.count;
    out.text = record;
  }
  out.kind = out.count == 0   ? VersionRecord::Kind::None
             : out.count == 1 ? VersionRecord::Kind::One
                              : VersionRecord::Kind::Several;
  if (out.kind != VersionRecord::Kind::One) out.text = {};
  return out;
}

}  // namespace mxguard::dns

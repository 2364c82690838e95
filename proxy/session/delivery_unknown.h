#pragma once
// A message whose verdict never came: the far side had it whole (the final dot was sent) and then closed,
// reset or stayed silent past data_end_timeout. It may have been delivered, and the client (told 4xx, or
// gone) will send it again: a possible duplicate (RFC 1047). Neither direction can know which, so both say
// so the same way: one process-log warning and one `delivery-unknown` audit event, for the postmaster
// looking for duplicates.
#include <cstddef>
#include <cstdint>
#include <string>

#include "proxy/audit/audit_log.h"

namespace mxguard::session {

class SessionCore;

struct UnknownDelivery {
  std::string far;            // who had the message: "backend", or the MX host name
  std::string what;           // what became of it: "closed the connection", "did not answer ... in time"
  std::string from;           // the envelope sender as the client gave it ("<a@b.example>", sanitised)
  std::uint64_t size = 0;     // content bytes as sent
  std::size_t recipients = 0; // recipients the far side accepted
  std::string domain;         // outbound: the recipient domain; "" inbound
};

void report_delivery_unknown(const SessionCore& s, audit::Log* audit, const UnknownDelivery& d);

}  // namespace mxguard::session

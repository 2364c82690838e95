#pragma once
// What a session tells the rest of the process as it goes: the audit log, the process log and the
// metrics registry each implement this once, so a new counter or event never means editing every place
// a session replies, changes state or settles TLS.
#include <string>
#include <string_view>

#include "proxy/audit/events.h"
#include "proxy/smtp/reply_parser.h"

namespace mxguard::session {

class SessionCore;
enum class Phase;

enum class ReplyOrigin { Local, FarSide };

struct TlsOutcome {
  static TlsOutcome established(std::string version, std::string cipher, std::string sni, bool implicit) {
    TlsOutcome o;
    o.verdict = audit::Verdict::Established;
    o.version = std::move(version);
    o.cipher = std::move(cipher);
    o.sni = std::move(sni);
    o.implicit = implicit;
    return o;
  }
  static TlsOutcome not_established(audit::Verdict verdict, std::string reason) {
    TlsOutcome o;
    o.verdict = verdict;
    o.reason = std::move(reason);
    return o;
  }

  audit::Verdict verdict = audit::Verdict::Skipped;   // Established | Failed | Skipped
  bool implicit = false;                              // RFC 8314 listener: TLS from the first byte
  std::string version, cipher, sni;                   // Established
  std::string reason;                                 // Failed / Skipped
};

class SessionObserver {
 public:
  virtual ~SessionObserver() = default;
  virtual void on_state(const SessionCore& s, Phase from, Phase to) {}
  virtual void on_reply(const SessionCore& s, const smtp::Reply& reply, ReplyOrigin origin) {}
  virtual void on_tls(const SessionCore& s, const TlsOutcome& outcome) {}
  virtual void on_end(const SessionCore& s) {}
};

}  // namespace mxguard::session

#pragma once
// A session's command table (after OpenSMTPD's smtp_session.c): one row per verb with a check step, which
// refuses (queueing the refusal itself) and returns false, and a proceed step, which acts. Each direction
// keeps its own table of its own member functions; the lookup and the two steps are the same for all.
#include <iterator>
#include <string_view>

#include "proxy/smtp/command.h"

namespace mxguard::session {

template <typename Session>
struct VerbRule {
  smtp::Verb verb;
  bool (Session::*check)(const smtp::Command&);
  void (Session::*proceed)(const smtp::Command&, std::string_view line);   // null: check always refuses
};

// Runs the row for `command`'s verb. False when the table has no row for it (the caller answers 500).
template <typename Session, std::size_t N>
bool run_verb(Session& session, const VerbRule<Session> (&table)[N], const smtp::Command& command,
              std::string_view line) {
  for (const VerbRule<Session>& rule : table) {
    if (rule.verb != command.verb) continue;
    if ((session.*(rule.check))(command) && rule.proceed) (session.*(rule.proceed))(command, line);
    return true;
  }
  return false;
}

}  // namespace mxguard::session

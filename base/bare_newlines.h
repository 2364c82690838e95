#pragma once
// What to do with the byte sequences behind SMTP smuggling (a bare CR or LF in message content): one enum
// for the configuration (inbound.bare_newlines) and the content filter that applies it.
namespace mxguard {

enum class BareNewlines {
  Reject,     // the message is refused (550 5.5.2 after its end) and never reaches the far side
  Normalize,  // CRLF everywhere, dots re-stuffed: the far side sees only well-formed content
};

}  // namespace mxguard

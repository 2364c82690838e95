#pragma once
// Peer-supplied text on its way into the process log. A client's RCPT argument, a backend's reply (which
// Postfix fills with the client's own words), an SNI or a remote MX's banner may carry control bytes,
// ANSI escapes, C1 controls (CSI U+009B, NEL U+0085) or bidi overrides (U+202E) that forge or hide log
// lines in a terminal. Every such text goes through one function, whichever side it came from.
#include <string>
#include <string_view>

namespace mxguard::log_text {

// One line of printable ASCII: every byte outside 0x20..0x7e (so every byte of a multi-byte UTF-8
// sequence too) becomes '?'. At most `max_input` bytes of `s` are shown; a longer text ends in "...".
std::string sanitize(std::string_view s, std::size_t max_input = 256);

}  // namespace mxguard::log_text

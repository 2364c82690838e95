#pragma once
// mxguard-fetch's log: stderr is mxguard's log, so each message is one line, prefixed "mxguard-fetch: ",
// written with one write(2) so that lines of the two processes never interleave mid-line.
#include <string_view>

namespace mxguard::fetch {

void log_line(std::string_view message);

}  // namespace mxguard::fetch

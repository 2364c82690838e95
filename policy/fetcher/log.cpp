#include "policy/fetcher/log.h"

#include <unistd.h>

#include <cerrno>
#include <string>

namespace mxguard::fetch {

void log_line(std::string_view message) {
  std::string line = "mxguard-fetch: ";
  line += message;
  line += '\n';
  std::string_view rest = line;
  while (!rest.empty()) {
    ssize_t n = ::write(STDERR_FILENO, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;   // nowhere to log to: nothing else to do about it
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
}

}  // namespace mxguard::fetch

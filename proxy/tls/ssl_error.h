#pragma once
// BoringSSL's error queue as one line for a message: the reason of the oldest error, and the queue
// emptied, so the next failure does not report this one.
#include <string>

namespace mxguard::tls {

std::string last_ssl_error();

}  // namespace mxguard::tls

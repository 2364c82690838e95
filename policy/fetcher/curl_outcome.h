#pragma once
// How a finished libcurl transfer is told to mxguard: which Outcome a CURLcode is, and the detail text.
#include <curl/curl.h>

#include <string>
#include <string_view>

#include "policy/fetcher/protocol.h"

namespace mxguard::fetch {

// Certificate: the chain or the name did not verify under the CA file, or the CA file could not be read
// (either way nothing proved the server is mta-sts.<domain>). Tls: any other CURLE_SSL_* failure.
// Connect, Timeout, TooLarge (a Content-Length over CURLOPT_MAXFILESIZE): as named. Everything else,
// CURLE_OK included (the caller answers Http itself), is Failed.
Outcome outcome_of(CURLcode code);

// The text for Answer::detail: curl's error buffer when it has one (it names the cause, e.g. "SSL
// certificate problem: ..."), else curl_easy_strerror(code); one line of printable ASCII (the log shows
// it), at most 512 bytes of curl's text.
std::string detail_text(CURLcode code, std::string_view error_buffer);

}  // namespace mxguard::fetch

#pragma once
// In-memory gzip (RFC 1952) for TLS-RPT's .json.gz (RFC 8460 §5.2), and base64 for its email part.
#include <string>
#include <string_view>

namespace mxguard::audit::report {

// The gzip file of `data`. The header's mtime is 0, so the same report always gives the same bytes.
std::string gzip_compress(std::string_view data);
// What gzip_compress (or any gzip writer) made; "" with `ok` false for bytes that are not gzip.
std::string gzip_decompress(std::string_view data, bool& ok);

// RFC 2045 §6.8 base64, lines of 76 characters ending in `line_end`.
std::string base64_lines(std::string_view data, std::string_view line_end = "\n");

}  // namespace mxguard::audit::report

#include "base/log_text.h"

namespace mxguard::log_text {

std::string sanitize(std::string_view s, std::size_t max_input) {
  std::string out;
  std::string_view shown = s.substr(0, max_input);
  out.reserve(shown.size() + 3);
  for (char ch : shown) {
    auto byte = static_cast<unsigned char>(ch);
    out.push_back(byte >= 0x20 && byte < 0x7f ? ch : '?');
  }
  if (s.size() > max_input) out += "...";
  return out;
}

}  // namespace mxguard::log_text

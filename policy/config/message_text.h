#pragma once
// How configuration messages show keys and values: the "KEY" part of "FILE:LINE: KEY: MESSAGE" and quoted
// values that never carry a raw control character into a log line.
#include <toml++/toml.h>

#include <string>
#include <string_view>
#include <vector>

namespace mxguard::config {

// "\"value\"", with '"' and '\\' escaped and control characters as \xNN.
std::string quoted(std::string_view s);

// TOML bare keys are [A-Za-z0-9_-]+; any other name (a domain with dots) is shown quoted, as it is written.
bool is_bare_key(std::string_view s);
std::string join_key(std::string_view parent, std::string_view name);   // "inbound" + "limits" -> "inbound.limits"
std::string index_key(std::string_view array_key, std::size_t i);        // "inbound.listen" + 1 -> "inbound.listen[1]"
std::string one_of(const std::vector<std::string_view>& words);          // "a, b, c"

std::string type_name(const toml::node& node);   // "a string", "an array of tables", ...
int line_of(const toml::node& node);
std::string lower_first(std::string s);          // toml++'s sentences, to follow "invalid TOML: "

}  // namespace mxguard::config

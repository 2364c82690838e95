#include "policy/config/config_loader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <toml++/toml.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <string>
#include <variant>

#include "base/log_text.h"
#include "policy/config/cross_checks.h"
#include "policy/config/key_table.h"

namespace mxguard::config {

std::string ConfigError::to_string() const {
  std::string out = file;
  if (line > 0) out += out.empty() ? "line " + std::to_string(line) : ":" + std::to_string(line);
  for (const std::string* part : {&key, &message}) {
    if (part->empty()) continue;
    if (!out.empty()) out += ": ";
    out += *part;
  }
  return out;
}

namespace {

constexpr std::size_t kMaxFileSize = 4 * 1024 * 1024;

LoadResult build(const toml::table& document, std::string_view path) {
  Diagnostics diag{std::string(path)};
  Section root(diag, &document, "", 0);
  Config config;
  config.source_path = std::string(path);
  read_document(root, config);
  if (!diag.ok()) return diag.first();

  // Checks across keys only make sense once every key is valid on its own.
  check_across_keys(config, root, diag);
  if (!diag.ok()) return diag.first();
  warn_across_keys(config, root, diag);
  config.warnings = diag.take_warnings();
  return config;
}

// Reads a whole file with POSIX calls, so that every failure has an errno to explain it (a directory, a
// missing file and a permission problem each read differently).
std::variant<std::string, ConfigError> read_file(const std::string& path) {
  auto fail = [&](std::string why) { return ConfigError{path, 0, "", std::move(why)}; };
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return fail("cannot read: not a regular file");
  }
  std::string text;
  char buffer[65536];
  for (;;) {
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int saved = errno;
      close(fd);
      return fail(std::string("cannot read: ") + std::strerror(saved));
    }
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
    if (text.size() > kMaxFileSize) {
      close(fd);
      return fail("larger than 4 MiB: this is not a configuration file");
    }
  }
  close(fd);
  return text;
}

}  // namespace

LoadResult parse_config(std::string_view text, std::string_view path) {
  try {
    toml::table document = toml::parse(text, path);
    return build(document, path);
  } catch (const toml::parse_error& e) {
    return ConfigError{std::string(path), static_cast<int>(e.source().begin.line), "",
                       // toml++ quotes the bytes it saw, which may be a newline or a control byte.
                       "invalid TOML: " + lower_first(log_text::sanitize(e.description(), 512))};
  } catch (const std::exception& e) {
    // Only allocation failures can get here; the promise is that nothing escapes.
    return ConfigError{std::string(path), 0, "", std::string("cannot load: ") + e.what()};
  }
}

LoadResult load_config(const std::string& path) {
  try {
    auto file = read_file(path);
    if (auto* error = std::get_if<ConfigError>(&file)) return *error;
    return parse_config(std::get<std::string>(file), path);
  } catch (const std::exception& e) {
    return ConfigError{path, 0, "", std::string("cannot load: ") + e.what()};
  }
}

}  // namespace mxguard::config

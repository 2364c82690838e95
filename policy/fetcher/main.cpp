// mxguard-fetch: fetches MTA-STS policies over HTTPS for mxguard (design.md, "Policy engine"). mxguard
// starts it with one end of a socketpair as fd 0 and its own log as stderr, sends Requests and reads
// Answers (protocol.h). It links libcurl (GnuTLS) and never BoringSSL, and holds no key of mxguard's.
#include <CLI/CLI.hpp>
#include <curl/curl.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <uv.h>

#include <csignal>
#include <cstring>
#include <string>

#include "policy/fetcher/fetch_server.h"
#include "policy/fetcher/log.h"
#include "policy/fetcher/privileges.h"

#ifndef MXGUARD_VERSION
#define MXGUARD_VERSION "unknown"
#endif

namespace {

using namespace mxguard::fetch;

// Closes the loop on every path: handles closed by their owners need one more run for their close
// callbacks (which free them) before uv_loop_close can succeed.
class Loop {
 public:
  Loop() : ok_(uv_loop_init(&loop_) == 0) {}
  ~Loop() {
    if (!ok_) return;
    uv_run(&loop_, UV_RUN_DEFAULT);
    if (uv_loop_close(&loop_) != 0) log_line("the event loop still had open handles at exit");
  }
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;
  bool ok() const { return ok_; }
  uv_loop_t* get() { return &loop_; }

 private:
  uv_loop_t loop_{};
  bool ok_;
};

bool curl_has_https() {
  const curl_version_info_data* info = curl_version_info(CURLVERSION_NOW);
  for (const char* const* p = info->protocols; p && *p; ++p) {
    if (std::strcmp(*p, "https") == 0) return true;
  }
  return false;
}

std::string curl_versions() {
  const curl_version_info_data* info = curl_version_info(CURLVERSION_NOW);
  return std::string("libcurl/") + info->version + " " + (info->ssl_version ? info->ssl_version : "no TLS");
}

int serve(const FetchServer::Options& options, const std::string& user, bool user_given) {
  if (!curl_has_https()) {
    log_line("this libcurl cannot do HTTPS (" + curl_versions() + ")");
    return kExitFailure;
  }
  // fd 0 must be a socket: answers are written back on it.
  if (uv_guess_handle(0) != UV_NAMED_PIPE) {
    log_line("fd 0 is not a socket: mxguard-fetch is started by mxguard, with a socketpair as its stdin");
    return kExitFailure;
  }
  Loop loop;
  if (!loop.ok()) {
    log_line("cannot create the event loop");
    return kExitFailure;
  }
  std::string error;
  std::unique_ptr<FetchServer> server = FetchServer::create(loop.get(), STDIN_FILENO, options, error);
  if (!server) {
    log_line(error);
    return kExitFailure;
  }
  // Everything it needs is open now (fd 0, the loop, curl's TLS library); no request has been read.
  if (geteuid() == 0) {
    if (std::string why = drop_privileges(user); !why.empty()) {
      log_line("cannot drop root privileges: " + why);
      return kExitFailure;
    }
  } else if (user_given) {
    log_line("not started as root: --user " + user + " ignored");
  }
  if (std::string why = drop_capabilities(); !why.empty()) {
    log_line("cannot drop capabilities: " + why);
    return kExitFailure;
  }
  // No setuid binary or file capability run by curl or GnuTLS could give any of it back.
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  if (std::string why = server->start(); !why.empty()) {
    log_line(why);
    return kExitFailure;
  }
  log_line("started (" + curl_versions() + "), at most " + std::to_string(options.max_transfers) +
           " transfers at once, uid " + std::to_string(getuid()) + " gid " + std::to_string(getgid()));
  uv_run(loop.get(), UV_RUN_DEFAULT);
  return server->exit_status();   // ~FetchServer cancels what still runs, ~Loop finishes the closing
}

}  // namespace

int main(int argc, char** argv) {
  // A write to a socket mxguard closed must be an EPIPE, not a signal.
  std::signal(SIGPIPE, SIG_IGN);

  CLI::App app{"mxguard-fetch: fetches MTA-STS policies over HTTPS for mxguard, which starts it with a "
               "socketpair as its stdin (requests in, answers out) and its log as stderr"};
  app.set_version_flag("--version", "mxguard-fetch " MXGUARD_VERSION);
  std::string user = "nobody";
  FetchServer::Options options;
  options.user_agent = "mxguard-fetch/" MXGUARD_VERSION;
  auto* user_option = app.add_option("--user", user,
                                     "user to run as when started as root (it must be able to read every "
                                     "ca_file); ignored when not started as root")
                          ->capture_default_str();
  app.add_option("--max-transfers", options.max_transfers, "transfers at once; more requests wait their turn")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    log_line("curl_global_init failed");
    return kExitFailure;
  }
  int status = serve(options, user, user_option->count() > 0);
  curl_global_cleanup();
  return status;
}

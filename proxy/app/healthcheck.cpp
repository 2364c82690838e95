#include "proxy/app/healthcheck.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>

#include "policy/config/config_loader.h"
#include "proxy/smtp/reply_parser.h"

namespace mxguard::app {
namespace {

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

int fail(const std::string& what) {
  std::fprintf(stderr, "unhealthy: %s\n", what.c_str());
  return 1;
}

}  // namespace

int healthcheck(const std::string& config_path, int timeout_s) {
  auto loaded = config::load_config(config_path);
  if (auto* error = std::get_if<config::ConfigError>(&loaded)) return fail(error->to_string());
  const auto& config = std::get<config::Config>(loaded);
  if (!config.inbound.enabled || config.inbound.listen.empty()) return fail("no inbound listener configured");
  config::Endpoint ep = config.inbound.listen.front().endpoint;
  if (ep.host == "0.0.0.0" || ep.host.empty()) ep.host = "127.0.0.1";
  if (ep.host == "::") ep.host = "::1";

  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  if (int rc = getaddrinfo(ep.host.c_str(), std::to_string(ep.port).c_str(), &hints, &res); rc != 0) {
    return fail(ep.text + ": " + gai_strerror(rc));
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> owned(res, &freeaddrinfo);
  Fd sock{socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)};
  if (sock.fd < 0) return fail(std::strerror(errno));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  auto wait_for = [&](short events) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{sock.fd, events, 0};
    return left.count() > 0 && poll(&p, 1, static_cast<int>(left.count())) == 1;
  };
  if (connect(sock.fd, res->ai_addr, res->ai_addrlen) != 0 && errno != EINPROGRESS) {
    return fail("connect " + ep.text + ": " + std::strerror(errno));
  }
  if (!wait_for(POLLOUT)) return fail("connect " + ep.text + ": timed out");
  int err = 0;
  socklen_t len = sizeof err;
  getsockopt(sock.fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) return fail("connect " + ep.text + ": " + std::strerror(err));

  std::string input;
  while (true) {
    smtp::ReplyParse parsed = smtp::parse_reply(input);
    if (parsed.status == smtp::ReplyStatus::Complete) {
      if (parsed.reply.code != 220) return fail("greeting: " + parsed.reply.serialize());
      static const char kQuit[] = "QUIT\r\n";
      (void)!send(sock.fd, kQuit, sizeof kQuit - 1, MSG_NOSIGNAL);
      return 0;
    }
    if (parsed.status != smtp::ReplyStatus::NeedMore) return fail("greeting: " + parsed.error);
    if (!wait_for(POLLIN)) return fail("no greeting from " + ep.text + " within " + std::to_string(timeout_s) + "s");
    char buf[1024];
    ssize_t n = recv(sock.fd, buf, sizeof buf, 0);
    if (n <= 0) return fail("connection closed before the greeting");
    input.append(buf, static_cast<std::size_t>(n));
  }
}

}  // namespace mxguard::app

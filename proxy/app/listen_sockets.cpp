#include "proxy/app/listen_sockets.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace mxguard::app {
namespace {

std::variant<int, std::string> bind_one(const config::Endpoint& ep) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  std::string port = std::to_string(ep.port);
  int gai = getaddrinfo(ep.host.empty() ? nullptr : ep.host.c_str(), port.c_str(), &hints, &res);
  if (gai != 0) return "cannot listen on " + ep.text + ": " + gai_strerror(gai);
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> owned(res, &freeaddrinfo);
  int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return "cannot listen on " + ep.text + ": " + std::strerror(errno);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  // "[::]:25" and "0.0.0.0:25" are listed separately in the configuration: keep the v6 socket v6-only.
  if (res->ai_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (bind(fd, res->ai_addr, res->ai_addrlen) != 0) {
    std::string why = std::strerror(errno);
    close(fd);
    return "cannot listen on " + ep.text + ": " + why;
  }
  return fd;
}

}  // namespace

std::variant<std::vector<std::vector<int>>, std::string> bind_listeners(const std::vector<config::Endpoint>& endpoints,
                                                                        unsigned workers) {
  std::vector<std::vector<int>> fds(workers);
  auto close_all = [&] {
    for (auto& list : fds)
      for (int fd : list) close(fd);
  };
  for (const auto& ep : endpoints) {
    for (unsigned w = 0; w < workers; ++w) {
      auto bound = bind_one(ep);
      if (auto* error = std::get_if<std::string>(&bound)) {
        close_all();
        return *error;
      }
      fds[w].push_back(std::get<int>(bound));
    }
  }
  return fds;
}

}  // namespace mxguard::app

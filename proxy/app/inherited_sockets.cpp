#include "proxy/app/inherited_sockets.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>

#include "proxy/app/listen_sockets.h"
#include "proxy/smtp/proxy_header.h"

namespace mxguard::app {
namespace {

constexpr int kFirstFd = 3;   // SD_LISTEN_FDS_START

std::optional<long> env_number(const char* name) {
  const char* text = std::getenv(name);
  if (!text || !*text) return std::nullopt;
  long value = 0;
  auto [end, ec] = std::from_chars(text, text + std::strlen(text), value);
  if (ec != std::errc() || *end != '\0' || value < 0) return std::nullopt;
  return value;
}

bool is_listening_tcp(int fd) {
  int type = 0, listening = 0;
  socklen_t len = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM) return false;
  len = sizeof listening;
  return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 && listening != 0;
}

std::string local_text(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return "?";
  return smtp::address_with_port(addr);
}

// The address an endpoint binds, resolved as bind_listeners resolves it (the first passive result).
std::optional<sockaddr_storage> endpoint_address(const config::Endpoint& ep) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  std::string port = std::to_string(ep.port);
  if (getaddrinfo(ep.host.empty() ? nullptr : ep.host.c_str(), port.c_str(), &hints, &res) != 0) return std::nullopt;
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> owned(res, &freeaddrinfo);
  sockaddr_storage addr{};
  std::memcpy(&addr, res->ai_addr, std::min<std::size_t>(res->ai_addrlen, sizeof addr));
  return addr;
}

bool same_address(int fd, const sockaddr_storage& want) {
  sockaddr_storage have{};
  socklen_t len = sizeof have;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&have), &len) != 0 || have.ss_family != want.ss_family) return false;
  if (have.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(have);
    const auto& b = reinterpret_cast<const sockaddr_in&>(want);
    return a.sin_port == b.sin_port && a.sin_addr.s_addr == b.sin_addr.s_addr;
  }
  if (have.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(have);
    const auto& b = reinterpret_cast<const sockaddr_in6&>(want);
    return a.sin6_port == b.sin6_port && std::memcmp(&a.sin6_addr, &b.sin6_addr, sizeof a.sin6_addr) == 0;
  }
  return false;
}

}  // namespace

InheritedSockets take_inherited_sockets() {
  InheritedSockets out;
  long count = 0;
  if (auto ours = env_number("MXGUARD_LISTEN_FDS")) {
    // uv_spawn cannot know the child's pid before it runs, so our own handover has no LISTEN_PID: the
    // variable is removed below, before anything else could inherit it.
    count = *ours;
    out.source = "the previous mxguard";
    if (auto ready = env_number("MXGUARD_READY_FD")) out.ready_fd = static_cast<int>(*ready);
  } else if (auto fds = env_number("LISTEN_FDS")) {
    // systemd's protocol (sd_listen_fds(3)): meant for this process only if LISTEN_PID names it.
    auto pid = env_number("LISTEN_PID");
    if (pid && *pid == static_cast<long>(getpid())) {
      count = *fds;
      out.source = "systemd";
    }
  }
  for (const char* name : {"LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "MXGUARD_LISTEN_FDS", "MXGUARD_READY_FD"}) {
    unsetenv(name);
  }
  if (out.ready_fd >= 0) fcntl(out.ready_fd, F_SETFD, FD_CLOEXEC);
  for (int fd = kFirstFd; fd < kFirstFd + count; ++fd) {
    if (fd == out.ready_fd) continue;
    fcntl(fd, F_SETFD, FD_CLOEXEC);   // never into the fetcher or a later successor by accident
    if (!is_listening_tcp(fd)) {
      out.problems.push_back("descriptor " + std::to_string(fd) + " is not a listening TCP socket: ignored");
      continue;
    }
    out.fds.push_back(fd);
  }
  if (out.fds.empty() && out.problems.empty() && out.ready_fd < 0) out.source.clear();
  return out;
}

std::variant<WorkerSockets, std::string> assemble_listeners(const std::vector<config::Endpoint>& endpoints,
                                                           unsigned workers, InheritedSockets& inherited,
                                                           std::vector<std::string>& unused) {
  WorkerSockets out(workers, std::vector<std::vector<int>>(endpoints.size()));
  std::vector<bool> taken(inherited.fds.size(), false);
  std::vector<config::Endpoint> to_bind;
  std::vector<std::size_t> to_bind_index;
  for (std::size_t e = 0; e < endpoints.size(); ++e) {
    std::vector<int> mine;
    if (auto addr = endpoint_address(endpoints[e])) {
      for (std::size_t i = 0; i < inherited.fds.size(); ++i) {
        if (!taken[i] && same_address(inherited.fds[i], *addr)) {
          taken[i] = true;
          mine.push_back(inherited.fds[i]);
        }
      }
    }
    if (mine.empty()) {
      to_bind.push_back(endpoints[e]);
      to_bind_index.push_back(e);
      continue;
    }
    // One socket per worker where there are enough (the predecessor's SO_REUSEPORT set); else the
    // workers share them (systemd's one socket per address): each accepts from a dup of its own.
    for (std::size_t i = 0; i < mine.size(); ++i) out[i % workers][e].push_back(mine[i]);
    for (unsigned w = static_cast<unsigned>(mine.size()); w < workers; ++w) {
      out[w][e].push_back(fcntl(mine[w % mine.size()], F_DUPFD_CLOEXEC, kFirstFd));
    }
  }
  for (std::size_t i = 0; i < inherited.fds.size(); ++i) {
    if (taken[i]) continue;
    unused.push_back(local_text(inherited.fds[i]));
    close(inherited.fds[i]);   // an address the configuration no longer names
  }
  inherited.fds.clear();
  if (to_bind.empty()) return out;
  auto bound = bind_listeners(to_bind, workers);
  if (auto* error = std::get_if<std::string>(&bound)) return *error;
  auto& fresh = std::get<std::vector<std::vector<int>>>(bound);
  for (unsigned w = 0; w < workers; ++w) {
    for (std::size_t k = 0; k < to_bind.size(); ++k) out[w][to_bind_index[k]].push_back(fresh[w][k]);
  }
  return out;
}

}  // namespace mxguard::app

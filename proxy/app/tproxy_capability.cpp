#include "proxy/app/tproxy_capability.h"

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace mxguard::app {
namespace {

bool uses_tproxy(const config::Config& config) {
  return config.inbound.enabled && config.inbound.backend_protocol == config::BackendProtocol::Tproxy;
}

// The effective set of this thread (all threads share it here: mxguard never changes it per thread).
// glibc has no wrapper for capget, and libcap would be a dependency for one call.
bool has_effective(int capability) {
  __user_cap_header_struct header{};
  header.version = _LINUX_CAPABILITY_VERSION_3;
  header.pid = 0;
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3]{};
  if (syscall(SYS_capget, &header, data) != 0) return false;
  return (data[CAP_TO_INDEX(capability)].effective & CAP_TO_MASK(capability)) != 0;
}

}  // namespace

std::optional<std::string> tproxy_note(const config::Config& config) {
  if (!uses_tproxy(config)) return std::nullopt;
  return "inbound.backend_protocol = \"tproxy\": mxguard connects to the backend from each client's own "
         "address (IP_TRANSPARENT), which needs CAP_NET_ADMIN in the running process (systemd: "
         "deploy/systemd/tproxy.conf); the backend's replies to client addresses must be routed back "
         "through this host, which hands them to mxguard by policy routing (deploy/firewall/tproxy-*, "
         "deploy/README.md)";
}

std::optional<std::string> tproxy_capability_warning(const config::Config& config) {
  if (!uses_tproxy(config) || has_effective(CAP_NET_ADMIN) || has_effective(CAP_NET_RAW)) return std::nullopt;
  return "inbound.backend_protocol: \"tproxy\" needs CAP_NET_ADMIN, and this process (uid " +
         std::to_string(geteuid()) + ") does not have it: every connection to the backend will fail with "
         "\"operation not permitted\" and clients get 421 4.3.2 (systemd: AmbientCapabilities=CAP_NET_ADMIN, "
         "deploy/systemd/tproxy.conf)";
}

}  // namespace mxguard::app

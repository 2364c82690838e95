#include "policy/fetcher/privileges.h"

#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace mxguard::fetch {

std::string drop_privileges(const std::string& user) {
  errno = 0;
  const passwd* entry = getpwnam(user.c_str());
  if (!entry) {
    return "user " + user + ": " + (errno != 0 ? std::strerror(errno) : "no such user");
  }
  uid_t uid = entry->pw_uid;
  gid_t gid = entry->pw_gid;
  if (uid == 0) return "user " + user + " is root";
  // Groups first: after setuid there is no right left to change them.
  if (setgroups(0, nullptr) != 0) return std::string("setgroups: ") + std::strerror(errno);
  if (setgid(gid) != 0) return "setgid(" + std::to_string(gid) + "): " + std::strerror(errno);
  if (setuid(uid) != 0) return "setuid(" + std::to_string(uid) + "): " + std::strerror(errno);
  if (getuid() != uid || geteuid() != uid || getgid() != gid || getegid() != gid) {
    return "the process still has other ids after setuid";
  }
  if (setuid(0) == 0) return "root could be regained after setuid";
  return {};
}

std::string drop_capabilities() {
  // Ambient first: capset would refuse to leave an ambient capability outside the permitted set.
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
    return std::string("clearing the ambient capabilities: ") + std::strerror(errno);
  }
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct none[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capset, &header, none) != 0) return std::string("capset: ") + std::strerror(errno);
  return {};
}

}  // namespace mxguard::fetch

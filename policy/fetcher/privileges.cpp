#include "policy/fetcher/privileges.h"

#include <grp.h>
#include <pwd.h>
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

}  // namespace mxguard::fetch

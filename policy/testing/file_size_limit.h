#pragma once
// Test support: a write that fails part-way, as on a full disk, without a full disk. For the scope, files
// cannot grow past `bytes` (RLIMIT_FSIZE), and SIGXFSZ is ignored so that the write fails with EFBIG
// instead of killing the test. Header-only, for the tests of policy/ and proxy/ alike.
#include <sys/resource.h>

#include <csignal>

namespace mxguard::testing {

class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    ::getrlimit(RLIMIT_FSIZE, &saved_);
    previous_ = ::signal(SIGXFSZ, SIG_IGN);
    rlimit small = saved_;
    small.rlim_cur = bytes;
    ok_ = ::setrlimit(RLIMIT_FSIZE, &small) == 0;
  }
  ~FileSizeLimit() { lift(); }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;

  bool ok() const { return ok_; }
  // Ends the limit before the scope does ("the disk has room again").
  void lift() {
    if (!ok_) return;
    ::setrlimit(RLIMIT_FSIZE, &saved_);
    ::signal(SIGXFSZ, previous_);
    ok_ = false;
  }

 private:
  rlimit saved_{};
  sighandler_t previous_{};
  bool ok_ = false;
};

}  // namespace mxguard::testing

#include "proxy/app/successor.h"

#include <csignal>
#include <cstring>
#include <string_view>

extern char** environ;

namespace mxguard::app {

namespace {
constexpr int kFirstFd = 3;
constexpr std::size_t kMaxHeard = 256;   // "ready PID\n" is all that is ever said
}  // namespace

Successor::Successor(uv_loop_t* loop, Hooks hooks)
    : hooks_(std::move(hooks)), patience_(loop, [this] {
        if (process_.initialized()) uv_process_kill(process_.get(), SIGTERM);
        fail("the new process (pid " + std::to_string(pid_) + ") did not say it was ready in time: sent SIGTERM");
      }) {}

std::variant<std::unique_ptr<Successor>, std::string> Successor::start(uv_loop_t* loop, std::vector<std::string> argv,
                                                                      const std::vector<int>& listen_fds,
                                                                      std::chrono::seconds patience, Hooks hooks) {
  std::unique_ptr<Successor> self(new Successor(loop, std::move(hooks)));
  if (int rc = uv_pipe_init(loop, self->channel_.get(), 0); rc != 0) return std::string(uv_strerror(rc));
  self->channel_.mark_initialized();
  self->channel_.get()->data = self.get();

  // Our environment, minus anything a predecessor handed to us, plus where the sockets are.
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string_view entry(*e);
    if (entry.starts_with("MXGUARD_LISTEN_FDS=") || entry.starts_with("MXGUARD_READY_FD=") ||
        entry.starts_with("LISTEN_")) {
      continue;
    }
    env.emplace_back(entry);
  }
  int ready_fd = kFirstFd + static_cast<int>(listen_fds.size());
  env.push_back("MXGUARD_LISTEN_FDS=" + std::to_string(listen_fds.size()));
  env.push_back("MXGUARD_READY_FD=" + std::to_string(ready_fd));
  std::vector<char*> envp, args;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);

  // Child fds: 0-2 ours, 3.. the listening sockets in order, then the channel's end.
  std::vector<uv_stdio_container_t> stdio(static_cast<std::size_t>(ready_fd) + 1);
  for (int fd = 0; fd < kFirstFd; ++fd) {
    stdio[fd].flags = UV_INHERIT_FD;
    stdio[fd].data.fd = fd;
  }
  for (std::size_t i = 0; i < listen_fds.size(); ++i) {
    stdio[kFirstFd + i].flags = UV_INHERIT_FD;
    stdio[kFirstFd + i].data.fd = listen_fds[i];
  }
  stdio[ready_fd].flags = static_cast<uv_stdio_flags>(UV_CREATE_PIPE | UV_WRITABLE_PIPE);
  stdio[ready_fd].data.stream = self->channel_.stream();

  uv_process_options_t options{};
  options.file = args[0];
  options.args = args.data();
  options.env = envp.data();
  options.stdio_count = static_cast<int>(stdio.size());
  options.stdio = stdio.data();
  // Its own session: a Ctrl-C or a hang-up meant for this process does not reach the one taking over.
  options.flags = UV_PROCESS_DETACHED;
  options.exit_cb = [](uv_process_t* p, std::int64_t status, int signal) {
    auto* s = static_cast<Successor*>(p->data);
    if (!s) return;
    std::string how = signal != 0 ? "was killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")"
                                  : "exited with status " + std::to_string(status);
    s->fail("the new process (pid " + std::to_string(s->pid_) + ") " + how);
  };
  int rc = uv_spawn(loop, self->process_.get(), &options);
  self->process_.mark_initialized();   // initialised even when uv_spawn fails: it must be closed
  if (rc != 0) {
    self->process_.get()->data = nullptr;
    return "cannot start " + argv[0] + ": " + uv_strerror(rc);
  }
  self->process_.get()->data = self.get();
  self->pid_ = self->process_.get()->pid;
  uv_read_start(
      self->channel_.stream(),
      [](uv_handle_t*, std::size_t, uv_buf_t* buf) {
        static char storage[kMaxHeard];   // the main loop's thread only
        *buf = uv_buf_init(storage, sizeof storage);
      },
      [](uv_stream_t* stream, ssize_t n, const uv_buf_t* buf) {
        auto* s = static_cast<Successor*>(stream->data);
        if (n > 0) {
          s->on_bytes(std::string_view(buf->base, static_cast<std::size_t>(n)));
        } else if (n < 0) {
          // Closed without a word: it is exiting (its status follows in exit_cb), or it is a process
          // that forgot to say so, which the patience timer ends.
          s->channel_.close();
        }
      });
  self->patience_.start(std::chrono::duration_cast<std::chrono::milliseconds>(patience));
  return self;
}

Successor::~Successor() { close(); }

void Successor::close() {
  *alive_ = false;
  if (process_.initialized()) process_.get()->data = nullptr;   // the process lives on; we stop listening
  process_.close();
  channel_.close();
  patience_.close();
}

void Successor::on_bytes(std::string_view bytes) {
  if (settled_) return;
  heard_.append(bytes.substr(0, kMaxHeard - std::min(kMaxHeard, heard_.size())));
  if (heard_.find('\n') == std::string::npos) return;
  if (!heard_.starts_with("ready ")) {
    fail("the new process (pid " + std::to_string(pid_) + ") said something else than ready");
    return;
  }
  settled_ = true;
  patience_.stop();
  auto alive = alive_;
  hooks_.ready(pid_);
  if (*alive) channel_.close();
}

void Successor::fail(const std::string& why) {
  if (settled_) return;
  settled_ = true;
  patience_.stop();
  auto alive = alive_;
  hooks_.failed(why);
  if (*alive) channel_.close();
}

}  // namespace mxguard::app

"""Descriptors at the process limit (issue 19), two ways:

- DescriptorExhaustion: mxguard starts under `prlimit --nofile` with a small limit, so its descriptor budget
  (descriptor_budget.h) caps the sessions and turns the rest away with 421 at the door, before accept()
  could fail; clients hold sessions open (each costs mxguard two descriptors: the client and its backend
  connection);
- AcceptAtTheLimit: accept() itself fails with EMFILE, the running process's limit lowered to the
  descriptors it holds (prlimit on its pid, as a leak elsewhere in the process would leave it). mxguard
  says so once per streak, keeps serving the sessions it has, leaves new connections waiting in the
  listen queue without a busy loop, and serves them once sessions end and descriptors are free again.
"""
import os
import resource
import socket
import time
import unittest

from fixtures import ports
from fixtures.hardening import HardeningTestCase, message

LIMIT = 64


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def lowest_free_descriptor(pid):
    """The descriptor number the process's next open/socket/accept would get."""
    used = {int(n) for n in os.listdir(f"/proc/{pid}/fd")}
    return next(n for n in range(len(used) + 1) if n not in used)


class DescriptorExhaustion(HardeningTestCase):
    def setUp(self):
        super().setUp()
        self.be = self.start_backend()
        cfg = self.config(self.be.port, limits={"max_connections": 1000, "max_connections_per_ip": 1000})
        self.mx = self.start_mxguard(cfg, wrapper=["prlimit", f"--nofile={LIMIT}:{LIMIT}", "--"])

    def test_sessions_go_on_new_clients_are_turned_away_and_it_recovers(self):
        keeper = self.connect()   # a session that must keep working through it all
        self.wait_log_line(f"the file descriptor limit (RLIMIT_NOFILE {LIMIT}) allows about")
        idle = []
        turned_away = 0
        refused_421 = 0
        for _ in range(LIMIT):
            s = socket.create_connection(("127.0.0.1", self.mx.listen_ports[0]), timeout=5)
            idle.append(s)
            try:
                data = s.recv(512)
            except (socket.timeout, ConnectionResetError):
                data = b""
            if not data.startswith(b"220"):
                turned_away += 1
                refused_421 += data.startswith(b"421")
        self.assertGreater(turned_away, 0, "no client was turned away: the limit was never reached")
        self.assertGreater(refused_421, 0, "nobody was told 421")
        self.wait_log_line("refused: too many connections for the process's file descriptors")
        # The budget refuses at the door, so accept() itself does not fail here (AcceptAtTheLimit below
        # makes it fail); a connection that met EMFILE would wait in the listen queue and count as
        # turned away by its recv() timeout.

        before = cpu_seconds(self.mx.proc.pid)
        time.sleep(2)
        spent = cpu_seconds(self.mx.proc.pid) - before
        self.assertLess(spent, 0.5, f"mxguard used {spent:.2f} s of CPU in 2 s at the descriptor limit (a busy loop)")

        self.assertReply(keeper.command("MAIL FROM:<alice@example.org>"), 250)
        self.assertReply(keeper.command("RCPT TO:<bob@example.test>"), 250)
        self.assertReply(keeper.command("DATA"), 354)
        keeper.send(message("at the limit") + b".\r\n")
        self.assertReply(keeper.read_reply(), 250)

        for s in idle:
            s.close()
        def served():
            try:
                c = self.connect()
            except (AssertionError, OSError):
                return False
            self.assertReply(c.command("QUIT"), 221)
            return True
        ports.wait_until(served, 20, "a new session once descriptors were free again")

    def wait_log_line(self, words, timeout=15):
        ports.wait_until(lambda: any(words in l for l in self.mx.log().splitlines()), timeout,
                         lambda: f"a log line with {words!r}:\n{self.mx.log()[-3000:]}")


class AcceptAtTheLimit(HardeningTestCase):
    WAITING = 5   # clients that connect while accept() fails
    IDLE = 6      # sessions whose end frees the descriptors the waiting ones need (two each)

    def setUp(self):
        super().setUp()
        self.be = self.start_backend()
        self.mx = self.start_mxguard(self.config(self.be.port))

    def log_lines(self, words):
        return [l for l in self.mx.log().splitlines() if words in l]

    def test_accept_failing_with_emfile_is_said_once_waits_without_spinning_and_recovers(self):
        keeper = self.connect()   # a session that must keep working through it all
        idle = [self.connect(ehlo=False) for _ in range(self.IDLE)]
        pid = self.mx.proc.pid
        soft, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
        self.addCleanup(lambda: self.mx.running() and resource.prlimit(pid, resource.RLIMIT_NOFILE, (soft, hard)))
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (lowest_free_descriptor(pid), hard))

        # The kernel completes these connections in the listen queue; mxguard cannot take them.
        waiting = [self.open() for _ in range(self.WAITING)]
        self.assertLogged(r"worker 0: cannot accept connections on 127\.0\.0\.1:\d+: Too many open files "
                          r"\(the process's file descriptor limit, RLIMIT_NOFILE \d+: raise LimitNOFILE")

        before = cpu_seconds(pid)
        time.sleep(2)   # four retries of the paused listener
        spent = cpu_seconds(pid) - before
        self.assertLess(spent, 0.5, f"mxguard used {spent:.2f} s of CPU in 2 s while accept() failed (a busy loop)")
        self.assertEqual(len(self.log_lines("cannot accept connections")), 1,
                         "one line per streak of failed accepts, not one per retry or connection\n" + self.diag())
        for c in waiting:
            self.assertSilent(c)   # waiting in the queue: neither greeted nor closed

        self.assertReply(keeper.command("MAIL FROM:<alice@example.org>"), 250)
        self.assertReply(keeper.command("RCPT TO:<bob@example.test>"), 250)
        self.assertReply(keeper.command("DATA"), 354)
        keeper.send(message("while accept fails") + b".\r\n")
        self.assertReply(keeper.read_reply(), 250)

        for c in idle:   # sessions end: their descriptors are free again
            c.close()
        for c in waiting:   # served from the queue, not dropped
            self.assertReply(c.read_reply(), 220)
            self.assertReply(c.command("QUIT"), 221)
        self.assertLogged(r"worker 0: accepting connections on 127\.0\.0\.1:\d+ again \(after \d+ pause")
        self.assertEqual(len(self.log_lines("cannot accept connections")), 1, self.diag())


if __name__ == "__main__":
    unittest.main()

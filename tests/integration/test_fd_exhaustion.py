"""Descriptors at the process limit (issue 19): when accept() fails with EMFILE, mxguard keeps serving
the sessions it has, turns new clients away without a busy loop, says so in its log, and serves again
once descriptors are free. mxguard runs under `prlimit --nofile` with a small limit; clients hold
sessions open (each costs mxguard two descriptors: the client and its backend connection)."""
import os
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
        # The rest (refused sessions still closing hold descriptors too) were closed at accept by libuv,
        # which keeps a reserve descriptor for that: closed without a word, never left hanging.

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


if __name__ == "__main__":
    unittest.main()

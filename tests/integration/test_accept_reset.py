"""A client that resets its connection before mxguard accepted it leaves no anonymous trace: Linux still
hands such a connection to accept(), but its peer address can no longer be read. mxguard must not log a
`disconnect from ?:0` (a disconnect without a `connect from`, naming nobody); the slot limits are not
leaked, no backend connection is opened for it, and the next client is served.

To make the resets land before the accept, mxguard (one worker) is stopped with SIGSTOP while the kernel
completes the clients' handshakes, the clients reset (SO_LINGER 0), and then mxguard continues."""
import os
import re
import signal
import socket
import struct
import unittest

from fixtures import ports
from fixtures.hardening import HardeningTestCase

CLIENTS = 20


class ResetBeforeAccept(HardeningTestCase):
    def setUp(self):
        super().setUp()
        self.be = self.start_backend()
        self.mx = self.start_mxguard(self.config(self.be.port, limits={"max_connections_per_ip": 5}))
        self.addCleanup(self.mx.signal, signal.SIGCONT)   # whatever happens, never leave it stopped

    def stopped(self):
        """Every thread of mxguard is stopped: the signal is delivered asynchronously, and a worker that
        still runs would accept the first client before its reset (a real session, with a backend)."""
        tasks = f"/proc/{self.mx.proc.pid}/task"
        for tid in os.listdir(tasks):
            with open(f"{tasks}/{tid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] not in ("T", "t"):
                    return False
        return True

    def test_clients_reset_before_accept_log_no_disconnect_without_a_connect(self):
        self.mx.signal(signal.SIGSTOP)
        ports.wait_until(self.stopped, 10, "mxguard stopped by SIGSTOP")
        clients = [socket.create_connection(("127.0.0.1", self.mx.listen_ports[0]), timeout=10)
                   for _ in range(CLIENTS)]                # handshakes done by the kernel, not accepted yet
        for s in clients:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()                                       # RST while still in the accept queue
        self.mx.signal(signal.SIGCONT)

        c = self.connect()                                  # served after the resets were dealt with
        self.assertReply(c.command("QUIT"), 221)
        self.assertClosed(c)
        self.assertLogged(r"disconnect from 127\.0\.0\.1:\d+")
        self.be.wait_all_closed()
        self.assertEqual(len(self.be.connections), 1, "a backend connection for a client that was already gone")

        log = self.mx.log().splitlines()
        connected = {m.group(1) for l in log for m in [re.search(r"\[(\w+)\] connect from ", l)] if m}
        disconnected = [m.group(1) for l in log for m in [re.search(r"\[(\w+)\] disconnect from ", l)] if m]
        self.assertEqual([s for s in disconnected if s not in connected], [],
                         "sessions with a disconnect line but no connect line (e.g. 'disconnect from ?:0'):\n"
                         + "\n".join(log[-30:]))


if __name__ == "__main__":
    unittest.main()

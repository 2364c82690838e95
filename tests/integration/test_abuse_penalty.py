"""inbound.limits.abuse_penalty: once a session is ended for abuse (max_junk_commands, max_errors, talking
before the greeting), new connections from its address (its network, with abuse_penalty_ipv4_prefix / _ipv6_prefix: the IPv6
/64 by default) get `421 4.7.0 ... too many errors from your address` at once, without a backend connection, until the penalty is over; other addresses are served as
before. A flood that reconnects as fast as it is closed (the benchmark's rcpt and noop floods) then costs
a refusal at the door per connection instead of a whole session. Off by default."""
import re
import threading
import unittest

from fixtures.hardening import HardeningTestCase, code_runs


class AbusePenalty(HardeningTestCase):
    def start(self, backend=None, **limits):
        self.be = self.start_backend(**(backend or {}))
        self.mx = self.start_mxguard(self.config(self.be.port, limits=limits))

    def end_for_junk(self, source):
        c = self.connect(source=source)
        c.send(b"NOOP\r\n" * 4)
        replies, closed = self.read_until_closed(c, timeout=10)
        self.assertEqual(code_runs(replies), [(250, 3), (421, 1)], self.diag())
        self.assertReply(replies[-1], 421, "4.7.0", "too many junk commands")
        self.assertTrue(closed)

    def refused_at_the_door(self, source):
        c = self.open(source=source)
        replies, closed = self.read_until_closed(c, timeout=10)
        self.assertEqual(len(replies), 1, self.diag())
        self.assertReply(replies[0], 421, "4.7.0", "too many errors from your address")
        self.assertTrue(closed, "the refused connection stayed open")

    def test_an_address_ended_for_junk_is_refused_at_the_door_and_another_is_served(self):
        self.start(max_junk_commands=3, abuse_penalty="1h")
        self.end_for_junk("127.0.0.2")
        self.assertLogged(r"127\.0\.0\.2 gets 421 for new connections for 3600s: too many junk commands")
        backend_connections = len(self.be.connections)
        for _ in range(12):
            self.refused_at_the_door("127.0.0.2")
        # The 1st and the 10th refusal are logged, not each one.
        self.assertLogged(r"refused: 127\.0\.0\.2 is serving an abuse penalty \(10 refused so far\)")
        self.assertEqual(len(re.findall(r"is serving an abuse penalty", self.mx.log())), 2, self.diag())
        # Nor a connect/disconnect pair for each of the others: 1 session + the 1st and 10th refusal.
        self.assertEqual(len(re.findall(r"\] connect from 127\.0\.0\.2", self.mx.log())), 3, self.diag())
        self.assertEqual(len(self.be.connections), backend_connections, "a refused connection reached the backend")
        # Another address is not affected.
        c = self.connect(source="127.0.0.3")
        self.assertReply(c.command("NOOP"), 250)
        self.assertReply(c.command("QUIT"), 221)

    def test_an_early_talker_is_penalized_too(self):
        # The backend greets only once the bot has spoken, so that it certainly spoke first.
        gate = threading.Event()
        self.start(backend={"greeting_gate": gate}, abuse_penalty="1h")
        c = self.open(source="127.0.0.4")
        c.send(b"EHLO bot.test\r\n")   # before the greeting
        replies, _ = self.read_until_closed(c, timeout=10)
        gate.set()
        self.assertIn(554, [r.code for r in replies], self.diag())
        self.assertLogged(r"127\.0\.0\.4 gets 421 for new connections for 3600s: it talked before the greeting")
        self.refused_at_the_door("127.0.0.4")

    def test_too_many_errors_is_penalized_too(self):
        self.start(max_errors=2, abuse_penalty="1h")
        c = self.connect(source="127.0.0.5")
        for _ in range(3):
            c.send(b"BOGUS\r\n")
        replies, closed = self.read_until_closed(c, timeout=10)
        self.assertEqual(replies[-1].code, 421, [r.raw for r in replies])
        self.assertLogged(r"127\.0\.0\.5 gets 421 for new connections for 3600s: too many errors")
        self.refused_at_the_door("127.0.0.5")

    def test_a_penalty_covers_the_network_of_the_configured_prefix(self):
        # On loopback the IPv4 prefix shows what the IPv6 default of /64 does for an IPv6 client: every
        # address of the penalized network is refused, one outside it is served.
        self.start(max_junk_commands=3, abuse_penalty="1h", abuse_penalty_ipv4_prefix=30)
        self.end_for_junk("127.0.0.9")   # 127.0.0.8/30: .8 to .11
        self.assertLogged(r"127\.0\.0\.9 \(127\.0\.0\.8/30\) gets 421 for new connections for 3600s")
        backend_connections = len(self.be.connections)
        self.refused_at_the_door("127.0.0.10")
        self.refused_at_the_door("127.0.0.11")
        self.assertLogged(r"refused: 127\.0\.0\.10 \(127\.0\.0\.8/30\) is serving an abuse penalty")
        self.assertEqual(len(self.be.connections), backend_connections, "a refused connection reached the backend")
        c = self.connect(source="127.0.0.12")
        self.assertReply(c.command("QUIT"), 221)

    def test_off_by_default_the_next_connection_is_served(self):
        self.start(max_junk_commands=3)
        self.end_for_junk("127.0.0.6")
        c = self.connect(source="127.0.0.6")
        self.assertReply(c.command("QUIT"), 221)
        self.assertEqual(re.findall(r"abuse penalty|gets 421 for new connections", self.mx.log()), [], self.diag())


if __name__ == "__main__":
    unittest.main()

"""The backend's greeting is relayed; a backend that cannot be reached or stays silent gives the client
`421 4.3.2` and the connection is closed (contract 1)."""
import time
import unittest

from fixtures import ports
from fixtures.base import IntegrationTestCase
from fixtures.smtpwire import SmtpWire


class BackendFailures(IntegrationTestCase):
    def test_backend_greeting_is_relayed_to_the_client(self):
        be = self.start_backend(greeting=b"220 legacy.example.test ESMTP the-legacy-greeting\r\n")
        mx = self.start_mxguard(self.config(be.port))
        with SmtpWire("127.0.0.1", mx.listen_ports[0]) as c:
            greeting = c.read_reply()
            self.assertEqual(greeting.code, 220, self.diag())
            self.assertIn("legacy.example.test ESMTP the-legacy-greeting", greeting.text)
            self.assertEqual(c.command("QUIT").code, 221)

    def test_backend_down_gives_421_4_3_2_and_closes(self):
        dead_port = ports.free_port()   # nothing listens there
        mx = self.start_mxguard(self.config(dead_port))
        with SmtpWire("127.0.0.1", mx.listen_ports[0]) as c:
            reply = c.read_reply()
            self.assertEqual(reply.code, 421, f"{reply}\n{self.diag()}")
            self.assertTrue(reply.lines[0].startswith("4.3.2"), reply)
            self.assertEqual(c.read_until_closed(timeout=10), b"", "connection must close after the 421")

    def test_silent_backend_gives_421_after_greeting_timeout(self):
        be = self.start_backend(greet=False)
        mx = self.start_mxguard(self.config(be.port, limits={"greeting_timeout": 2}))
        start = time.monotonic()
        with SmtpWire("127.0.0.1", mx.listen_ports[0], timeout=30) as c:
            reply = c.read_reply()
            elapsed = time.monotonic() - start
            self.assertEqual(reply.code, 421, f"{reply}\n{self.diag()}")
            self.assertTrue(reply.lines[0].startswith("4.3.2"), reply)
            self.assertGreaterEqual(elapsed, 1.5, "the 421 came before greeting_timeout (2 s) expired")
            self.assertLess(elapsed, 15, "the 421 came long after greeting_timeout (2 s)")
            self.assertEqual(c.read_until_closed(timeout=10), b"", "connection must close after the 421")
        be.wait_connections(1)

    def test_backend_closing_before_greeting_gives_421(self):
        be = self.start_backend(close_on_connect=True)
        mx = self.start_mxguard(self.config(be.port))
        with SmtpWire("127.0.0.1", mx.listen_ports[0]) as c:
            reply = c.read_reply()
            self.assertEqual(reply.code, 421, f"{reply}\n{self.diag()}")
            self.assertEqual(c.read_until_closed(timeout=10), b"", "connection must close after the 421")

    def test_backend_coming_back_is_used_by_the_next_session(self):
        port = ports.free_port()
        mx = self.start_mxguard(self.config(port))
        with SmtpWire("127.0.0.1", mx.listen_ports[0]) as c:
            self.assertEqual(c.read_reply().code, 421)
        self.start_backend(port=port)   # the backend comes up on the configured port
        with SmtpWire("127.0.0.1", mx.listen_ports[0]) as c:
            self.assertEqual(c.read_reply().code, 220, self.diag())


if __name__ == "__main__":
    unittest.main()

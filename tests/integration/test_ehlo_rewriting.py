"""The EHLO reply the client sees (contract 2): the backend's first line kept; STARTTLS offered before
TLS and never after; the backend's own STARTTLS, CHUNKING, XCLIENT, XFORWARD and unknown extensions
dropped; PIPELINING, SIZE, 8BITMIME and ENHANCEDSTATUSCODES kept. STARTTLS itself is answered by mxguard
and never reaches the backend (contract 3)."""
import unittest

from fixtures.base import ProxiedBackendTestCase
from fixtures.smtpwire import SmtpWire

KEPT = {"PIPELINING", "SIZE", "8BITMIME", "ENHANCEDSTATUSCODES"}
DROPPED = {"CHUNKING", "XCLIENT", "XFORWARD", "X-SCRIPTED-UNKNOWN-EXTENSION"}


class EhloRewriting(ProxiedBackendTestCase):
    def setUp(self):
        super().setUp()
        self.client = SmtpWire("127.0.0.1", self.mx.listen_ports[0])
        self.addCleanup(self.client.close)
        self.assertEqual(self.client.read_reply().code, 220, self.diag())

    def assertWellFormedMultiline(self, reply):
        lines = reply.raw.split(b"\r\n")[:-1]
        for line in lines[:-1]:
            self.assertTrue(line.startswith(b"250-"), reply.raw)
        self.assertTrue(lines[-1].startswith(b"250 "), reply.raw)

    def test_ehlo_before_tls_offers_starttls_and_hides_backend_only_extensions(self):
        reply = self.client.command("EHLO client.test")
        self.assertEqual(reply.code, 250, reply)
        self.assertWellFormedMultiline(reply)
        self.assertEqual(reply.lines[0], "backend.test Hello from the scripted backend",
                         "the backend's first EHLO line must be kept")
        keywords = reply.keywords()
        self.assertEqual(keywords.count("STARTTLS"), 1, f"exactly one STARTTLS expected: {reply.lines}")
        for k in KEPT:
            self.assertIn(k, keywords, f"{k} must be kept: {reply.lines}")
        for k in DROPPED:
            self.assertNotIn(k, keywords, f"{k} must be dropped: {reply.lines}")
        size = [l for l in reply.lines if l.upper().startswith("SIZE")]
        self.assertEqual(size, ["SIZE 10240000"], "the backend's (smaller) SIZE limit must be shown")
        self.assertIn(b"EHLO client.test", self.be.commands(), "EHLO must be relayed to the backend")

    def test_ehlo_after_tls_does_not_offer_starttls(self):
        self.client.command("EHLO client.test")
        reply = self.client.command("STARTTLS")
        self.assertEqual((reply.code, reply.raw), (220, b"220 2.0.0 Ready to start TLS\r\n"))
        self.client.starttls()
        reply = self.client.command("EHLO client.test")
        self.assertEqual(reply.code, 250, reply)
        self.assertWellFormedMultiline(reply)
        keywords = reply.keywords()
        self.assertNotIn("STARTTLS", keywords, f"STARTTLS must never be offered after TLS: {reply.lines}")
        for k in KEPT:
            self.assertIn(k, keywords, f"{k} must be kept after TLS: {reply.lines}")
        for k in DROPPED:
            self.assertNotIn(k, keywords, f"{k} must be dropped after TLS: {reply.lines}")
        self.assertEqual(self.client.command("QUIT").code, 221)

    def test_starttls_is_answered_by_mxguard_and_never_forwarded(self):
        self.client.command("EHLO client.test")
        self.assertEqual(self.client.command("MAIL FROM:<before-tls@sender.example>").code, 250)
        self.assertEqual(self.client.command("STARTTLS").code, 220)
        self.client.starttls()
        self.client.command("EHLO client.test")
        self.assertEqual(self.client.command("QUIT").code, 221)
        self.be.wait_all_closed()
        verbs = self.be.verbs()
        self.assertNotIn(b"STARTTLS", verbs, f"STARTTLS reached the backend: {self.be.commands()}")
        # mxguard resets the backend's plaintext transaction itself: an RSET the client never sent,
        # after the plaintext MAIL and before the post-TLS EHLO.
        self.assertIn(b"RSET", verbs, f"no RSET at the backend after STARTTLS: {self.be.commands()}")
        self.assertLess(verbs.index(b"MAIL"), verbs.index(b"RSET"))
        self.assertLess(verbs.index(b"RSET"), len(verbs) - 1 - verbs[::-1].index(b"EHLO"))

    def test_second_starttls_after_tls_is_not_offered_nor_forwarded(self):
        self.client.command("EHLO client.test")
        self.assertEqual(self.client.command("STARTTLS").code, 220)
        self.client.starttls()
        self.client.command("EHLO client.test")
        reply = self.client.command("STARTTLS")
        self.assertGreaterEqual(reply.code, 500, f"STARTTLS inside TLS must be refused, got {reply}")
        self.assertEqual(self.client.command("QUIT").code, 221)
        self.be.wait_all_closed()
        self.assertNotIn(b"STARTTLS", self.be.verbs(), self.be.commands())


if __name__ == "__main__":
    unittest.main()

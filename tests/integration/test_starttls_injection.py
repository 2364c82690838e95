"""STARTTLS command injection (CVE-2011-0411 class, contract 4): plaintext bytes that follow STARTTLS
are discarded and logged, never reach the backend; the TLS session that follows works normally."""
import re
import unittest

from fixtures.base import ProxiedBackendTestCase
from fixtures.smtpwire import SmtpWire

MESSAGE = b"From: alice@sender.example\r\nTo: bob@example.test\r\nSubject: after TLS\r\n\r\nhello\r\n"


class StarttlsInjection(ProxiedBackendTestCase):
    def connect(self):
        c = SmtpWire("127.0.0.1", self.mx.listen_ports[0])
        self.addCleanup(c.close)
        self.assertEqual(c.read_reply().code, 220, self.diag())
        self.assertEqual(c.command("EHLO client.test").code, 250)
        return c

    def transaction_over_tls(self, c):
        self.assertEqual(c.command("EHLO client.test").code, 250, self.diag())
        c.send(b"MAIL FROM:<alice@sender.example>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n")
        self.assertEqual([r.code for r in c.read_replies(3)], [250, 250, 354], self.diag())
        c.send(MESSAGE + b".\r\n")
        self.assertEqual(c.read_reply().code, 250, self.diag())
        self.assertEqual(c.command("QUIT").code, 221)

    def test_pipelined_mail_after_starttls_never_reaches_backend(self):
        c = self.connect()
        c.send(b"STARTTLS\r\nMAIL FROM:<evil@injected.example>\r\nRCPT TO:<victim@injected.example>\r\n")
        reply = c.read_reply()
        self.assertEqual((reply.code, reply.raw), (220, b"220 2.0.0 Ready to start TLS\r\n"), self.diag())
        c.starttls()   # fails if anything (e.g. replies to the injected commands) followed the 220
        self.transaction_over_tls(c)
        self.be.wait_all_closed()
        received = self.be.received_all()
        self.assertNotIn(b"injected.example", received, f"injected plaintext reached the backend:\n{self.be.describe()}")
        self.assertNotIn(b"STARTTLS", received)
        # ...and the TLS session then worked normally: its commands and content reached the backend.
        verbs = self.be.verbs()
        after_reset = verbs[verbs.index(b"RSET") + 1:] if b"RSET" in verbs else verbs
        self.assertEqual(after_reset, [b"EHLO", b"MAIL", b"RCPT", b"DATA", b"QUIT"], self.be.commands())
        self.assertIn(b"MAIL FROM:<alice@sender.example>", self.be.commands())
        self.assertEqual(self.be.messages(), [MESSAGE])

    def test_injected_plaintext_is_logged(self):
        c = self.connect()
        c.send(b"STARTTLS\r\nMAIL FROM:<evil@injected.example>\r\n")
        self.assertEqual(c.read_reply().code, 220)
        c.starttls()
        self.assertEqual(c.command("EHLO client.test").code, 250)
        self.assertEqual(c.command("QUIT").code, 221)
        self.mx.wait_log(r"(?i)inject|discard")
        event = self.mx.wait_audit(event="plaintext-injection")
        self.assertEqual(event.get("direction"), "inbound", event)

    def test_plaintext_written_separately_after_starttls_never_reaches_backend(self):
        # The injected command comes in its own write, right behind STARTTLS, without waiting for the 220.
        # Whether mxguard sees it before or after switching to TLS, it must never be executed: either it
        # is discarded, or it is garbage inside the TLS handshake (which then fails).
        c = self.connect()
        c.send(b"STARTTLS\r\n")
        c.send(b"MAIL FROM:<evil@injected.example>\r\n")
        self.assertEqual(c.read_reply().code, 220)
        c.close()
        self.be.wait_all_closed(timeout=20)
        self.assertNotIn(b"injected.example", self.be.received_all(), self.be.describe())

    def test_injection_before_the_backend_answered_pending_commands_never_reaches_backend(self):
        # STARTTLS pipelined behind a command the backend still has to answer (RFC 2920 group), then
        # injected plaintext: the 220 comes after the NOOP's reply, and the injection is still dropped.
        c = self.connect()
        c.send(b"NOOP\r\nSTARTTLS\r\nRCPT TO:<victim@injected.example>\r\n")
        first, second = c.read_replies(2)
        self.assertEqual(first.code, 250, self.diag())
        self.assertEqual((second.code, second.raw), (220, b"220 2.0.0 Ready to start TLS\r\n"))
        c.starttls()
        self.transaction_over_tls(c)
        self.be.wait_all_closed()
        self.assertNotIn(b"injected.example", self.be.received_all(), self.be.describe())
        self.assertEqual(self.be.messages(), [MESSAGE])


if __name__ == "__main__":
    unittest.main()

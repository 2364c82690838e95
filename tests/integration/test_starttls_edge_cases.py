"""STARTTLS edge cases: arguments (501 5.5.4), STARTTLS inside TLS (554 5.5.1, never advertised after
TLS), plaintext injection in a second write and behind a pipelined group (never reaches the backend),
ALPN: "http/1.1" refused with an alert (ALPACA), "smtp" accepted. The existing test_starttls_injection.py
covers injection in the same write as STARTTLS."""
import ssl
import unittest

from fixtures.base import ProxiedBackendTestCase
from fixtures.hardening import HardeningTestCase
from fixtures.smtpwire import insecure_context

MESSAGE = b"From: <alice@sender.example>\r\nTo: <bob@example.test>\r\nSubject: tls\r\n\r\nhello\r\n"


class StarttlsEdgeCases(HardeningTestCase, ProxiedBackendTestCase):
    def deliver(self, c):
        self.start_data(c)
        c.send(MESSAGE + b".\r\n")
        self.assertReply(c.read_reply(), 250)
        self.assertReply(c.command("QUIT"), 221)
        self.be.wait_all_closed()
        self.assertEqual(self.be.messages(), [MESSAGE], self.be.describe())

    def test_starttls_with_argument_gets_501_and_is_not_forwarded(self):
        c = self.connect()
        self.assertReply(c.command("STARTTLS now"), 501, "5.5.4")
        self.assertReply(c.command("NOOP"), 250)   # still plaintext, still working
        self.starttls(c)                           # a proper STARTTLS afterwards works
        self.deliver(c)
        self.assertNotIn(b"STARTTLS", self.be.received_all(), self.be.describe())
        self.assertEqual(self.be.verbs(), [b"EHLO", b"NOOP", b"RSET", b"EHLO", b"MAIL", b"RCPT", b"DATA", b"QUIT"])

    def test_starttls_after_tls_gets_554_and_is_not_advertised(self):
        c = self.connect()
        ehlo = self.starttls(c)
        self.assertNotIn("STARTTLS", ehlo.keywords(), ehlo.lines)
        self.assertReply(c.command("STARTTLS"), 554, "5.5.1")
        self.assertReply(c.command("STARTTLS"), 554, "5.5.1")
        self.assertReply(c.command("EHLO again.test"), 250)
        self.deliver(c)   # the TLS session goes on normally
        self.assertNotIn(b"STARTTLS", self.be.received_all(), self.be.describe())

    def test_plaintext_in_a_second_write_before_the_220_never_reaches_backend(self):
        c = self.connect()
        c.send(b"STARTTLS\r\n")
        c.send(b"MAIL FROM:<evil@x>\r\n")          # its own segment (TCP_NODELAY), before reading the 220
        self.assertEqual(c.read_reply().raw, b"220 2.0.0 Ready to start TLS\r\n", self.diag())
        raw = c.sock.dup()
        self.addCleanup(raw.close)
        # The injected bytes were discarded (handshake works) or landed inside the handshake (it fails):
        # never executed either way. When they land inside it, mxguard's TLS alert (a record starting
        # 0x15 0x03) may already be buffered behind the 220: that is TLS, not plaintext.
        if c.buf.startswith(b"\x15\x03"):
            handshake_ok = False
        else:
            try:
                c.starttls()
                handshake_ok = True
            except (ssl.SSLError, OSError):
                handshake_ok = False
        if handshake_ok:
            self.assertReply(c.command("EHLO client.test"), 250)
            self.deliver(c)
            event = self.mx.wait_audit(event="plaintext-injection")
            self.assertEqual(event.get("verdict"), "discarded", event)
        else:
            self.assertClosed(raw, allow_bytes=True)
        self.be.wait_all_closed()
        self.assertNotIn(b"evil@x", self.be.received_all(), self.be.describe())
        self.assertNotIn(b"MAIL FROM:<evil", b"\n".join(self.be.commands()))

    def test_injection_behind_a_pipelined_group_never_reaches_backend(self):
        c = self.open()
        self.assertReply(c.read_reply(), 220)
        c.send(b"EHLO x\r\nNOOP\r\nSTARTTLS\r\nRSET\r\nMAIL FROM:<evil@x>\r\n")
        self.assertReply(c.read_reply(), 250)          # EHLO
        self.assertReply(c.read_reply(), 250)          # NOOP
        self.assertEqual(c.read_reply().raw, b"220 2.0.0 Ready to start TLS\r\n", self.diag())
        c.starttls()   # raises if anything (e.g. replies to RSET or MAIL) followed the 220
        self.assertReply(c.command("EHLO client.test"), 250)
        self.assertReply(c.command("QUIT"), 221)
        self.be.wait_all_closed()
        # Before TLS the backend got EHLO, NOOP and mxguard's own RSET: not the client's RSET, not MAIL.
        self.assertEqual(self.be.commands(), [b"EHLO x", b"NOOP", b"RSET", b"EHLO client.test", b"QUIT"],
                         self.be.describe())
        self.assertNotIn(b"evil@x", self.be.received_all())
        event = self.mx.wait_audit(event="plaintext-injection")
        self.assertEqual(event.get("bytes"), len(b"RSET\r\nMAIL FROM:<evil@x>\r\n"), event)

    def test_alpn_http_is_refused_with_an_alert(self):
        c = self.connect()
        self.assertEqual(c.command("STARTTLS").code, 220)
        ctx = insecure_context()
        ctx.set_alpn_protocols(["http/1.1"])
        raw = c.sock.dup()   # a failed wrap_socket() closes the original socket object
        self.addCleanup(raw.close)
        with self.assertRaises(ssl.SSLError) as cm:
            c.starttls(ctx)
        self.assertIn("ALERT NO APPLICATION PROTOCOL", str(cm.exception).upper().replace("_", " "), cm.exception)
        self.assertClosed(raw, allow_bytes=True)   # mxguard closes after its alert
        event = self.mx.wait_audit(event="starttls", verdict="failed")
        self.assertEqual(event.get("direction"), "inbound", event)
        self.be.wait_all_closed()
        # mxguard's RSET waits for the first command inside TLS, and there never was one.
        self.assertEqual(self.be.verbs(), [b"EHLO"], self.be.describe())

    def test_alpn_http_and_h2_without_smtp_is_refused(self):
        c = self.connect()
        self.assertEqual(c.command("STARTTLS").code, 220)
        ctx = insecure_context()
        ctx.set_alpn_protocols(["h2", "http/1.1"])
        raw = c.sock.dup()
        self.addCleanup(raw.close)
        with self.assertRaises(ssl.SSLError) as cm:
            c.starttls(ctx)
        self.assertIn("ALERT NO APPLICATION PROTOCOL", str(cm.exception).upper().replace("_", " "), cm.exception)
        self.assertClosed(raw, allow_bytes=True)

    def test_alpn_smtp_is_accepted(self):
        c = self.connect()
        self.assertEqual(c.command("STARTTLS").code, 220)
        ctx = insecure_context()
        ctx.set_alpn_protocols(["smtp"])
        tls = c.starttls(ctx)
        self.assertEqual(tls.selected_alpn_protocol(), "smtp")
        self.assertReply(c.command("EHLO client.test"), 250)
        self.deliver(c)
        self.mx.wait_audit(event="starttls", verdict="established")

    def test_alpn_smtp_among_others_is_selected(self):
        c = self.connect()
        self.assertEqual(c.command("STARTTLS").code, 220)
        ctx = insecure_context()
        ctx.set_alpn_protocols(["http/1.1", "smtp"])
        tls = c.starttls(ctx)
        self.assertEqual(tls.selected_alpn_protocol(), "smtp")
        self.assertReply(c.command("EHLO client.test"), 250)
        self.assertReply(c.command("QUIT"), 221)
        self.assertClosed(c)

if __name__ == "__main__":
    unittest.main()

"""Implicit TLS (RFC 8314 §3.3, "submissions" style, e.g. port 465): an inbound.listen entry
`{ address = "...", tls = "implicit" }` next to a plain one. On the implicit port the client starts TLS at
once (no greeting, no STARTTLS first; its ClientHello is not an early talker), then gets the backend's 220
inside TLS; EHLO offers no STARTTLS but does offer AUTH when the backend does (AUTH is shown only inside
TLS); mail is delivered. The plain port still does STARTTLS as before. A plaintext client on the implicit
port never gets a plaintext SMTP reply, and its bytes never reach the backend."""
import ssl
import unittest

from fixtures import ports
from fixtures.hardening import HardeningTestCase, message
from fixtures.scripted_backend import DEFAULT_EHLO_KEYWORDS


class ImplicitTls(HardeningTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ca = cls.class_ca()
        cls.leaf = cls.ca.issue("mx", "mx.test", ["mx.test"])

    def setUp(self):
        super().setUp()
        self.be = self.start_backend(ehlo_keywords=DEFAULT_EHLO_KEYWORDS + ["AUTH PLAIN LOGIN"])
        self.starttls_port, self.implicit_port = ports.free_port(), ports.free_port()
        cfg = self.config(self.be.port, certificates=[self.leaf])
        cfg["inbound"]["listen"] = [f"127.0.0.1:{self.starttls_port}",
                                    {"address": f"127.0.0.1:{self.implicit_port}", "tls": "implicit"}]
        cfg["inbound"]["limits"]["tls_handshake_timeout"] = 5
        self.mx = self.start_mxguard(cfg)

    def verifying_context(self):
        return ssl.create_default_context(cafile=self.ca.cert)   # the configured certificate, checked

    def test_implicit_port_greets_inside_tls_offers_auth_not_starttls_and_delivers(self):
        c = self.open(port=self.implicit_port, tls_context=self.verifying_context(), server_hostname="mx.test")
        self.assertReply(c.read_reply(), 220, text="scripted backend")
        ehlo = self.assertReply(c.command("EHLO client.test"), 250)
        self.assertNotIn("STARTTLS", ehlo.keywords(), ehlo.lines)
        self.assertIn("AUTH", ehlo.keywords(), ehlo.lines)
        self.assertReply(c.command("STARTTLS"), 554, "5.5.1")   # TLS is already on
        content = message("over implicit TLS")
        self.start_data(c)
        c.send(content + b".\r\n")
        self.assertReply(c.read_reply(), 250)
        self.assertReply(c.command("QUIT"), 221)
        self.be.wait_all_closed()
        self.assertEqual(self.be.messages(), [content])
        self.assertNotIn(b"STARTTLS", b"\n".join(self.be.commands()))
        self.mx.stop()
        verdicts = [e for e in self.mx.audit_events() if e.get("verdict") in ("established", "skipped", "failed")]
        self.assertEqual([e["verdict"] for e in verdicts], ["established"], self.mx.audit_events())
        self.assertIn("1.", str(verdicts[0].get("tls_version")), verdicts[0])

    def test_starttls_port_still_offers_starttls_and_hides_auth_before_tls(self):
        c = self.open(port=self.starttls_port)
        self.assertReply(c.read_reply(), 220)
        ehlo = self.assertReply(c.command("EHLO client.test"), 250)
        self.assertIn("STARTTLS", ehlo.keywords(), ehlo.lines)
        self.assertNotIn("AUTH", ehlo.keywords(), ehlo.lines)
        inside = self.starttls(c)
        self.assertNotIn("STARTTLS", inside.keywords(), inside.lines)
        self.assertIn("AUTH", inside.keywords(), inside.lines)
        self.assertReply(c.command("QUIT"), 221)

    def test_plaintext_client_on_the_implicit_port_gets_no_smtp_and_reaches_no_backend(self):
        c = self.open(port=self.implicit_port)
        c.send(b"EHLO client.test\r\nMAIL FROM:<plain@sender.example>\r\n")
        received = self.assertClosed(c, timeout=15, allow_bytes=True)   # a TLS alert at most
        self.assertNotIn(b"220", received)
        self.assertNotIn(b"250", received)
        self.assertNotIn(b"client.test", self.be.received_all(), self.be.describe())
        self.assertNotIn(b"plain@sender", self.be.received_all(), self.be.describe())


if __name__ == "__main__":
    unittest.main()

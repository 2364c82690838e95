"""How TLS sessions begin and end, as the audit log and the backend see them: an abandoned handshake is a
failed STARTTLS (not "skipped"), a client must EHLO again inside TLS before MAIL (RFC 3207 §4.2), and a
client-chosen SNI cannot forge lines in mxguard's log."""
import subprocess
import unittest

from fixtures import tools
from fixtures.base import IntegrationTestCase
from fixtures.smtpwire import SmtpWire


class SessionEnd(IntegrationTestCase):
    def setUp(self):
        super().setUp()
        self.be = self.start_backend()
        cfg = self.config(self.be.port)
        cfg["inbound"]["limits"]["tls_handshake_timeout"] = 2
        self.mx = self.start_mxguard(cfg)

    def connect(self):
        c = SmtpWire("127.0.0.1", self.mx.listen_ports[0])
        self.addCleanup(c.close)
        self.assertEqual(c.read_reply().code, 220)
        self.assertEqual(c.command("EHLO client.test").code, 250)
        return c

    def test_client_that_closes_after_the_220_is_audited_as_a_failed_starttls(self):
        c = self.connect()
        self.assertEqual(c.command("STARTTLS").code, 220)
        c.close()
        event = self.mx.wait_audit(event="starttls", verdict="failed")
        self.assertIn("closed", event["reason"])
        self.assertEqual([e["verdict"] for e in self.mx.audit_events() if e["event"] == "starttls"], ["failed"])

    def test_client_that_never_starts_the_handshake_times_out_as_failed(self):
        c = self.connect()
        self.assertEqual(c.command("STARTTLS").code, 220)
        self.assertEqual(c.read_until_closed(timeout=10), b"")
        event = self.mx.wait_audit(event="starttls", verdict="failed")
        self.assertIn("timed out", event["reason"])

    def test_mail_inside_tls_before_a_new_ehlo_is_refused(self):
        c = self.connect()
        self.assertEqual(c.command("STARTTLS").code, 220)
        c.starttls()
        reply = c.command("MAIL FROM:<alice@sender.example>")
        self.assertEqual((reply.code, reply.lines[0][:5]), (503, "5.5.1"))
        self.assertEqual(c.command("EHLO client.test").code, 250)
        self.assertEqual(c.command("MAIL FROM:<alice@sender.example>").code, 250)
        c.command("QUIT")
        self.be.wait_all_closed()
        mails = [l for l in self.be.commands() if l.startswith(b"MAIL")]
        self.assertEqual(mails, [b"MAIL FROM:<alice@sender.example>"], self.be.describe())

    def test_sni_with_a_line_break_cannot_forge_a_log_line(self):
        # Python's ssl refuses such a server name; openssl s_client sends the bytes as given.
        forged = "evil.example\n2026-01-01T00:00:00.000Z info [forged] this line is forged"
        openssl = tools.require("openssl")
        subprocess.run([openssl, "s_client", "-connect", f"127.0.0.1:{self.mx.listen_ports[0]}",
                        "-starttls", "smtp", "-servername", forged, "-brief"],
                       input=b"QUIT\r\n", capture_output=True, timeout=20)
        self.mx.wait_log(r"TLS established: .* sni=evil\.example\?2026")
        self.assertNotRegex(self.mx.log(), r"(?m)^2026-01-01T00:00:00.000Z info \[forged\]")

if __name__ == "__main__":
    unittest.main()

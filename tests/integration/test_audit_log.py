"""The audit log (contract 7): JSON lines; inbound STARTTLS gives event "starttls" with verdict
"established" (tls_version, cipher) or "failed" (reason); a session without STARTTLS gives "skipped";
discarded plaintext after STARTTLS gives "plaintext-injection". Every event has ts."""
import re
import ssl
import unittest

from fixtures.base import ProxiedBackendTestCase
from fixtures.ports import wait_until
from fixtures.smtpwire import SmtpWire, insecure_context

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


class AuditLog(ProxiedBackendTestCase):
    def connect(self):
        # from 127.0.0.2, so that `peer` is recognisably the client's address
        c = SmtpWire("127.0.0.1", self.mx.listen_ports[0], source_address=("127.0.0.2", 0))
        self.addCleanup(c.close)
        self.assertEqual(c.read_reply().code, 220, self.diag())
        self.assertEqual(c.command("EHLO client.test").code, 250)
        return c

    def assertCommonFields(self, event):
        for key in ("ts", "event", "direction", "session", "peer"):
            self.assertIn(key, event, f"audit event without {key}: {event}")
        self.assertRegex(event["ts"], RFC3339)
        self.assertEqual(event["direction"], "inbound", event)
        self.assertIn("127.0.0.2", str(event["peer"]), event)
        self.assertTrue(str(event["session"]), event)

    def test_established_starttls_is_audited_with_tls_version_and_cipher(self):
        c = self.connect()
        self.assertEqual(c.command("STARTTLS").code, 220)
        tls = c.starttls(insecure_context(minimum=ssl.TLSVersion.TLSv1_3))
        cipher = tls.cipher()[0]
        self.assertEqual(c.command("EHLO client.test").code, 250)
        self.assertEqual(c.command("QUIT").code, 221)
        event = self.mx.wait_audit(event="starttls", verdict="established")
        self.assertCommonFields(event)
        self.assertIn("1.3", str(event.get("tls_version")), event)
        self.assertTrue(event.get("cipher"), event)
        # TLS 1.3 suites have one name in every convention (IANA = OpenSSL = BoringSSL)
        self.assertEqual(event["cipher"], cipher, event)

    def test_tls12_session_is_audited_with_its_version(self):
        c = self.connect()
        self.assertEqual(c.command("STARTTLS").code, 220)
        c.starttls(insecure_context(maximum=ssl.TLSVersion.TLSv1_2))
        self.assertEqual(c.command("QUIT").code, 221)
        event = self.mx.wait_audit(event="starttls", verdict="established")
        self.assertIn("1.2", str(event.get("tls_version")), event)

    def test_session_ending_without_starttls_is_audited_as_skipped(self):
        c = self.connect()
        self.assertEqual(c.command("QUIT").code, 221)
        event = self.mx.wait_audit(event="starttls", verdict="skipped")
        self.assertCommonFields(event)
        self.assertEqual([e for e in self.mx.audit_events() if e.get("verdict") == "established"], [])

    def test_failed_handshake_is_audited_as_failed_with_reason(self):
        c = self.connect()
        self.assertEqual(c.command("STARTTLS").code, 220)
        c.send(b"this is not a TLS ClientHello\r\n" * 4)
        c.read_until_closed(timeout=15)
        event = self.mx.wait_audit(event="starttls", verdict="failed")
        self.assertCommonFields(event)
        self.assertTrue(event.get("reason"), f"failed verdict without a reason: {event}")

    def test_plaintext_injection_is_audited_in_the_same_session(self):
        c = self.connect()
        c.send(b"STARTTLS\r\nMAIL FROM:<evil@injected.example>\r\n")
        self.assertEqual(c.read_reply().code, 220)
        c.starttls()
        self.assertEqual(c.command("EHLO client.test").code, 250)
        self.assertEqual(c.command("QUIT").code, 221)
        injection = self.mx.wait_audit(event="plaintext-injection")
        established = self.mx.wait_audit(event="starttls", verdict="established")
        self.assertCommonFields(injection)
        self.assertEqual(injection["session"], established["session"], (injection, established))

    def test_each_session_has_its_own_session_id(self):
        for _ in range(2):
            c = self.connect()
            self.assertEqual(c.command("QUIT").code, 221)
            c.close()
        skipped = wait_until(lambda: self.skipped_events() if len(self.skipped_events()) >= 2 else None, 15,
                             lambda: f"two skipped events in {self.mx.audit_events()}")
        self.assertNotEqual(skipped[0]["session"], skipped[1]["session"], skipped)

    def skipped_events(self):
        return [e for e in self.mx.audit_events() if e.get("event") == "starttls" and e.get("verdict") == "skipped"]

    def test_each_session_gets_exactly_one_starttls_verdict(self):
        established = self.connect()
        self.assertEqual(established.command("STARTTLS").code, 220)
        established.starttls()
        self.assertEqual(established.command("QUIT").code, 221)
        failed = self.connect()
        self.assertEqual(failed.command("STARTTLS").code, 220)
        failed.send(b"this is not a TLS ClientHello\r\n" * 4)
        failed.read_until_closed(timeout=15)
        skipped = self.connect()
        self.assertEqual(skipped.command("QUIT").code, 221)
        for c in (established, failed, skipped):
            c.close()
        self.assertEqual(self.mx.stop(), 0, self.mx.log())   # every session over, every event written
        verdicts = {}
        for e in self.mx.audit_events():
            if e.get("event") == "starttls":
                verdicts.setdefault(e["session"], []).append(e["verdict"])
        self.assertEqual(sorted(verdicts.values()), [["established"], ["failed"], ["skipped"]],
                         f"one TLS verdict per session expected: {self.mx.audit_events()}")

    def test_every_line_is_a_json_object_with_ts(self):
        c = self.connect()
        c.send(b"STARTTLS\r\nNOOP\r\n")
        self.assertEqual(c.read_reply().code, 220)
        c.starttls()
        self.assertEqual(c.command("QUIT").code, 221)
        self.mx.wait_audit(event="starttls", verdict="established")
        self.mx.wait_audit(event="plaintext-injection")
        for event in self.mx.audit_events():   # audit_events() fails on a line that is not JSON
            self.assertIsInstance(event, dict)
            self.assertRegex(event.get("ts", ""), RFC3339, event)


if __name__ == "__main__":
    unittest.main()

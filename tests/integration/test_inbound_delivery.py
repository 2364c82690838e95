"""Mail delivered through mxguard into a real (plaintext-only) Postfix, compared byte for byte with what
was sent (contracts 3, 5): swaks --tls, Python smtplib with starttls, a scripted pipelining client; lines
starting with dots, long lines, 8-bit content (8BITMIME), a message of a few MiB."""
import hashlib
import random
import smtplib
import unittest

from fixtures import clients
from fixtures.base import IntegrationTestCase
from fixtures.smtpwire import SmtpWire, insecure_context

CRLF = b"\r\n"


def message(subject, body_lines, extra_headers=()):
    headers = [b"From: Alice <alice@sender.example>", b"To: Bob <bob@example.test>",
               b"Subject: " + subject.encode(), b"Message-ID: <" + subject.replace(" ", "-").encode() + b"@sender.example>",
               b"Date: Mon, 23 Nov 2026 12:00:00 +0000", *extra_headers]
    return CRLF.join(headers) + CRLF + CRLF + CRLF.join(body_lines) + CRLF


TRICKY_BODY = [
    b"Lines that start with dots must survive dot-stuffing:",
    b".one leading dot",
    b"..two leading dots",
    b"...three",
    b".",
    b" . not at the start",
    b"a line with trailing spaces   ",
    b"\ttab-indented line",
    b"",
    b"a" * 998,                                   # the RFC 5321 maximum line length (without CRLF)
    b"long " * 1000,                              # 5000 bytes: longer than RFC, within mxguard's limit
    b"the end.",
]


class InboundDelivery(IntegrationTestCase):
    @classmethod
    def setUpClass(cls):
        cls.ca = cls.class_ca()
        cls.leaf = cls.ca.issue("mx", "mx.test", ["mx.test"])
        cls.pf = cls.start_class_postfix()

    def setUp(self):
        super().setUp()
        self.mx = self.start_mxguard(self.config(self.pf.port, certificates=[self.leaf]))
        self.port = self.mx.listen_ports[0]

    def assertSameBytes(self, expected, actual):
        if expected == actual:
            return
        i = next((k for k in range(min(len(expected), len(actual))) if expected[k] != actual[k]),
                 min(len(expected), len(actual)))
        self.fail(f"delivered message differs from what was sent at byte {i} (sent {len(expected)} bytes, "
                  f"delivered {len(actual)}):\n sent:      {expected[max(0, i - 80):i + 80]!r}\n"
                  f" delivered: {actual[max(0, i - 80):i + 80]!r}\n{self.diag()}")

    def delivered(self, user, count):
        """The newest message of `user` once `count` messages are there."""
        self.pf.wait_delivered(user, count)
        return self.pf.last_message(user)

    def count(self, user):
        return len(self.pf.messages(user))

    def test_swaks_with_starttls_delivers_message_byte_for_byte(self):
        n = self.count("bob")
        msg = message("swaks tls", TRICKY_BODY)
        path = f"{self.tmp}/swaks.eml"
        with open(path, "wb") as f:
            f.write(msg[:-2])   # swaks appends CRLF.CRLF itself: the file must not end in CRLF
        r = clients.swaks(self.port, "bob@example.test", data_file=path, tls=True,
                          extra=["--tls-verify", "--tls-ca-path", self.ca.cert, "--tls-sni", "mx.test"])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr + self.diag())
        self.assertIn("TLS started", r.stdout, "swaks did not negotiate TLS:\n" + r.stdout)
        self.assertIn("~> QUIT", r.stdout, "the transaction did not run inside TLS:\n" + r.stdout)
        self.assertSameBytes(msg.replace(CRLF, b"\n"), self.delivered("bob", n + 1))

    def test_smtplib_starttls_delivers_dots_long_lines_and_8bit_content_byte_for_byte(self):
        n = self.count("bob")
        body = TRICKY_BODY + ["8-bit: caf\u00e9, gr\u00fc\u00dfe, \u65e5\u672c\u8a9e".encode(), bytes(range(0x80, 0x100))]
        msg = message("smtplib 8bit", body, [b"MIME-Version: 1.0", b"Content-Type: text/plain; charset=utf-8",
                                              b"Content-Transfer-Encoding: 8bit"])
        with smtplib.SMTP("127.0.0.1", self.port, local_hostname="client.test", timeout=30) as s:
            s.ehlo()
            self.assertTrue(s.has_extn("starttls"))
            s.starttls(context=insecure_context())
            s.ehlo()
            self.assertTrue(s.has_extn("8bitmime"), s.esmtp_features)
            self.assertFalse(s.has_extn("starttls"), s.esmtp_features)
            refused = s.sendmail("alice@sender.example", ["bob@example.test"], msg, mail_options=["BODY=8BITMIME"])
            self.assertEqual(refused, {})
        self.assertSameBytes(msg.replace(CRLF, b"\n"), self.delivered("bob", n + 1))

    def test_message_of_several_mib_is_delivered_intact(self):
        n = self.count("alice")
        rng = random.Random(20261123)
        alphabet = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:-"
        lines, size = [], 0
        while size < 3 * 1024 * 1024:
            line = bytes(rng.choice(alphabet) for _ in range(rng.randint(0, 200)))
            if rng.random() < 0.05:
                line = b"." + line          # dot-stuffed on the wire
            lines.append(line)
            size += len(line) + 2
        msg = message("large", lines, [b"X-Test: large"]).replace(b"To: Bob <bob@", b"To: Alice <alice@")
        with smtplib.SMTP("127.0.0.1", self.port, local_hostname="client.test", timeout=60) as s:
            s.starttls(context=insecure_context())
            self.assertEqual(s.sendmail("bob@sender.example", ["alice@example.test"], msg), {})
        delivered = self.delivered("alice", n + 1)
        expected = msg.replace(CRLF, b"\n")
        if hashlib.sha256(expected).digest() != hashlib.sha256(delivered).digest():
            self.assertSameBytes(expected, delivered)

    def test_pipelined_transaction_over_tls_reaches_every_recipient(self):
        counts = {u: self.count(u) for u in ("bob", "alice", "catchall")}
        msg = message("pipelined", [b".foo is sent as ..foo and stored as .foo", b"bar"])
        wire = msg.replace(CRLF + b".", CRLF + b"..")   # dot-stuffing done by the client
        self.assertIn(b"\r\n..foo", wire)
        with SmtpWire("127.0.0.1", self.port) as c:
            self.assertEqual(c.read_reply().code, 220)
            self.assertEqual(c.command("EHLO client.test").code, 250)
            self.assertEqual(c.command("STARTTLS").code, 220)
            c.starttls()
            self.assertIn("PIPELINING", c.command("EHLO client.test").keywords())
            c.send(b"MAIL FROM:<alice@sender.example>\r\nRCPT TO:<bob@example.test>\r\n"
                   b"RCPT TO:<alice@example.test>\r\nRCPT TO:<carol@example.test>\r\nDATA\r\n")
            replies = c.read_replies(5)
            self.assertEqual([r.code for r in replies], [250, 250, 250, 250, 354], replies)
            c.send(wire + b".\r\n")
            self.assertEqual(c.read_reply().code, 250, self.diag())
            self.assertEqual(c.command("QUIT").code, 221)
        for user in counts:
            self.assertSameBytes(msg.replace(CRLF, b"\n"), self.delivered(user, counts[user] + 1))
        self.assertIn(b"\n.foo is sent", self.pf.last_message("bob"))

    def test_two_messages_in_one_tls_session(self):
        n = self.count("bob")
        first, second = message("first", [b"one"]), message("second", [b"two"])
        with smtplib.SMTP("127.0.0.1", self.port, local_hostname="client.test", timeout=30) as s:
            s.starttls(context=insecure_context())
            self.assertEqual(s.sendmail("alice@sender.example", ["bob@example.test"], first), {})
            self.assertEqual(s.sendmail("alice@sender.example", ["bob@example.test"], second), {})
        paths = self.pf.wait_delivered("bob", n + 2)
        got = []
        for p in paths[-2:]:
            with open(p, "rb") as f:
                got.append(f.read().split(b"Subject: ")[1].split(b"\n")[0])
        got.sort()
        self.assertEqual(got, [b"first", b"second"])

    def test_plaintext_session_without_starttls_is_still_relayed(self):
        # require_tls defaults to false: opportunistic TLS, plaintext still accepted (and audited as skipped)
        n = self.count("bob")
        msg = message("plaintext", [b"no tls"])
        with smtplib.SMTP("127.0.0.1", self.port, local_hostname="client.test", timeout=30) as s:
            self.assertEqual(s.sendmail("alice@sender.example", ["bob@example.test"], msg), {})
        self.assertSameBytes(msg.replace(CRLF, b"\n"), self.delivered("bob", n + 1))
        self.mx.wait_audit(event="starttls", verdict="skipped")


if __name__ == "__main__":
    unittest.main()

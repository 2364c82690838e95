"""Inbound TLS enforcement against STARTTLS stripping: require_tls (530 5.7.0 to MAIL before TLS),
require_tls_from (530 5.7.0 and a "downgrade-attempt" audit event for listed sender domains only), and
AUTH neither advertised nor accepted before TLS (the backend's AUTH offer is shown only inside TLS)."""
import re
import unittest

from fixtures.hardening import HardeningTestCase, message

MESSAGE = b"From: <x@bank.example>\r\nTo: <bob@example.test>\r\nSubject: enforced\r\n\r\nhello\r\n"


class EnforcementCase(HardeningTestCase):
    @classmethod
    def setUpClass(cls):
        cls.leaf = cls.class_ca().issue("mx", "mx.test", ["mx.test"])

    def start(self, backend=None, **inbound):
        self.be = self.start_backend(**(backend or {}))
        self.mx = self.start_mxguard(self.config(self.be.port, certificates=[self.leaf], inbound=inbound))

    def deliver(self, c, sender):
        self.start_data(c, sender=sender)
        c.send(MESSAGE + b".\r\n")
        self.assertReply(c.read_reply(), 250)


class RequireTls(EnforcementCase):
    def setUp(self):
        super().setUp()
        self.start(require_tls=True)

    def test_mail_before_tls_gets_530_and_never_reaches_backend(self):
        c = self.connect()
        self.assertReply(c.command("MAIL FROM:<alice@sender.example>"), 530, "5.7.0",
                         "Must issue a STARTTLS command first")
        self.assertReply(c.command("MAIL FROM:<>"), 530, "5.7.0")
        # Without a transaction the rest of the envelope gets nowhere either.
        self.assertReply(c.command("QUIT"), 221)
        self.assertClosed(c)
        self.be.wait_all_closed()
        self.assertEqual(self.be.verbs(), [b"EHLO", b"QUIT"], self.be.describe())
        self.assertNotIn(b"MAIL", self.be.received_all())

    def test_mail_after_tls_is_relayed(self):
        c = self.connect()
        self.assertReply(c.command("MAIL FROM:<alice@sender.example>"), 530, "5.7.0")
        self.starttls(c)
        self.deliver(c, "alice@sender.example")
        self.assertReply(c.command("QUIT"), 221)
        self.be.wait_all_closed()
        self.assertEqual(self.be.messages(), [MESSAGE])
        self.assertEqual(self.be.verbs(), [b"EHLO", b"RSET", b"EHLO", b"MAIL", b"RCPT", b"DATA", b"QUIT"],
                         self.be.describe())


class RequireTlsFrom(EnforcementCase):
    def setUp(self):
        super().setUp()
        self.start(require_tls_from=["bank.example"])

    def test_listed_sender_over_plaintext_gets_530_and_a_downgrade_audit_event(self):
        c = self.connect()
        self.assertReply(c.command("MAIL FROM:<x@bank.example>"), 530, "5.7.0", "bank.example")
        event = self.mx.wait_audit(event="downgrade-attempt")
        self.assertEqual((event.get("event"), event.get("domain"), event.get("verdict")),
                         ("downgrade-attempt", "bank.example", "refused"), event)
        self.assertEqual(event.get("direction"), "inbound", event)
        # The domain is matched case-insensitively.
        self.assertReply(c.command("MAIL FROM:<X@Bank.Example>"), 530, "5.7.0")
        self.assertReply(c.command("QUIT"), 221)
        self.be.wait_all_closed()
        self.assertEqual(self.be.verbs(), [b"EHLO", b"QUIT"], self.be.describe())
        self.assertNotIn(b"bank.example", self.be.received_all().lower())
        self.assertEqual(len([e for e in self.mx.audit_events() if e.get("event") == "downgrade-attempt"]), 2)

    def test_other_senders_pass_over_plaintext(self):
        c = self.connect()
        self.assertReply(c.command("MAIL FROM:<x@notbank.example>"), 250)   # a look-alike suffix is not listed
        self.assertReply(c.command("RSET"), 250)
        self.deliver(c, "alice@sender.example")
        self.assertReply(c.command("QUIT"), 221)
        self.be.wait_all_closed()
        self.assertEqual(self.be.messages(), [MESSAGE])
        self.assertIn(b"MAIL FROM:<alice@sender.example>", self.be.commands())
        self.assertEqual([e for e in self.mx.audit_events() if e.get("event") == "downgrade-attempt"], [])

    def test_listed_sender_passes_after_tls(self):
        c = self.connect()
        self.starttls(c)
        self.deliver(c, "x@bank.example")
        self.assertReply(c.command("QUIT"), 221)
        self.be.wait_all_closed()
        self.assertEqual(self.be.messages(), [MESSAGE])
        self.assertIn(b"MAIL FROM:<x@bank.example>", self.be.commands())
        self.assertEqual([e for e in self.mx.audit_events() if e.get("event") == "downgrade-attempt"], [])


# MAIL FROM spellings of sender x@bank.example that Postfix 3.7 (strict_rfc821_envelopes = no, its
# default) accepts: a man in the middle who strips STARTTLS can rewrite the sender's MAIL into any of them.
BANK_SENDER_VARIANTS = [
    b"MAIL FROM:x@bank.example",
    b"MAIL FROM: x@bank.example",
    b"MAIL FROM:<x@bank.example.>",
    b"MAIL FROM:<<x@bank.example>>",
    b"MAIL FROM:\t<x@bank.example>",
    b"MAIL FROM:<x@bank.example\t>",
    b"MAIL FROM:<x@bank.example >",
    b"MAIL FROM:<x@bank.example,>",
    b"MAIL FROM:<x @bank.example>",
]


class RequireTlsFromWithPostfix(EnforcementCase):
    """require_tls_from in front of a real Postfix: no plaintext MAIL that Postfix reads as a sender of a
    listed domain may get through, whatever its spelling (fail closed on what mxguard cannot parse)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pf = cls.start_class_postfix()

    def setUp(self):
        super().setUp()
        self.mx = self.start_mxguard(self.config(self.pf.port, certificates=[self.leaf],
                                                 inbound={"require_tls_from": ["bank.example"]}))

    def bank_senders_in_maillog(self):
        return re.findall(r"from=<x@bank\.example>", self.pf.maillog())

    def test_every_spelling_of_a_listed_sender_is_refused_over_plaintext(self):
        leaked = []
        for form in BANK_SENDER_VARIANTS:
            with self.subTest(form=form):
                c = self.connect()
                reply = c.command(form)
                if reply.code == 250:   # let the transaction run: show what the backend does with it
                    c.send(b"RCPT TO:<bob@example.test>\r\nDATA\r\n")
                    if [r.code for r in c.read_replies(2)] == [250, 354]:
                        c.send(message("downgraded", sender="x@bank.example") + b".\r\n")
                        leaked.append((form, c.read_reply().raw))
                self.assertReply(c.command("QUIT"), 221)
                self.assertIn(reply.code, (530, 501), f"{form!r} over plaintext got {reply.raw!r}")
                self.assertTrue(reply.lines[0].startswith("5."), reply.raw)
        self.wait_postfix_queue_empty(self.pf)
        self.assertEqual(leaked, [], "plaintext mail from bank.example accepted by the backend")
        self.assertEqual(self.bank_senders_in_maillog(), [], self.pf.maillog()[-3000:])

    def test_listed_sender_is_delivered_over_tls(self):
        c = self.connect(tls=True)
        self.start_data(c, sender="x@bank.example")
        c.send(message("over tls", sender="x@bank.example") + b".\r\n")
        self.assertReply(c.read_reply(), 250)
        self.assertReply(c.command("QUIT"), 221)
        self.pf.wait_log(r"from=<x@bank\.example>")


class AuthOnlyInsideTls(EnforcementCase):
    def setUp(self):
        super().setUp()
        self.start(backend={"ehlo_keywords": ["PIPELINING", "AUTH PLAIN LOGIN", "AUTH=PLAIN LOGIN",
                                              "ENHANCEDSTATUSCODES"],
                            "replies": {"AUTH": b"235 2.7.0 Authentication successful\r\n"}})

    def test_auth_is_advertised_only_after_tls(self):
        c = self.open()
        self.assertReply(c.read_reply(), 220)
        before = self.assertReply(c.command("EHLO client.test"), 250)
        self.assertNotIn("AUTH", before.keywords(), before.lines)
        self.assertFalse(any("PLAIN" in l for l in before.lines), before.lines)   # nor the old AUTH=
        after = self.starttls(c)
        self.assertIn("AUTH PLAIN LOGIN", after.lines[1:], after.lines)
        self.assertIn("AUTH=PLAIN LOGIN", after.lines[1:], after.lines)
        self.assertReply(c.command("QUIT"), 221)

    def test_auth_before_tls_gets_530_and_never_reaches_backend(self):
        c = self.connect()
        self.assertReply(c.command("AUTH PLAIN AGJvYgBzZWNyZXQ="), 530, "5.7.0")
        self.assertReply(c.command("AUTH LOGIN"), 530, "5.7.0")
        self.assertReply(c.command("NOOP"), 250)
        self.starttls(c)
        self.assertReply(c.command("AUTH PLAIN AGJvYgBzZWNyZXQ="), 235, "2.7.0")
        self.assertReply(c.command("QUIT"), 221)
        self.be.wait_all_closed()
        self.assertEqual(self.be.commands(), [b"EHLO client.test", b"NOOP", b"RSET", b"EHLO client.test",
                                              b"AUTH PLAIN AGJvYgBzZWNyZXQ=", b"QUIT"], self.be.describe())
        self.assertEqual(self.be.received_all().count(b"AGJvYgBzZWNyZXQ="), 1, "credentials sent before TLS")


if __name__ == "__main__":
    unittest.main()

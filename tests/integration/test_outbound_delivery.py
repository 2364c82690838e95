"""Mail from a real legacy MTA through mxguard's outbound listener into real remote MX servers: a sending
Postfix whose relayhost is mxguard (no TLS toward it), Postfix MX servers with STARTTLS and test-CA
certificates (one for the right name, one for the wrong name, one expired, one from a CA nobody trusts),
a real DNS server, and the STARTTLS stripper for the downgrade.

What the legacy MTA was told is read from its queue (postqueue -j: a refused message stays deferred with
mxguard's 4.7.x text, so nothing is lost) and its log; what the MX received, and that it came over TLS,
from its Maildir and its own Received: header; the decisions from mxguard's audit log."""
import os
import re
import signal
import unittest

from fixtures import ports
from fixtures.hardening import message
from fixtures.mxguard import to_toml
from fixtures.outbound import FAR_FUTURE, LAPSED, OutboundTestCase, zone
from fixtures.postfix import RemoteMx, received_tls

LF = b"\n"


def strip_received(delivered):
    """A delivered message (LF line ends) minus the Received: headers on top (the sender's, mxguard's if
    it adds one): what the sender submitted."""
    lines = delivered.split(LF)
    i = 0
    while i < len(lines) and lines[i].lower().startswith(b"received:"):
        i += 1
        while i < len(lines) and lines[i][:1] in (b" ", b"\t"):
            i += 1
    return LF.join(lines[i:])


def mail_files(pf):
    """Every delivered file of a Postfix instance (all domains, all users)."""
    out = set()
    for root, _dirs, files in os.walk(pf.mail):
        if os.path.basename(root) == "new":
            out.update(os.path.join(root, f) for f in files)
    return out


class DeliveryTestCase(OutboundTestCase):
    """The DNS server and the four MX servers are shared by the tests (one Postfix start each)."""
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.start_class_dns(
            zone("example.test", "@ MX 10 mx", "mx A 127.0.0.2"),
            zone("other.test", "@ MX 10 mx.example.test."),
            zone("badname.test", "@ MX 10 mx", "mx A 127.0.0.3"),
            zone("expired.test", "@ MX 10 mx", "mx A 127.0.0.4"),
            zone("untrusted.test", "@ MX 10 mx", "mx A 127.0.0.5"),
            zone("stripped.test", "@ MX 10 mx", "mx A 127.0.0.6"),
        )
        cls.good = cls.start_class_remote_mx(cls.leaf("mx.example.test"), "127.0.0.2",
                                             extra_domains=("other.test", "stripped.test"), reject_subject="reject-me")
        cls.badname = cls.start_class_remote_mx(cls.leaf("mx.elsewhere.test"), "127.0.0.3", domain="badname.test")
        cls.expired = cls.start_class_remote_mx(cls.expired_leaf("mx.expired.test"), "127.0.0.4", domain="expired.test")
        cls.untrusted = cls.start_class_remote_mx(cls.untrusted_leaf("mx.untrusted.test"), "127.0.0.5",
                                                  domain="untrusted.test")

    @classmethod
    def start_class_remote_mx(cls, leaf, listen_ip, **kwargs):
        pf = RemoteMx(cls.class_tmp(), leaf, listen_ip=listen_ip, port=cls.mx_port, **kwargs)
        cls.addClassCleanup(pf.stop)
        return pf.start()

    def setUp(self):
        super().setUp()
        self.postfixes += [self.good, self.badname, self.expired, self.untrusted]

    def start_pair(self, default="may", domains=None, sender_kwargs=None, **kwargs):
        """mxguard (outbound) and a sending Postfix in front of it; returns the sender."""
        self.start_outbound(self.outbound_config(self.class_dns, default=default, domains=domains, **kwargs))
        return self.start_sender(**(sender_kwargs or {}))

    def submit(self, snd, rcpts=("bob@example.test",), subject="outbound delivery", body=b"hello\r\n"):
        """Hands a message to the sender; first notes what every MX has so far (self.before, by name:
        accepted transactions; self.mails: delivered files)."""
        mxs = [self.good, self.badname, self.expired, self.untrusted]
        self.before = {pf.name: len(pf.accepted_transactions()) for pf in mxs}
        self.mails = {pf.name: mail_files(pf) for pf in mxs}
        msg = message(subject, body, sender="alice@sender.test", to=rcpts[0])
        return snd.submit("alice@sender.test", list(rcpts), msg), msg

    def assertDeferredByPolicy(self, snd, qid, enhanced, domain, mx_host, mx_pf=None):
        """The sender keeps `qid` deferred with mxguard's 451 text naming domain and MX; `mx_pf` (a
        RemoteMx) saw no transaction and delivered nothing since submit()."""
        reason = snd.wait_deferred(qid, rf"451 {re.escape(enhanced)}")
        self.assertIn(domain, reason)
        self.assertIn(mx_host, reason)
        self.assertIn("in reply to RCPT TO command", reason)
        self.assertNotRegex(snd.maillog(), rf"{qid}: .*status=bounced", "a policy failure made the sender bounce")
        if mx_pf:
            self.assertEqual(len(mx_pf.accepted_transactions()), self.before[mx_pf.name],
                             f"{mx_pf.name} got the envelope")
            self.assertEqual(mail_files(mx_pf), self.mails[mx_pf.name], f"{mx_pf.name} got mail")
        return reason


class OutboundDelivery(DeliveryTestCase):
    # --- delivered ---------------------------------------------------------------------------------
    def test_verify_delivers_over_tls_byte_for_byte(self):
        snd = self.start_pair(domains={"example.test": {"level": "verify"}})
        n = len(self.good.messages("bob"))
        body = b".a dot line\r\n..two dots\r\n" + "8-bit: caf\u00e9\r\n".encode() + b"x" * 990 + b"\r\nend\r\n"
        qid, msg = self.submit(snd, body=body)
        sent = snd.wait_sent(qid)["bob@example.test"]
        self.assertRegex(sent, r"^250 ", "the sender's log must show the MX's 250")
        self.good.wait_delivered("bob", n + 1)
        self.assertEqual(strip_received(self.good.last_message("bob")), msg.replace(b"\r\n", LF))
        tls = self.good.delivered_tls("bob")
        self.assertIsNotNone(tls, f"the MX received the message in plaintext: {self.good.received('bob')}")
        e = self.wait_tls_event(domain="example.test")
        self.assertTlsEvent(e, mx="mx.example.test", mx_address=f"127.0.0.2:{self.mx_port}", policy="verify",
                            policy_source="config", verdict="delivered", reason=None,
                            tls_version=tls[0], cipher=tls[1])
        self.wait_log_line("example.test", "mx.example.test", tls[0], "delivered")

    def test_default_may_uses_starttls_when_offered(self):
        snd = self.start_pair()
        n = len(self.good.messages("bob"))
        qid, _ = self.submit(snd)
        snd.wait_sent(qid)
        self.good.wait_delivered("bob", n + 1)
        self.assertIsNotNone(self.good.delivered_tls("bob"))
        e = self.wait_tls_event(domain="example.test")
        self.assertTlsEvent(e, policy="may", policy_source="default", verdict="delivered", tls=True)

    def test_two_domains_in_one_message_arrive_in_two_transactions(self):
        snd = self.start_pair(default="verify")
        n_bob, n_other = len(self.good.messages("bob")), len(self.good.messages("bob", "other.test"))
        qid, _ = self.submit(snd, rcpts=("bob@example.test", "bob@other.test"))
        snd.wait_sent(qid, recipients=["bob@example.test", "bob@other.test"])
        self.good.wait_delivered("bob", n_bob + 1)
        self.good.wait_delivered("bob", n_other + 1, domain="other.test")
        self.assertGreaterEqual(len(self.good.accepted_transactions()) - self.before[self.good.name], 2,
                                "one transaction per recipient domain")
        self.assertIsNotNone(self.good.delivered_tls("bob", domain="other.test"))

    def test_large_message_arrives_intact(self):
        snd = self.start_pair(domains={"example.test": {"level": "verify"}})
        n = len(self.good.messages("bob"))
        body = b"".join(b"%07d " % i + (b"." if i % 7 == 0 else b"") + b"y" * 120 + b"\r\n" for i in range(16000))
        qid, msg = self.submit(snd, subject="two megabytes", body=body)
        snd.wait_sent(qid, timeout=60)
        self.good.wait_delivered("bob", n + 1)
        self.assertEqual(strip_received(self.good.last_message("bob")), msg.replace(b"\r\n", LF))

    def test_remote_refusal_at_end_of_data_reaches_the_sender_as_is(self):
        snd = self.start_pair(domains={"example.test": {"level": "verify"}})
        qid, _ = self.submit(snd, subject="please reject-me")
        text = snd.wait_status(qid, "bounced")
        self.assertIn(RemoteMx.REJECT_TEXT, text)
        self.assertIn("end of DATA", text)
        bounce = snd.wait_delivered("alice")[-1]
        with open(bounce, "rb") as f:
            self.assertIn(RemoteMx.REJECT_TEXT.encode(), f.read())


    # --- refused: deferred at the sender, nothing at the MX --------------------------------------------
    def test_wrong_name_is_deferred_under_verify(self):
        snd = self.start_pair(default="verify")
        qid, _ = self.submit(snd, rcpts=("bob@badname.test",))
        self.assertDeferredByPolicy(snd, qid, "4.7.5", "badname.test", "mx.badname.test", self.badname)
        e = self.wait_tls_event(domain="badname.test", verdict="refused")
        self.assertTlsEvent(e, mx="mx.badname.test", policy="verify", policy_source="default",
                            reason="certificate-host-mismatch")

    def test_expired_certificate_is_deferred_under_verify(self):
        snd = self.start_pair(domains={"expired.test": {"level": "verify"}})
        qid, _ = self.submit(snd, rcpts=("bob@expired.test",))
        self.assertDeferredByPolicy(snd, qid, "4.7.5", "expired.test", "mx.expired.test", self.expired)
        e = self.wait_tls_event(domain="expired.test", verdict="refused")
        self.assertTlsEvent(e, policy="verify", policy_source="config", reason="certificate-expired")

    def test_untrusted_certificate_is_deferred_under_verify(self):
        snd = self.start_pair(default="verify")
        qid, _ = self.submit(snd, rcpts=("bob@untrusted.test",))
        self.assertDeferredByPolicy(snd, qid, "4.7.5", "untrusted.test", "mx.untrusted.test", self.untrusted)
        e = self.wait_tls_event(domain="untrusted.test", verdict="refused")
        self.assertTlsEvent(e, reason="certificate-not-trusted")

    def test_untrusted_certificate_is_good_enough_for_encrypt(self):
        snd = self.start_pair(domains={"untrusted.test": {"level": "encrypt"}})
        n = len(self.untrusted.messages("bob"))
        qid, _ = self.submit(snd, rcpts=("bob@untrusted.test",))
        snd.wait_sent(qid)
        self.untrusted.wait_delivered("bob", n + 1)
        self.assertIsNotNone(self.untrusted.delivered_tls("bob"))

    def test_stripped_starttls_is_deferred_under_encrypt(self):
        self.start_stripper("127.0.0.6", ("127.0.0.2", self.mx_port))
        snd = self.start_pair(domains={"stripped.test": {"level": "encrypt"}})
        qid, _ = self.submit(snd, rcpts=("bob@stripped.test",))
        self.assertDeferredByPolicy(snd, qid, "4.7.4", "stripped.test", "mx.stripped.test")
        self.assertEqual(mail_files(self.good), self.mails[self.good.name])
        self.assertNotIn(b"MAIL", self.strippers[0].client_commands())

    def test_stripped_starttls_under_may_is_delivered_in_plaintext(self):
        self.start_stripper("127.0.0.6", ("127.0.0.2", self.mx_port))
        snd = self.start_pair()
        n = len(self.good.messages("bob", "stripped.test"))
        qid, _ = self.submit(snd, rcpts=("bob@stripped.test",))
        snd.wait_sent(qid)
        self.good.wait_delivered("bob", n + 1, domain="stripped.test")
        self.assertIsNone(self.good.delivered_tls("bob", domain="stripped.test"))
        e = self.wait_tls_event(domain="stripped.test")
        self.assertTlsEvent(e, verdict="delivered", reason="starttls-not-supported", tls=False)

    def test_sender_outside_allow_is_refused_and_keeps_its_mail(self):
        snd = self.start_pair(sender_kwargs={"smtp_bind_address": "127.0.0.9"})
        qid, _ = self.submit(snd)
        reason = snd.wait_deferred(qid, r"554 5\.7\.1")
        self.assertIn("refused to talk to me", reason)
        e = self.ob.wait_audit(event="session-refused", direction="outbound")
        self.assertEqual(e.get("verdict"), "refused", e)


    # --- an operator's exceptions ----------------------------------------------------------------------
    def test_exception_lets_a_wrong_name_through_until_it_expires(self):
        snd = self.start_pair(default="verify", domains={"badname.test": {
            "level": "encrypt", "expires": FAR_FUTURE, "reason": "partner fixing its certificate, ticket 4711"}})
        n = len(self.badname.messages("bob"))
        qid, _ = self.submit(snd, rcpts=("bob@badname.test",))
        snd.wait_sent(qid)
        self.badname.wait_delivered("bob", n + 1)
        self.assertIsNotNone(self.badname.delivered_tls("bob"))
        e = self.wait_tls_event(domain="badname.test")
        self.assertTlsEvent(e, policy="encrypt", policy_source="config", verdict="delivered", tls=True)

    def test_lapsed_exception_defers_again(self):
        snd = self.start_pair(default="verify", domains={"badname.test": {
            "level": "encrypt", "expires": LAPSED, "reason": "ticket 4711"}})
        qid, _ = self.submit(snd, rcpts=("bob@badname.test",))
        self.assertDeferredByPolicy(snd, qid, "4.7.5", "badname.test", "mx.badname.test", self.badname)
        e = self.wait_tls_event(domain="badname.test", verdict="refused")
        self.assertTlsEvent(e, policy="verify", policy_source="default")

    def test_deferred_mail_goes_out_after_the_operator_adds_an_exception(self):
        cfg = self.outbound_config(self.class_dns, default="verify")
        self.start_outbound(cfg)
        snd = self.start_sender()
        n = len(self.badname.messages("bob"))
        qid, _ = self.submit(snd, rcpts=("bob@badname.test",))
        self.assertDeferredByPolicy(snd, qid, "4.7.5", "badname.test", "mx.badname.test", self.badname)
        cfg["policy"]["domain"] = {"badname.test": {"level": "encrypt", "expires": FAR_FUTURE, "reason": "ticket 4711"}}
        with open(self.ob.config_path, "w") as f:
            f.write(to_toml(cfg) + "\n")
        self.ob.signal(signal.SIGHUP)   # new sessions get the new configuration; the sender retries
        ports.wait_until(lambda: (snd.flush(), snd.queued(qid) is None)[1], 30,
                         lambda: f"{qid} delivered after the reload (queue: {snd.queue_entries()})", interval=1)
        self.badname.wait_delivered("bob", n + 1)


if __name__ == "__main__":
    unittest.main()

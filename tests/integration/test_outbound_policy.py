"""The outbound session and its TLS policy, against scripted remote MX servers and the STARTTLS stripper
(what no real server does on demand), with mxguard in relay mode and a real DNS server.

The "legacy MTA" here is a raw SMTP client, so every reply is seen exactly: mxguard greets and answers
EHLO and MAIL itself, connects at the first RCPT, and answers that RCPT with the MX's verdict or with its
own policy refusal (451 4.7.4 / 4.7.5, naming the domain, the MX and the reason; never a 5xx). Whatever
the refusal, the scripted MX's record shows that no envelope and no content reached it in plaintext.
Every MX decision is one `tls-policy` audit event.
"""
import time
import unittest

from fixtures import ports
from fixtures.hardening import bare_line_ends, destuff, message
from fixtures.outbound import FAR_FUTURE, LAPSED, MXGUARD_HOSTNAME, OutboundTestCase, zone

MSG = message("outbound policy", b"first line\r\n.a line that starts with a dot\r\nlast line\r\n",
              sender="alice@sender.test")
TLS_REFUSAL = "4.7.5"
NO_STARTTLS = "4.7.4"


class PolicyTestCase(OutboundTestCase):
    """One DNS server for the module's domains; every MX on cls.mx_port at its own address."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.route_port = ports.free_port_on(["127.0.0.7"])
        cls.start_class_dns(
            zone("example.test", "@ MX 10 mx", "mx A 127.0.0.2"),
            zone("other.test", "@ MX 10 mx", "mx A 127.0.0.7"),
            zone("multi.test", "@ MX 20 mx2", "@ MX 10 mx1", "mx1 A 127.0.0.3", "mx2 A 127.0.0.4"),
            zone("pattern.test", "@ MX 10 mx.evil.test.", "@ MX 20 mx2", "mx2 A 127.0.0.4"),
            zone("evilonly.test", "@ MX 10 mx.evil.test."),
            zone("evil.test", "mx A 127.0.0.5"),
            zone("deep.test", "@ MX 10 a.b", "a.b A 127.0.0.3"),
            zone("stripped.test", "@ MX 10 mx", "mx A 127.0.0.6"),
            zone("partner.test", "mx A 127.0.0.7"),   # no MX at all: only the route leads there
        )

    def start(self, default="may", domains=None, **kwargs):
        return self.start_outbound(self.outbound_config(self.class_dns, default=default, domains=domains, **kwargs))

    def rcpt(self, rcpt="bob@example.test", sender="alice@sender.test"):
        """A session past MAIL; returns (session, reply to RCPT)."""
        c = self.connect_outbound()
        self.assertReply(c.command(f"MAIL FROM:<{sender}>"), 250)
        return c, c.command(f"RCPT TO:<{rcpt}>")

    def finish_refused(self, c):
        """After a refused (only) RCPT: DATA is refused too (no valid recipient), QUIT is answered."""
        r = c.command("DATA")
        self.assertIn(r.code, (503, 554), f"{r.raw!r}\n{self.diag()}")
        self.assertReply(c.command("QUIT"), 221)

    def deliver(self, rcpt="bob@example.test", msg=MSG):
        """A whole transaction; returns the reply to the end of data."""
        c, r = self.rcpt(rcpt)
        self.assertReply(r, 250)
        self.assertReply(c.command("DATA"), 354)
        c.send(_stuff(msg) + b".\r\n")
        reply = c.read_reply()
        self.assertReply(c.command("QUIT"), 221)
        return reply


def _stuff(msg):
    return b"\r\n".join(b"." + l if l.startswith(b".") else l for l in msg.split(b"\r\n"))


class OutboundSession(PolicyTestCase):
    def test_client_not_in_allow_gets_554_and_is_closed_and_audited(self):
        self.start(allow=["127.0.0.1/32"])
        c = self.open(source="127.0.0.9")
        self.assertReply(c.read_reply(), 554, "5.7.1")
        self.assertClosed(c)
        e = self.ob.wait_audit(event="session-refused", direction="outbound")
        self.assertEqual(e.get("verdict"), "refused", e)
        self.assertIn("127.0.0.9", str(e.get("peer")), e)

    def test_greets_and_answers_ehlo_and_mail_itself(self):
        mx = self.start_scripted_mx("127.0.0.2", leaf=self.leaf("mx.example.test"))
        self.start()
        c = self.connect_outbound(ehlo=False)
        ehlo = c.command("EHLO legacy.sender.test")
        self.assertReply(ehlo, 250)
        self.assertTrue(ehlo.lines[0].startswith(MXGUARD_HOSTNAME), ehlo.raw)
        keywords = ehlo.keywords()
        for k in ("PIPELINING", "SIZE", "8BITMIME", "ENHANCEDSTATUSCODES"):
            self.assertIn(k, keywords, ehlo.raw)
        for k in ("STARTTLS", "AUTH", "CHUNKING"):
            self.assertNotIn(k, keywords, ehlo.raw)
        self.assertReply(c.command("MAIL FROM:<alice@sender.test>"), 250)
        self.assertReply(c.command("NOOP"), 250)
        self.assertEqual(mx.connections, [], "an MX was contacted before the first RCPT")
        self.assertReply(c.command("RCPT TO:<bob@example.test>"), 250)
        self.assertEqual(len(mx.connections), 1)
        self.assertTrue(mx.connections[0].tls, mx.describe())

    def test_greeting_names_the_configured_host(self):
        self.start()
        c = self.open()
        greeting = c.read_reply()
        self.assertReply(greeting, 220)
        self.assertTrue(greeting.raw.startswith(f"220 {MXGUARD_HOSTNAME} ESMTP".encode()), greeting.raw)

    def test_second_domain_in_one_transaction_gets_452_and_goes_in_the_next(self):
        mx = self.start_scripted_mx("127.0.0.2", leaf=self.leaf("mx.example.test"))
        other = self.start_scripted_mx("127.0.0.7", leaf=self.leaf("mx.other.test"))
        self.start()
        c, r = self.rcpt("bob@example.test")
        self.assertReply(r, 250)
        self.assertReply(c.command("RCPT TO:<carol@other.test>"), 452, "4.5.3")
        self.assertReply(c.command("RCPT TO:<alice@example.test>"), 250)
        self.assertReply(c.command("DATA"), 354)
        c.send(_stuff(MSG) + b".\r\n")
        self.assertReply(c.read_reply(), 250)
        self.assertEqual(other.connections, [], "the second domain's MX was contacted in the first transaction")
        rcpts = [l.split(b">")[0] + b">" for l in mx.commands() if l.upper().startswith(b"RCPT")]
        self.assertEqual(rcpts, [b"RCPT TO:<bob@example.test>", b"RCPT TO:<alice@example.test>"])
        # the next transaction of the same session goes to the other domain's MX
        self.assertReply(c.command("MAIL FROM:<alice@sender.test>"), 250)
        self.assertReply(c.command("RCPT TO:<carol@other.test>"), 250)
        self.assertReply(c.command("DATA"), 354)
        c.send(_stuff(MSG) + b".\r\n")
        self.assertReply(c.read_reply(), 250)
        self.assertReply(c.command("QUIT"), 221)
        self.assertEqual([destuff(m) for m in other.tls_messages()], [MSG])
        self.assertEqual(len(mx.tls_messages()), 1)


class PolicyRefusals(PolicyTestCase):
    """Every MX fails the policy: 451 4.7.x at RCPT, nothing sent in plaintext, one refused event."""

    def refused(self, level, enhanced, reason, words=(), **mx_kwargs):
        mx = self.start_scripted_mx("127.0.0.2", **mx_kwargs)
        self.start(domains={"example.test": {"level": level}})
        c, r = self.rcpt()
        self.assertPolicyRefusal(r, enhanced, "example.test", "mx.example.test", words)
        self.finish_refused(c)
        self.assertGreaterEqual(len(mx.connections), 1, "the MX was never tried")
        self.assertNoPlaintextEnvelope(mx)
        self.assertNothingDelivered(mx)
        e = self.wait_tls_event(domain="example.test", verdict="refused")
        self.assertTlsEvent(e, mx="mx.example.test", mx_address=f"127.0.0.2:{self.mx_port}", policy=level,
                            policy_source="config")
        if isinstance(reason, tuple):
            self.assertIn(e.get("reason"), reason, e)
        elif reason:
            self.assertEqual(e.get("reason"), reason, e)
        else:
            self.assertTrue(e.get("reason"), f"no reason in {e}")
        self.wait_log_line("example.test", "mx.example.test", "refused")
        return mx, e

    def test_encrypt_without_starttls_is_451_4_7_4(self):
        self.refused("encrypt", NO_STARTTLS, "starttls-not-supported", ["STARTTLS"])

    def test_verify_without_starttls_is_451_4_7_4(self):
        self.refused("verify", NO_STARTTLS, "starttls-not-supported", ["STARTTLS"])

    def test_encrypt_with_454_to_starttls_is_refused(self):
        # Offered but refused: 4.7.4 and 4.7.5 both fit the contract; the reason is about STARTTLS.
        self.refused("encrypt", (NO_STARTTLS, TLS_REFUSAL), ("starttls-not-supported", "validation-failure"),
                     ["STARTTLS"], starttls_refused=True)

    def test_encrypt_with_a_tls_1_1_only_mx_is_451_4_7_5(self):
        mx, _ = self.refused("encrypt", TLS_REFUSAL, "validation-failure", ["TLS"],
                             leaf=self.leaf("mx.example.test"), tls_versions=("TLSv1", "TLSv1_1"))
        self.assertTrue(mx.connections[0].tls_error, mx.describe())

    def test_response_injection_before_the_handshake_is_refused(self):
        mx, _ = self.refused("encrypt", TLS_REFUSAL, None, ["TLS"], leaf=self.leaf("mx.example.test"),
                             inject=b"250 2.0.0 injected\r\n")
        self.assertFalse(any(c.tls and c.command_lines[c.tls_lines:] for c in mx.connections),
                         f"mxguard kept talking after an injected response:\n{mx.describe()}")

    def test_verify_with_a_wrong_name_is_451_4_7_5(self):
        self.refused("verify", TLS_REFUSAL, "certificate-host-mismatch", ["certificate"],
                     leaf=self.leaf("mx.elsewhere.test"))

    def test_verify_with_an_expired_certificate_is_451_4_7_5(self):
        self.refused("verify", TLS_REFUSAL, "certificate-expired", ["certificate"],
                     leaf=self.expired_leaf("mx.example.test"))

    def test_verify_with_an_untrusted_certificate_is_451_4_7_5(self):
        self.refused("verify", TLS_REFUSAL, "certificate-not-trusted", ["certificate"],
                     leaf=self.untrusted_leaf("mx.example.test"))

    def test_mx_not_matching_the_mx_patterns_is_never_contacted(self):
        evil = self.start_scripted_mx("127.0.0.5", leaf=self.leaf("mx.evil.test"))
        self.start(domains={"evilonly.test": {"level": "verify", "mx": ["*.evilonly.test"]}})
        c, r = self.rcpt("bob@evilonly.test")
        self.assertPolicyRefusal(r, TLS_REFUSAL, "evilonly.test", "mx.evil.test")
        self.finish_refused(c)
        self.assertEqual(evil.connections, [], "an MX outside the mx patterns was contacted")
        e = self.wait_tls_event(domain="evilonly.test", verdict="refused")
        self.assertTlsEvent(e, mx="mx.evil.test", policy="verify", policy_source="config")
        self.assertTrue(e.get("reason"), e)

    def test_wildcard_pattern_matches_one_label_only(self):
        deep = self.start_scripted_mx("127.0.0.3", leaf=self.leaf("a.b.deep.test"))
        self.start(domains={"deep.test": {"level": "verify", "mx": ["*.deep.test"]}})
        c, r = self.rcpt("bob@deep.test")
        self.assertPolicyRefusal(r, TLS_REFUSAL, "deep.test", "a.b.deep.test")
        self.finish_refused(c)
        self.assertEqual(deep.connections, [])

    def test_every_mx_failing_gives_one_451_and_an_event_each(self):
        mx1 = self.start_scripted_mx("127.0.0.3", hostname="mx1.multi.test")
        mx2 = self.start_scripted_mx("127.0.0.4", hostname="mx2.multi.test", starttls_refused=True)
        self.start(domains={"multi.test": {"level": "encrypt"}})
        c, r = self.rcpt("bob@multi.test")
        self.assertEqual(r.code, 451, f"{r.raw!r}\n{self.diag()}")
        self.assertIn(r.lines[0].split(" ", 1)[0], (NO_STARTTLS, TLS_REFUSAL), r.raw)
        self.assertIn("multi.test", r.text)
        self.assertTrue("mx1.multi.test" in r.text or "mx2.multi.test" in r.text, r.raw)
        self.finish_refused(c)
        self.assertNoPlaintextEnvelope(mx1, mx2)
        self.assertNothingDelivered(mx1, mx2)
        ports.wait_until(lambda: len(self.tls_events(domain="multi.test")) >= 2, 10, "two tls-policy events")
        events = self.tls_events(domain="multi.test")
        self.assertEqual([(e.get("mx"), e.get("verdict")) for e in events],
                         [("mx1.multi.test", "refused"), ("mx2.multi.test", "refused")], events)


class PolicySatisfied(PolicyTestCase):
    def test_verify_delivers_over_tls_with_sni_and_one_event(self):
        mx = self.start_scripted_mx("127.0.0.2", leaf=self.leaf("mx.example.test"))
        self.start(domains={"example.test": {"level": "verify"}})
        self.assertReply(self.deliver(), 250)
        self.assertEqual([destuff(m) for m in mx.tls_messages()], [MSG])
        self.assertNoPlaintextEnvelope(mx)
        self.assertEqual(mx.connections[0].sni, "mx.example.test")
        self.assertIn(mx.connections[0].tls_version, ("TLSv1.2", "TLSv1.3"))
        e = self.wait_tls_event(domain="example.test")
        self.assertTlsEvent(e, mx="mx.example.test", mx_address=f"127.0.0.2:{self.mx_port}", policy="verify",
                            policy_source="config", verdict="delivered", reason=None, tls=True,
                            tls_version=mx.connections[0].tls_version)
        self.assertEqual(len(self.tls_events(domain="example.test")), 1, self.tls_events())
        self.wait_log_line("example.test", "mx.example.test", mx.connections[0].tls_version, "delivered")

    def test_verify_accepts_a_wildcard_certificate(self):
        mx = self.start_scripted_mx("127.0.0.2", leaf=self.leaf("*.example.test"))
        self.start(domains={"example.test": {"level": "verify"}})
        self.assertReply(self.deliver(), 250)
        self.assertEqual(len(mx.tls_messages()), 1)

    def test_encrypt_delivers_despite_an_untrusted_certificate(self):
        mx = self.start_scripted_mx("127.0.0.2", leaf=self.untrusted_leaf("mx.elsewhere.test"))
        self.start(domains={"example.test": {"level": "encrypt"}})
        self.assertReply(self.deliver(), 250)
        self.assertEqual(len(mx.tls_messages()), 1)
        self.assertNoPlaintextEnvelope(mx)
        e = self.wait_tls_event(domain="example.test")
        self.assertTlsEvent(e, policy="encrypt", verdict="delivered", tls=True)

    def test_may_without_starttls_delivers_in_plaintext_and_says_why(self):
        mx = self.start_scripted_mx("127.0.0.2")
        self.start()
        self.assertReply(self.deliver(), 250)
        self.assertEqual([destuff(m) for m in mx.plaintext_messages()], [MSG])
        e = self.wait_tls_event(domain="example.test")
        self.assertTlsEvent(e, mx="mx.example.test", policy="may", policy_source="default", verdict="delivered",
                            reason="starttls-not-supported", tls=False)

    def test_may_falls_back_to_plaintext_after_a_failed_handshake(self):
        mx = self.start_scripted_mx("127.0.0.2", leaf=self.leaf("mx.example.test"), tls_versions=("TLSv1", "TLSv1_1"))
        self.start()
        self.assertReply(self.deliver(), 250)
        self.assertTrue(mx.connections[0].tls_error, mx.describe())
        self.assertEqual(len(mx.plaintext_messages()), 1, mx.describe())
        self.assertIsNone(mx.connections[-1].tls_offset, "the plaintext retry must not try STARTTLS again")
        e = self.wait_tls_event(domain="example.test", verdict="delivered")
        self.assertTlsEvent(e, policy="may", tls=False)
        self.assertTrue(e.get("reason"), e)

    def test_none_never_uses_starttls(self):
        mx = self.start_scripted_mx("127.0.0.2", leaf=self.leaf("mx.example.test"))
        self.start(domains={"example.test": {"level": "none"}})
        self.assertReply(self.deliver(), 250)
        self.assertIsNone(mx.connections[0].tls_offset, mx.describe())
        self.assertEqual(len(mx.plaintext_messages()), 1)
        e = self.wait_tls_event(domain="example.test")
        self.assertTlsEvent(e, policy="none", verdict="delivered", tls=False)

    def test_first_mx_failing_the_policy_falls_through_to_the_next(self):
        mx1 = self.start_scripted_mx("127.0.0.3", hostname="mx1.multi.test")   # no STARTTLS
        mx2 = self.start_scripted_mx("127.0.0.4", hostname="mx2.multi.test", leaf=self.leaf("mx2.multi.test"))
        self.start(domains={"multi.test": {"level": "verify"}})
        self.assertReply(self.deliver("bob@multi.test"), 250)
        self.assertNoPlaintextEnvelope(mx1, mx2)
        self.assertNothingDelivered(mx1)
        self.assertEqual(len(mx2.tls_messages()), 1)
        self.assertLess(mx1.first_contact(), mx2.first_contact(), "preference 10 must be tried before 20")
        ports.wait_until(lambda: len(self.tls_events(domain="multi.test")) >= 2, 10, "two tls-policy events")
        first, second = self.tls_events(domain="multi.test")
        self.assertTlsEvent(first, mx="mx1.multi.test", mx_address=f"127.0.0.3:{self.mx_port}", verdict="refused",
                            reason="starttls-not-supported")
        self.assertTlsEvent(second, mx="mx2.multi.test", mx_address=f"127.0.0.4:{self.mx_port}",
                            verdict="delivered", tls=True)

    def test_mx_outside_the_patterns_is_skipped_for_the_next(self):
        evil = self.start_scripted_mx("127.0.0.5", leaf=self.leaf("mx.evil.test"))
        good = self.start_scripted_mx("127.0.0.4", hostname="mx2.pattern.test", leaf=self.leaf("mx2.pattern.test"))
        self.start(domains={"pattern.test": {"level": "verify", "mx": ["*.pattern.test"]}})
        self.assertReply(self.deliver("bob@pattern.test"), 250)
        self.assertEqual(evil.connections, [])
        self.assertEqual(len(good.tls_messages()), 1)

    def test_unexpired_exception_lowers_the_level(self):
        mx = self.start_scripted_mx("127.0.0.2", leaf=self.leaf("mx.elsewhere.test"))   # wrong name
        self.start(default="verify", domains={"example.test": {
            "level": "encrypt", "expires": FAR_FUTURE, "reason": "their certificate names the wrong host, ticket 4711"}})
        self.assertReply(self.deliver(), 250)
        self.assertEqual(len(mx.tls_messages()), 1)
        e = self.wait_tls_event(domain="example.test")
        self.assertTlsEvent(e, policy="encrypt", policy_source="config", verdict="delivered", tls=True)

    def test_lapsed_exception_no_longer_applies(self):
        mx = self.start_scripted_mx("127.0.0.2", leaf=self.leaf("mx.elsewhere.test"))   # wrong name
        self.start(default="verify", domains={"example.test": {
            "level": "encrypt", "expires": LAPSED, "reason": "ticket 4711"}})
        c, r = self.rcpt()
        self.assertPolicyRefusal(r, TLS_REFUSAL, "example.test", "mx.example.test")
        self.finish_refused(c)
        self.assertNothingDelivered(mx)
        e = self.wait_tls_event(domain="example.test")
        self.assertTlsEvent(e, policy="verify", policy_source="default", verdict="refused",
                            reason="certificate-host-mismatch")


class EndOfData(PolicyTestCase):
    """Content streams through; the MX's verdict on it is the legacy MTA's answer."""

    def start_mx(self, **kwargs):
        mx = self.start_scripted_mx("127.0.0.2", leaf=self.leaf("mx.example.test"), **kwargs)
        self.start(domains={"example.test": {"level": "verify"}})
        return mx

    def test_remote_550_at_end_of_data_is_relayed_as_is(self):
        self.start_mx(data_end_reply=b"550 5.7.1 Message rejected: spam score too high\r\n")
        r = self.deliver()
        self.assertReply(r, 550, "5.7.1", "spam score too high")

    def dropped_mid_data(self, **kwargs):
        mx = self.start_mx(**kwargs)
        c, r = self.rcpt()
        self.assertReply(r, 250)
        self.assertReply(c.command("DATA"), 354)
        c.send(_stuff(MSG) + b".\r\n")
        reply = c.read_reply()
        self.assertTrue(400 <= reply.code < 500, f"a drop mid-DATA must be temporary: {reply.raw!r}\n{self.diag()}")
        self.assertEqual(mx.messages(), [])

    def test_remote_closing_mid_data_gives_a_4xx(self):
        self.dropped_mid_data(close_in_data=True)

    def test_remote_resetting_mid_data_gives_a_4xx(self):
        self.dropped_mid_data(reset_in_data=True)

    def test_slow_250_is_waited_for(self):
        mx = self.start_mx(data_end_delay=3)
        c, r = self.rcpt()
        self.assertReply(r, 250)
        self.assertReply(c.command("DATA"), 354)
        started = time.monotonic()
        c.send(_stuff(MSG) + b".\r\n")
        self.assertReply(c.read_reply(), 250)
        self.assertGreaterEqual(time.monotonic() - started, 2.5, "mxguard answered before the MX did")
        self.assertEqual(len(mx.tls_messages()), 1)

    def test_bare_lf_from_the_legacy_mta_never_ends_the_message_upstream(self):
        mx = self.start_mx()
        smuggled = (b"first part\n.\nMAIL FROM:<evil@smuggled.test>\r\nRCPT TO:<victim@example.test>\r\nDATA\r\n"
                    b"Subject: smuggled\r\n\r\nsmuggled body\r\n")
        c, r = self.rcpt()
        self.assertReply(r, 250)
        self.assertReply(c.command("DATA"), 354)
        c.send(message("smuggling", smuggled, sender="alice@sender.test") + b".\r\n")
        reply = c.read_reply()
        # Refused (5xx, the MX connection dropped so it discards the partial message) or normalised
        # (250: one message with CRLF line ends); never a second transaction at the MX.
        ports.wait_until(lambda: mx.messages() or all(conn.closed.is_set() for conn in mx.connections), 15,
                         "a message at the MX, or its connection closed")
        after_tls = b"".join(bytes(conn.received[conn.tls_offset:]) for conn in mx.connections if conn.tls)
        self.assertEqual(bare_line_ends(after_tls), [], f"bare CR/LF forwarded to the MX:\n{mx.describe()}")
        mails = [l for l in mx.commands() if l.upper().startswith(b"MAIL")]
        self.assertEqual(len(mails), 1, mx.describe())
        self.assertTrue(mails[0].startswith(b"MAIL FROM:<alice@sender.test>"), mails)
        self.assertLessEqual(len(mx.messages()), 1, mx.describe())
        if reply.code == 250:
            self.assertEqual(len(mx.messages()), 1, mx.describe())
            self.assertIn(b"smuggled body", mx.messages()[0])
        else:
            self.assertEqual(mx.messages(), [], f"refused with {reply.raw!r}, yet the MX has the message")


class Downgrades(PolicyTestCase):
    """The stripper between mxguard and a scripted TLS MX for stripped.test."""

    def setup_mitm(self, level, **stripper_kwargs):
        mx = self.start_scripted_mx("127.0.0.2", hostname="mx.stripped.test", leaf=self.leaf("mx.stripped.test"))
        mitm = self.start_stripper("127.0.0.6", ("127.0.0.2", mx.port), **stripper_kwargs)
        self.start(domains={"stripped.test": {"level": level}})
        return mx, mitm

    def test_stripped_starttls_under_encrypt_is_451_4_7_4_and_nothing_crosses(self):
        mx, mitm = self.setup_mitm("encrypt")
        c, r = self.rcpt("bob@stripped.test")
        self.assertPolicyRefusal(r, NO_STARTTLS, "stripped.test", "mx.stripped.test", ["STARTTLS"])
        self.finish_refused(c)
        self.assertEqual(mitm.stripped, 1)
        for verb in (b"MAIL", b"RCPT", b"DATA"):
            self.assertNotIn(verb, mitm.client_commands(), mitm.describe())
        self.assertNothingDelivered(mx)
        e = self.wait_tls_event(domain="stripped.test", verdict="refused")
        self.assertTlsEvent(e, mx="mx.stripped.test", mx_address=f"127.0.0.6:{self.mx_port}",
                            reason="starttls-not-supported")

    def test_starttls_answered_454_by_the_mitm_under_verify_is_refused(self):
        mx, mitm = self.setup_mitm("verify", strip=False, starttls="454")
        c, r = self.rcpt("bob@stripped.test")
        self.assertPolicyRefusal(r, (NO_STARTTLS, TLS_REFUSAL), "stripped.test", "mx.stripped.test")
        self.finish_refused(c)
        self.assertEqual(mitm.starttls_answered, 1)
        self.assertNotIn(b"MAIL", mitm.client_commands(), mitm.describe())
        self.assertNothingDelivered(mx)

    def test_stripped_starttls_under_may_delivers_in_plaintext_and_audits_it(self):
        mx, mitm = self.setup_mitm("may")
        r = self.deliver("bob@stripped.test")
        self.assertReply(r, 250)
        self.assertEqual(len(mx.plaintext_messages()), 1)
        e = self.wait_tls_event(domain="stripped.test")
        self.assertTlsEvent(e, verdict="delivered", reason="starttls-not-supported", tls=False)

    def test_a_transparent_mitm_changes_nothing(self):
        mx, mitm = self.setup_mitm("verify", strip=False, starttls="forward")
        self.assertReply(self.deliver("bob@stripped.test"), 250)
        self.assertEqual(len(mx.tls_messages()), 1)
        self.assertEqual(mitm.client_commands(), [b"EHLO", b"STARTTLS"])


class Routes(PolicyTestCase):
    """[outbound.route] "partner.test" = "mx.partner.test:PORT": no MX lookup, the policy still applies,
    the certificate is checked for the route's host."""

    def start_route(self, leaf):
        mx = self.start_scripted_mx("127.0.0.7", port=self.route_port, hostname="mx.partner.test", leaf=leaf)
        self.start(domains={"partner.test": {"level": "verify"}},
                   routes={"partner.test": f"mx.partner.test:{self.route_port}"})
        return mx

    def test_route_delivers_to_its_host_with_the_policy_applied(self):
        mx = self.start_route(self.leaf("mx.partner.test"))
        self.assertReply(self.deliver("bob@partner.test"), 250)
        self.assertEqual(len(mx.tls_messages()), 1)
        self.assertEqual(mx.connections[0].sni, "mx.partner.test")
        e = self.wait_tls_event(domain="partner.test")
        self.assertTlsEvent(e, mx="mx.partner.test", mx_address=f"127.0.0.7:{self.route_port}", policy="verify",
                            policy_source="config", verdict="delivered", tls=True)

    def test_route_host_with_a_wrong_name_is_refused(self):
        mx = self.start_route(self.leaf("mx.example.test"))
        c, r = self.rcpt("bob@partner.test")
        self.assertPolicyRefusal(r, TLS_REFUSAL, "partner.test", "mx.partner.test", ["certificate"])
        self.finish_refused(c)
        self.assertNothingDelivered(mx)
        e = self.wait_tls_event(domain="partner.test", verdict="refused")
        self.assertEqual(e.get("reason"), "certificate-host-mismatch", e)


if __name__ == "__main__":
    unittest.main()

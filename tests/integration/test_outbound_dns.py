"""How mxguard's relay mode finds the remote MX hosts, against a real DNS server on loopback: MX
preference order, the implicit MX (an A record and no MX, RFC 5321 5.1), fallback between a host's
addresses (IPv4 and IPv6), the null MX (RFC 7505) as a permanent 556 5.1.10, a DNS failure (SERVFAIL, no
answer at all, nothing listening at the resolver's address) as a temporary 451 4.4.3 and never as "no
MX", also when the resolver goes away while mxguard runs (the sender keeps the mail queued until it is
back); and `mxguard policy DOMAIN`, which shows an
operator the effective policy and the MX hosts that would be tried, in order, with their addresses."""
import unittest

from fixtures import ports
from fixtures.mxguard import Mxguard, run_cli
from fixtures.outbound import FAR_FUTURE, HAVE_IPV6, LAPSED, OutboundTestCase, zone
from fixtures.hardening import message

MSG = message("outbound dns", sender="alice@sender.test")


class DnsTestCase(OutboundTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.start_class_dns(
            zone("example.test", "@ MX 20 mxb", "@ MX 10 mxa", "mxa A 127.0.0.3", "mxb A 127.0.0.4"),
            zone("nullmx.test", "@ MX 0 .", "@ A 127.0.0.2"),
            zone("broken.test", "@ MX 10 mx", "mx A 127.0.0.2", mode="bogus"),
            zone("implicit.test", "@ A 127.0.0.5"),
            zone("fallback.test", "@ MX 10 mx", "mx A 127.0.0.6", "mx A 127.0.0.3"),
            zone("v6only.test", "@ MX 10 mx", "mx AAAA ::1"),
        )

    def start(self, dns=None, **kwargs):
        return self.start_outbound(self.outbound_config(dns or self.class_dns, **kwargs))

    def deliver(self, rcpt):
        super().deliver(rcpt, MSG)


class MxLookup(DnsTestCase):
    def test_lowest_preference_first(self):
        mxa = self.start_scripted_mx("127.0.0.3", hostname="mxa.example.test", leaf=self.leaf("mxa.example.test"))
        mxb = self.start_scripted_mx("127.0.0.4", hostname="mxb.example.test", leaf=self.leaf("mxb.example.test"))
        self.start(domains={"example.test": {"level": "verify"}})
        for _ in range(3):
            self.deliver("bob@example.test")
        self.assertEqual(len(mxa.tls_messages()), 3)
        self.assertEqual(mxb.connections, [], "preference 20 was used while preference 10 worked")
        e = self.wait_tls_event(domain="example.test")
        self.assertTlsEvent(e, mx="mxa.example.test", mx_address=f"127.0.0.3:{self.mx_port}", verdict="delivered")

    def test_implicit_mx_is_the_domain_itself(self):
        mx = self.start_scripted_mx("127.0.0.5", hostname="implicit.test")
        self.start()
        self.deliver("bob@implicit.test")
        self.assertEqual(len(mx.messages()), 1)
        e = self.wait_tls_event(domain="implicit.test")
        self.assertTlsEvent(e, mx="implicit.test", mx_address=f"127.0.0.5:{self.mx_port}", verdict="delivered")

    def test_next_address_of_the_host_when_one_refuses_connections(self):
        mx = self.start_scripted_mx("127.0.0.3", hostname="mx.fallback.test")   # nothing on 127.0.0.6
        self.start()
        self.deliver("bob@fallback.test")
        self.assertEqual(len(mx.messages()), 1)

    def test_ipv6_only_mx(self):
        self.assertTrue(HAVE_IPV6, "this test needs the IPv6 loopback address ::1")
        mx = self.start_scripted_mx("::1", hostname="mx.v6only.test", leaf=self.leaf("mx.v6only.test"))
        self.start(domains={"v6only.test": {"level": "verify"}})
        self.deliver("bob@v6only.test")
        self.assertEqual(len(mx.tls_messages()), 1)
        e = self.wait_tls_event(domain="v6only.test")
        self.assertIn("::1", e.get("mx_address", ""), e)
        self.assertTrue(e["mx_address"].endswith(f":{self.mx_port}"), e)

    def test_null_mx_is_a_permanent_556_5_1_10(self):
        trap = self.start_scripted_mx("127.0.0.2", hostname="nullmx.test")   # the domain's A record
        self.start()
        c, r = self.rcpt("bob@nullmx.test")
        self.assertReply(r, 556, "5.1.10")
        self.assertReply(c.command("QUIT"), 221)
        self.assertEqual(trap.connections, [], "a null MX domain was delivered to its A record")

    def test_servfail_is_temporary_4_4_3(self):
        trap = self.start_scripted_mx("127.0.0.2", hostname="mx.broken.test")
        self.start()
        c, r = self.rcpt("bob@broken.test")
        self.assertReply(r, 451, "4.4.3")
        self.assertReply(c.command("QUIT"), 221)
        self.assertEqual(trap.connections, [])
        self.assertIn("SERVFAIL", self.assertDnsFailureLogged("broken.test"))

    def test_dns_timeout_is_temporary_4_4_3(self):
        hole = self.start_blackhole_dns()
        self.start(dns=hole)
        c, r = self.rcpt("bob@example.test")
        self.assertReply(r, 451, "4.4.3")
        self.assertGreaterEqual(hole.queries, 1)
        self.assertReply(c.command("QUIT"), 221)
        self.assertIn("MX lookup failed temporarily: no answer from the DNS server (timeout)",
                      self.assertDnsFailureLogged("example.test"))

    def test_nothing_listening_at_the_resolver_address_is_temporary_4_4_3(self):
        # UDP to a port without a socket: the kernel answers ICMP port unreachable (ECONNREFUSED).
        gone = f"127.0.0.1:{ports.free_port()}"
        trap = self.start_scripted_mx("127.0.0.3", hostname="mxa.example.test")
        self.start(dns=gone)
        c, r = self.rcpt("bob@example.test")
        self.assertReply(r, 451, "4.4.3")
        self.assertReply(c.command("QUIT"), 221)
        self.assertEqual(trap.connections, [])
        self.assertIn("MX lookup failed temporarily: the DNS server is unreachable (connection refused)",
                      self.assertDnsFailureLogged("example.test"))

    def assertDnsFailureLogged(self, domain):
        """One warning per failed recipient domain that says what failed, and that the mail was not delivered."""
        lines = self.wait_log_line(f"outbound {domain}: not delivered: MX lookup failed temporarily: ")
        self.assertEqual(len(lines), 1, f"{lines}\n{self.diag()}")
        return lines[0]


class ResolverGoneWhileRunning(DnsTestCase):
    """The DNS server mxguard asks goes away while it runs (stopped: port unreachable; or there and
    silent: a timeout), with a real sending Postfix in front: the mail is deferred with 451 4.4.3 and
    stays in the sender's queue, nothing reaches an MX meanwhile, and it goes out once DNS is back."""

    def test_stopped_then_silent_then_back(self):
        dns = self.start_dns(zone("comeback.test", "@ MX 10 mx", "mx A 127.0.0.2"))
        mx = self.start_scripted_mx("127.0.0.2", hostname="mx.comeback.test")
        self.start(dns=dns)
        snd = self.start_sender()
        msg = message("dns comes back", sender="alice@sender.test", to="bob@comeback.test")
        snd.wait_sent(snd.submit("alice@sender.test", ["bob@comeback.test"], msg))
        self.assertEqual(len(mx.messages()), 1)

        port = dns.port
        dns.stop()   # gone: nothing listens on its port any more
        gone = snd.submit("alice@sender.test", ["bob@comeback.test"], msg)
        reason = snd.wait_deferred(gone, r"451 4\.4\.3")
        self.assertIn("comeback.test", reason)
        self.assertIn("connection refused", reason)   # the 451's text says why, in the sender's queue too
        self.wait_log_line("outbound comeback.test: not delivered: MX lookup failed temporarily: "
                           "the DNS server is unreachable (connection refused)")

        def deferrals():
            return [text for _, status, text in snd.delivery_statuses(gone) if status == "deferred"]
        before = len(deferrals())
        hole = self.start_blackhole_dns(port=port)   # back on its port, but silent: every query times out
        ports.wait_until(lambda: len(deferrals()) > before, 60,
                         lambda: f"the sender's retry deferred again (maillog:\n{snd.maillog()[-3000:]})", interval=0.2)
        self.assertGreater(hole.queries, 0, "mxguard did not ask the silent server")
        self.assertIn("451 4.4.3", deferrals()[-1])
        self.assertIn("no answer from the DNS server (timeout)", deferrals()[-1])
        self.assertEqual(len(mx.messages()), 1, "delivered while DNS was gone")
        hole.stop()

        self.start_dns(zone("comeback.test", "@ MX 10 mx", "mx A 127.0.0.2"), port=port)
        snd.wait_sent(gone, timeout=60)
        self.assertEqual(len(mx.messages()), 2)
        self.assertNotRegex(snd.maillog(), rf"{gone}: .*status=bounced")


class PolicyCommand(DnsTestCase):
    """`mxguard policy DOMAIN --config FILE`: the decision before mail depends on it (exit 0)."""

    def policy(self, domain, *options, **config):
        cfg = self.outbound_config(self.class_dns, **config)
        path = Mxguard(self.tmp, cfg, name="policy-cli").config_path   # writes the file, starts nothing
        r = run_cli("policy", domain, "--config", path, *options)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r.stdout

    def assertInOrder(self, text, *parts):
        positions = [text.find(p) for p in parts]
        self.assertNotIn(-1, positions, f"{parts} not all in:\n{text}")
        self.assertEqual(positions, sorted(positions), f"{parts} not in this order in:\n{text}")

    def test_configured_domain_with_exception_and_mx_hosts_in_order(self):
        out = self.policy("example.test", default="may", domains={"example.test": {
            "level": "verify", "mx": ["*.example.test"], "expires": FAR_FUTURE, "reason": "ticket 4711"}})
        self.assertIn("verify", out)
        self.assertIn("config", out)
        self.assertIn(FAR_FUTURE.isoformat(), out)
        self.assertIn("ticket 4711", out)
        self.assertInOrder(out, "mxa.example.test", "127.0.0.3", "mxb.example.test", "127.0.0.4")

    def test_default_domain_and_implicit_mx(self):
        out = self.policy("implicit.test", default="encrypt")
        self.assertIn("encrypt", out)
        self.assertIn("default", out)
        self.assertInOrder(out, "implicit.test", "127.0.0.5")

    def test_lapsed_exception_is_not_the_effective_policy(self):
        out = self.policy("example.test", default="verify", domains={"example.test": {
            "level": "may", "expires": LAPSED, "reason": "ticket 4711"}})
        self.assertIn("verify", out)
        self.assertIn("default", out)
        self.assertIn(LAPSED.isoformat(), out, "the lapsed exception should still be shown with its date")
        self.assertRegex(out.lower(), r"laps|expired", out)

    def test_connect_shows_what_each_mx_offers_and_sends_no_mail(self):
        good = self.start_scripted_mx("127.0.0.3", hostname="mxa.example.test", leaf=self.leaf("mxa.example.test"))
        bad = self.start_scripted_mx("127.0.0.4", hostname="mxb.example.test", leaf=self.untrusted_leaf("mxb.example.test"))
        out = self.policy("example.test", "--connect", domains={"example.test": {"level": "verify"}})
        first, second = out.split(f"connect 2: mxb.example.test 127.0.0.4:{self.mx_port}")
        self.assertIn(f"connect 1: mxa.example.test 127.0.0.3:{self.mx_port}", first)
        for words in ("starttls: offered", "tls: TLSv1.3", "CN mxa.example.test; names mxa.example.test",
                      "chain: trusted", "name: matches mxa.example.test", "verdict: would deliver over TLS"):
            self.assertIn(words, first, out)
        self.assertIn("chain: NOT trusted", second, out)
        self.assertIn("verdict: would REFUSE", second, out)
        for mx in (good, bad):
            self.assertEqual([l for l in mx.commands() if l.split(b" ", 1)[0].upper() in (b"MAIL", b"RCPT", b"DATA")],
                             [], f"the probe sent an envelope to {mx.host}")

    def test_connect_to_a_host_without_starttls_and_to_nothing(self):
        self.start_scripted_mx("127.0.0.6", hostname="mx.fallback.test")   # plaintext only; 127.0.0.3 refuses
        out = self.policy("fallback.test", "--connect", default="encrypt")
        self.assertIn("connect: failed", out)
        self.assertIn("starttls: not offered", out)
        self.assertIn("verdict: would REFUSE", out)


if __name__ == "__main__":
    unittest.main()

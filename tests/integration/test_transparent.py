"""The transparent modes in network namespaces of the test's own (issue 14), with the firewall rules that
deploy/firewall/ ships, loaded from those files.

Outbound, `[outbound] mode = "transparent"`:

    [legacy] 198.51.100.10, 2001:db8:1::10  --veth--  198.51.100.1, 2001:db8:1::1 [mx]
      the "legacy MTA" (uid 65534) connects to            203.0.113.25, 2001:db8:2::25  scripted MX (STARTTLS)
      203.0.113.25:25; the nft/iptables rules REDIRECT    203.0.113.26                  scripted MX (no STARTTLS)
      it to mxguard (uid 0, not redirected) on
      127.0.0.1/[::1]:10025; unbound for the MX names

mxguard reads the original destination, names it after the domain's MX host with that address (or the
address itself), and delivers there with the domain's policy. A connection made straight to the
listener, not redirected, is delivered as in relay mode.

Inbound, `backend_protocol = "tproxy"`: see TproxyInboundTests below (the rules of
deploy/firewall/tproxy-*, nftables and iptables), and check-config's word on CAP_NET_ADMIN.

Root is needed (CI runs as root); a namespace that cannot be created fails the test, it never skips.
"""
import json
import os
import subprocess
import unittest

from fixtures import netns, tools
from fixtures.base import IntegrationTestCase, mxguard_config
from fixtures.mxguard import run_cli
from fixtures.scripted_backend import ScriptedBackend
from fixtures.outbound import OutboundTestCase, zone
from fixtures.scripted_mx import ScriptedMx

DEPLOY = os.path.join(os.path.dirname(__file__), "..", "..", "deploy", "firewall")
NFT_RULES = os.path.join(DEPLOY, "transparent-mode.nft")
IPTABLES_RULES = os.path.join(DEPLOY, "transparent-mode.iptables.sh")

LEGACY_V4, LEGACY_V6 = "198.51.100.10", "2001:db8:1::10"
MX_V4, MX_V6 = "203.0.113.25", "2001:db8:2::25"
NOTLS_MX_V4 = "203.0.113.26"
LEGACY_UID = 65534      # the legacy MTA's user (nobody): its port-25 connections are redirected
MXGUARD_UID = 0         # mxguard runs as root here: its own connections pass
OUTBOUND_PORT = 10025

# The "legacy MTA": one SMTP transaction to HOST:25, run as LEGACY_UID inside the legacy namespace; prints
# every reply as JSON. It believes it talks to the remote MX.
LEGACY_CLIENT = r"""
import json, smtplib, sys
host, sender, rcpt = sys.argv[1:4]
out = {}
s = smtplib.SMTP(timeout=60, local_hostname="legacy.sender.test")
out["greeting"] = s.connect(host, 25)
out["ehlo"] = s.ehlo()
out["mail"] = s.mail(sender)
out["rcpt"] = s.rcpt(rcpt)
if out["rcpt"][0] == 250:
    out["data"] = s.data(b"Subject: transparent\r\nFrom: <" + sender.encode() + b">\r\n\r\nthrough the redirect\r\n")
s.quit()
print(json.dumps({k: [v[0], v[1].decode(errors="replace")] for k, v in out.items()}))
"""


def system_python():
    """A python3 the unprivileged legacy user can run (a pyenv under /root is not readable to it)."""
    for path in ("/usr/bin/python3", "/usr/local/bin/python3"):
        if os.access(path, os.X_OK):
            return path
    raise AssertionError("no /usr/bin/python3 for the unprivileged legacy MTA (Debian package python3)")


class TransparentOutboundTests:
    """The lab and the MX servers are the class's, mxguard the test's; each test sends its own mail. The
    classes below (OutboundTestCase and this mixin) load one of the two rule files each."""

    firewall = None   # "nft" | "iptables"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.lab = netns.Lab("o" + cls.firewall[0])
        cls.addClassCleanup(cls.lab.close)
        cls.legacy, cls.mxns = cls.lab.host("legacy"), cls.lab.host("mx")
        cls.lab.link(cls.legacy, [f"{LEGACY_V4}/24", f"{LEGACY_V6}/64"], cls.mxns, ["198.51.100.1/24", "2001:db8:1::1/64"])
        cls.legacy.ip("route", "add", "default", "via", "198.51.100.1")
        cls.legacy.ip("-6", "route", "add", "default", "via", "2001:db8:1::1")
        for address in (f"{MX_V4}/32", f"{NOTLS_MX_V4}/32", f"{MX_V6}/128"):
            cls.mxns.ip("addr", "add", address, "dev", "lo")
        cls.load_rules()

        cls.mx_leaf = cls.leaf("mx.remote.test")
        cls.remote_v4 = cls.start_class_mx(MX_V4, leaf=cls.mx_leaf, hostname="mx.remote.test")
        cls.remote_v6 = cls.start_class_mx(MX_V6, leaf=cls.mx_leaf, hostname="mx.remote.test")
        cls.notls = cls.start_class_mx(NOTLS_MX_V4, hostname="mx.notls.test")

        from fixtures.dns_server import DnsServer
        workdir = cls.class_subdir("dns")
        zones = [
            zone("remote.test", "@ MX 10 mx", f"mx A {MX_V4}", f"mx AAAA {MX_V6}"),
            zone("notls.test", "@ MX 10 mx", f"mx A {NOTLS_MX_V4}"),
            # An MX elsewhere: the legacy MTA's destination is none of its hosts (a transport map, say).
            zone("other.test", "@ MX 10 mx", "mx A 192.0.2.99"),
            zone("lax.test", "@ MX 10 mx", "mx A 192.0.2.99"),
            zone("broken.test", "@ MX 10 mx", f"mx A {MX_V4}", mode="bogus"),
        ]
        paths = []
        for origin, text in zones:
            paths.append(os.path.join(workdir, f"{origin}.zone"))
            with open(paths[-1], "w") as f:
                f.write(text)
        cls.class_dns = DnsServer(paths, workdir=workdir, wrapper=cls.legacy.wrapper(), run_in=cls.legacy.call).start()
        cls.addClassCleanup(cls.class_dns.stop)

    @classmethod
    def start_class_mx(cls, host, **kwargs):
        mx = cls.mxns.call(lambda: ScriptedMx(host, 25, **kwargs).start())
        cls.addClassCleanup(mx.stop)
        return mx

    @classmethod
    def load_rules(cls):
        raise NotImplementedError

    def setUp(self):
        super().setUp()
        config = self.outbound_config(self.class_dns, default="may", mx_port=25, listen_port=OUTBOUND_PORT,
                                      allow=[f"{LEGACY_V4}/32", f"{LEGACY_V6}/128", "127.0.0.1/32", "::1/128"],
                                      domains={"remote.test": {"level": "verify"}, "notls.test": {"level": "encrypt"},
                                               "other.test": {"level": "verify"}, "broken.test": {"level": "verify"}})
        config["outbound"]["mode"] = "transparent"
        config["outbound"]["listen"] = [f"127.0.0.1:{OUTBOUND_PORT}", f"[::1]:{OUTBOUND_PORT}"]
        self.start_outbound(config, wrapper=self.legacy.wrapper())
        self.marks = {id(mx): len(mx.connections) for mx in (self.remote_v4, self.remote_v6, self.notls)}

    def new_connections(self, mx):
        with mx.lock:
            return mx.connections[self.marks[id(mx)]:]

    def legacy_send(self, destination, rcpt, sender="alice@sender.test"):
        """What the legacy MTA heard, sending one message to destination:25 as uid LEGACY_UID."""
        r = self.legacy.run("setpriv", f"--reuid={LEGACY_UID}", f"--regid={LEGACY_UID}", "--clear-groups",
                            system_python(), "-c", LEGACY_CLIENT, destination, sender, rcpt, check=False, timeout=120)
        self.assertEqual(r.returncode, 0, f"legacy client failed:\n{r.stdout}{r.stderr}\n{self.diag()}")
        return json.loads(r.stdout)

    def assertDeliveredOverTls(self, mx, replies, sni="mx.remote.test"):
        self.assertEqual(replies["rcpt"][0], 250, f"{replies}\n{self.diag()}")
        self.assertEqual(replies["data"][0], 250, f"{replies}\n{self.diag()}")
        conns = [c for c in self.new_connections(mx) if c.messages]
        self.assertEqual(len(conns), 1, f"one delivery at {mx.host}\n{self.diag()}")
        self.assertTrue(conns[0].message_tls[0], f"the message went over TLS\n{self.diag()}")
        self.assertEqual(conns[0].sni, sni)
        self.assertIn(b"through the redirect", conns[0].messages[0])
        self.assertNoPlaintextEnvelope(mx)

    # --- the tests ---------------------------------------------------------------------------------
    def test_ipv4_mail_arrives_at_its_original_destination_over_verified_tls(self):
        replies = self.legacy_send(MX_V4, "bob@remote.test")
        # The legacy MTA was talking to mxguard, which greets as itself.
        self.assertIn("mxguard", replies["greeting"][1])
        self.assertDeliveredOverTls(self.remote_v4, replies)
        # mxguard's own connection to the MX was not redirected: it came from the legacy host's address.
        self.assertEqual(self.new_connections(self.remote_v4)[0].peer[0], LEGACY_V4)
        event = self.wait_tls_event(domain="remote.test", verdict="delivered")
        self.assertTlsEvent(event, mx="mx.remote.test", mx_address=f"{MX_V4}:25", policy="verify",
                            policy_source="config", tls=True)
        self.assertTrue(event["peer"].startswith(LEGACY_V4 + ":"), event)
        self.wait_log_line("original destination 203.0.113.25:25 is mx.remote.test")
        self.wait_log_line("outbound remote.test via mx.remote.test 203.0.113.25:25", "delivered")

    def test_ipv6_mail_arrives_at_its_original_destination_over_verified_tls(self):
        replies = self.legacy_send(MX_V6, "bob@remote.test")
        self.assertDeliveredOverTls(self.remote_v6, replies)
        self.assertEqual(self.new_connections(self.remote_v6)[0].peer[0], LEGACY_V6)
        event = self.wait_tls_event(domain="remote.test", verdict="delivered")
        self.assertTlsEvent(event, mx="mx.remote.test", mx_address=f"[{MX_V6}]:25", tls=True)
        self.assertEqual(self.new_connections(self.remote_v4), [], "the IPv4 MX was not the destination")

    def test_policy_refuses_an_mx_without_starttls_and_sends_nothing(self):
        replies = self.legacy_send(NOTLS_MX_V4, "bob@notls.test")
        code, text = replies["rcpt"]
        self.assertEqual(code, 451, f"{replies}\n{self.diag()}")
        self.assertTrue(text.startswith("4.7.4"), text)
        self.assertIn("notls.test", text)
        self.assertIn("mx.notls.test", text)
        self.assertNotIn("data", replies)
        self.assertNothingDelivered(self.notls)
        event = self.wait_tls_event(domain="notls.test", verdict="refused")
        self.assertTlsEvent(event, mx="mx.notls.test", mx_address=f"{NOTLS_MX_V4}:25", policy="encrypt",
                            reason="starttls-not-supported")


class TransparentOutboundNftables(TransparentOutboundTests, OutboundTestCase):
    firewall = "nft"

    @classmethod
    def load_rules(cls):
        # The file as shipped; the values on the command line, as deploy/README.md says.
        cls.legacy.run("nft", "-D", f"LEGACY_USER={LEGACY_UID}", "-D", f"MXGUARD_USER={MXGUARD_UID}",
                       "-D", f"OUTBOUND_PORT={OUTBOUND_PORT}", "-f", NFT_RULES)
        # Twice: the file replaces its table, it does not add a second set of rules.
        cls.legacy.run("nft", "-D", f"LEGACY_USER={LEGACY_UID}", "-D", f"MXGUARD_USER={MXGUARD_UID}",
                       "-D", f"OUTBOUND_PORT={OUTBOUND_PORT}", "-f", NFT_RULES)
        rules = cls.legacy.run("nft", "list", "table", "inet", "mxguard_transparent").stdout
        assert rules.count("redirect to :10025") == 1, rules

    # Naming the destination, and a connection that was not redirected: the same code whichever rules
    # redirect, so they run with one of them.
    def test_a_destination_that_is_no_mx_host_is_checked_as_an_address_literal(self):
        # other.test's MX is elsewhere; the legacy MTA went to 203.0.113.25 anyway. Its certificate is for
        # mx.remote.test, not for that address: verify refuses, and nothing is sent.
        replies = self.legacy_send(MX_V4, "bob@other.test")
        code, text = replies["rcpt"]
        self.assertEqual(code, 451, f"{replies}\n{self.diag()}")
        self.assertTrue(text.startswith("4.7.5"), text)
        self.assertIn(MX_V4, text)
        self.assertNoPlaintextEnvelope(self.remote_v4)
        self.assertNothingDelivered(self.remote_v4)
        event = self.wait_tls_event(domain="other.test", verdict="refused")
        self.assertTlsEvent(event, mx=MX_V4, mx_address=f"{MX_V4}:25", reason="certificate-host-mismatch")
        self.wait_log_line("original destination 203.0.113.25:25 is 203.0.113.25",
                           "no MX host of other.test has address 203.0.113.25")

    def test_an_address_literal_is_good_enough_where_the_policy_does_not_check_names(self):
        # may: the certificate is not checked, so the literal carries the mail (over TLS, without SNI).
        replies = self.legacy_send(MX_V4, "bob@lax.test")
        self.assertDeliveredOverTls(self.remote_v4, replies, sni=None)
        event = self.wait_tls_event(domain="lax.test", verdict="delivered")
        self.assertTlsEvent(event, mx=MX_V4, mx_address=f"{MX_V4}:25", policy="may", tls=True)

    def test_a_failed_name_lookup_is_a_temporary_dns_failure_not_a_certificate_failure(self):
        replies = self.legacy_send(MX_V4, "bob@broken.test")
        code, text = replies["rcpt"]
        self.assertEqual(code, 451, f"{replies}\n{self.diag()}")
        self.assertTrue(text.startswith("4.4.3"), text)
        self.assertIn("broken.test", text)
        self.assertEqual(self.new_connections(self.remote_v4), [], "not contacted")
        self.assertEqual(self.tls_events(domain="broken.test"), [], "no TLS decision was made")

    def test_a_connection_that_was_not_redirected_is_delivered_as_in_relay_mode(self):
        # Straight to the listener (root's connections are not redirected): no original destination, so
        # the recipient domain's MX hosts, found in DNS.
        c = self.legacy.call(self.connect_outbound)
        reply = self.send_message(c, b"Subject: direct\r\n\r\nnot redirected\r\n", rcpts=("bob@remote.test",))
        self.assertReply(reply, 250)
        c.command("QUIT")
        delivered = [conn for mx in (self.remote_v4, self.remote_v6) for conn in self.new_connections(mx) if conn.messages]
        self.assertEqual(len(delivered), 1, self.diag())
        self.assertTrue(delivered[0].message_tls[0])
        self.wait_log_line("was not redirected", "relay mode")
        self.wait_tls_event(domain="remote.test", verdict="delivered", mx="mx.remote.test")


class TransparentOutboundIptables(TransparentOutboundTests, OutboundTestCase):
    firewall = "iptables"

    @classmethod
    def load_rules(cls):
        env = dict(os.environ, LEGACY_USER=str(LEGACY_UID), MXGUARD_USER=str(MXGUARD_UID),
                   OUTBOUND_PORT=str(OUTBOUND_PORT))
        for _ in range(2):   # twice: the script replaces its chain
            cls.legacy.run("sh", IPTABLES_RULES, env=env)
        for ipt in ("iptables", "ip6tables"):
            rules = cls.legacy.run(ipt, "-t", "nat", "-S").stdout
            assert rules.count("-j REDIRECT --to-ports 10025") == 1, rules
            assert rules.count("-A OUTPUT -p tcp -m tcp --dport 25 -j MXGUARD_TRANSPARENT") == 1, rules


# --- inbound: backend_protocol = "tproxy" --------------------------------------------------------------
#
#   [client] 198.51.100.10, 2001:db8:1::10  --  198.51.100.1, 2001:db8:1::1 [mxguard] 203.0.113.1, 2001:db8:2::1
#                                                  inbound listener :25          --  203.0.113.25, 2001:db8:2::25 [backend]
#                                                  (no forwarding)                   default route via mxguard
#
# mxguard connects to the backend from the client's address; the backend's replies go to that address
# through its default gateway, the mxguard namespace, whose rules (loaded from deploy/firewall/) hand
# them to mxguard's socket. Forwarding is off there, so nothing but those rules can carry them.
TPROXY_RULES_NFT = os.path.join(DEPLOY, "tproxy-inbound.nft")
TPROXY_RULES_IPTABLES = os.path.join(DEPLOY, "tproxy-inbound.iptables.sh")
TPROXY_ROUTING = os.path.join(DEPLOY, "tproxy-routing.sh")
CLIENT_V4, CLIENT_V6 = "198.51.100.10", "2001:db8:1::10"
INBOUND_V4, INBOUND_V6 = "198.51.100.1", "2001:db8:1::1"
BACKEND_V4, BACKEND_V6 = "203.0.113.25", "2001:db8:2::25"


def smtp_dialogue(server, starttls=True):
    """A whole SMTP session through mxguard from the client namespace: EHLO, STARTTLS, EHLO, MAIL, RCPT,
    DATA, QUIT; returns the replies."""
    import smtplib
    import ssl
    out = {}
    s = smtplib.SMTP(timeout=30, local_hostname="client.test")
    s._host = server   # what SMTP(host) would set; connect() alone leaves it empty, and starttls() needs it
    out["greeting"] = s.connect(server, 25)
    out["ehlo"] = s.ehlo()
    if starttls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE   # mxguard's self-signed certificate: the test is the routing
        out["starttls"] = s.starttls(context=context)
        out["ehlo_tls"] = s.ehlo()
    out["mail"] = s.mail("alice@client.test")
    out["rcpt"] = s.rcpt("bob@example.test")
    out["data"] = s.data(b"Subject: tproxy\r\n\r\nfrom the client's own address\r\n")
    out["quit"] = s.quit()
    return out


def greeting_only(server):
    """The first reply of a session from the client namespace (the connection is closed after it)."""
    import smtplib
    s = smtplib.SMTP(timeout=30)
    try:
        return s.connect(server, 25)
    finally:
        s.close()


class TproxyInboundTests:
    firewall = None   # "nft" | "iptables"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.lab = netns.Lab("t" + cls.firewall[0])
        cls.addClassCleanup(cls.lab.close)
        cls.client, cls.gw, cls.backend_ns = cls.lab.host("client"), cls.lab.host("mxguard"), cls.lab.host("backend")
        cls.lab.link(cls.client, [f"{CLIENT_V4}/24", f"{CLIENT_V6}/64"], cls.gw, [f"{INBOUND_V4}/24", f"{INBOUND_V6}/64"])
        cls.lab.link(cls.gw, ["203.0.113.1/24", "2001:db8:2::1/64"], cls.backend_ns, [f"{BACKEND_V4}/24", f"{BACKEND_V6}/64"])
        cls.client.ip("route", "add", "default", "via", INBOUND_V4)
        cls.client.ip("-6", "route", "add", "default", "via", INBOUND_V6)
        cls.backend_ns.ip("route", "add", "default", "via", "203.0.113.1")
        cls.backend_ns.ip("-6", "route", "add", "default", "via", "2001:db8:2::1")
        cls.gw.run("sysctl", "-qw", "net.ipv4.ip_forward=0", "net.ipv6.conf.all.forwarding=0")
        cls.load_rules()
        cls.route()
        cls.backend_v4 = cls.backend_ns.call(lambda: ScriptedBackend(host=BACKEND_V4, port=25).start())
        cls.addClassCleanup(cls.backend_v4.stop)
        cls.backend_v6 = cls.backend_ns.call(lambda: ScriptedBackend(host=BACKEND_V6, port=25).start())
        cls.addClassCleanup(cls.backend_v6.stop)

    @classmethod
    def route(cls, *args):
        cls.gw.run("sh", TPROXY_ROUTING, *args, env=dict(os.environ, TPROXY_MARK="0x1", TPROXY_TABLE="100"))

    def start_tproxy_mxguard(self, backend, limits=None):
        config = mxguard_config(self.tmp, 25, backend_protocol="tproxy", limits=limits)
        config["inbound"]["listen"] = [f"{INBOUND_V4}:25", f"[{INBOUND_V6}]:25"]
        config["inbound"]["backend"] = backend
        return self.start_mxguard(config, wrapper=self.gw.wrapper())

    def connections_from(self, backend, peer):
        with backend.lock:
            return [c for c in backend.connections if c.peer[0] == peer]

    def assertWholeDialogue(self, replies):
        self.assertEqual(replies["greeting"][0], 220, replies)
        self.assertIn(b"scripted backend", replies["greeting"][1], "the backend's own greeting, relayed")
        self.assertEqual(replies["starttls"][0], 220, replies)
        for step in ("mail", "rcpt"):
            self.assertEqual(replies[step][0], 250, replies)
        self.assertEqual(replies["data"][0], 250, replies)
        self.assertEqual(replies["quit"][0], 221, replies)

    def test_ipv4_backend_sees_the_clients_address_and_answers_it(self):
        self.start_tproxy_mxguard(f"{BACKEND_V4}:25")
        replies = self.client.call(smtp_dialogue, INBOUND_V4)
        self.assertWholeDialogue(replies)
        conns = self.connections_from(self.backend_v4, CLIENT_V4)
        self.assertEqual(len(conns), 1, f"the backend's peers: {[c.peer for c in self.backend_v4.connections]}")
        self.assertEqual(len(conns[0].messages), 1)
        self.assertIn(b"from the client's own address", conns[0].messages[0])
        self.assertEqual(conns[0].proxy_header, None)
        self.assertNotIn(b"XCLIENT", bytes(conns[0].received), "the address is the connection's own, nothing says it")

    def test_ipv6_backend_sees_the_clients_address_and_answers_it(self):
        self.start_tproxy_mxguard(f"[{BACKEND_V6}]:25")
        replies = self.client.call(smtp_dialogue, INBOUND_V6)
        self.assertWholeDialogue(replies)
        conns = self.connections_from(self.backend_v6, CLIENT_V6)
        self.assertEqual(len(conns), 1, f"the backend's peers: {[c.peer for c in self.backend_v6.connections]}")
        self.assertEqual(len(conns[0].messages), 1)

    def test_a_client_of_the_other_family_than_the_backend_is_refused_with_the_reason(self):
        mx = self.start_tproxy_mxguard(f"{BACKEND_V4}:25")
        greeting = self.client.call(greeting_only, INBOUND_V6)
        self.assertEqual(greeting[0], 421, greeting)
        self.assertTrue(greeting[1].startswith(b"4.3.2"), greeting)
        mx.wait_log("which is of the other address family")

    def test_without_the_routing_rules_the_backend_cannot_answer(self):
        # The proof that the shipped routing is what carries the replies: without it the backend's
        # SYN-ACK to the client's address has nowhere to go, and the client gets 421 4.3.2 in time.
        self.route("remove")
        self.addCleanup(self.route)
        mx = self.start_tproxy_mxguard(f"{BACKEND_V4}:25", limits={"backend_connect_timeout": 2})
        before = len(self.connections_from(self.backend_v4, CLIENT_V4))
        greeting = self.client.call(greeting_only, INBOUND_V4)
        self.assertEqual(greeting[0], 421, greeting)
        self.assertEqual(len(self.connections_from(self.backend_v4, CLIENT_V4)), before, "no connection completed")
        mx.wait_log("timed out connecting to backend")


class TproxyInboundNftables(TproxyInboundTests, IntegrationTestCase):
    firewall = "nft"

    @classmethod
    def load_rules(cls):
        for _ in range(2):   # twice: it replaces its table
            cls.gw.run("nft", "-D", "BACKEND_PORT=25", "-D", "TPROXY_MARK=0x1", "-f", TPROXY_RULES_NFT)


class TproxyInboundIptables(TproxyInboundTests, IntegrationTestCase):
    firewall = "iptables"

    @classmethod
    def load_rules(cls):
        env = dict(os.environ, BACKEND_PORT="25", TPROXY_MARK="0x1")
        for _ in range(2):   # twice: it replaces its chain
            cls.gw.run("sh", TPROXY_RULES_IPTABLES, env=env)
        for ipt in ("iptables", "ip6tables"):
            rules = cls.gw.run(ipt, "-t", "mangle", "-S").stdout
            assert rules.count("-j MXGUARD_TPROXY") == 1, rules


class TproxyCheckConfig(IntegrationTestCase):
    """check-config explains what tproxy needs, and warns when the process lacks CAP_NET_ADMIN."""

    def config_path(self):
        path = os.path.join(self.tmp, "tproxy.toml")
        with open(path, "w") as f:
            f.write('[inbound]\nlisten = ["127.0.0.1:2525"]\nbackend = "192.0.2.25:25"\nbackend_protocol = "tproxy"\n'
                    f'[server]\nstate_dir = "{self.tmp}"\n')
        os.chmod(self.tmp, 0o755)
        return path

    def test_root_gets_the_explanation_and_no_warning(self):
        r = run_cli("check-config", "--config", self.config_path())
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn('note: inbound.backend_protocol = "tproxy": mxguard connects to the backend from each '
                      "client's own address (IP_TRANSPARENT), which needs CAP_NET_ADMIN", r.stdout)
        self.assertIn("deploy/firewall/tproxy-", r.stdout)
        self.assertNotIn("warning", r.stdout)

    def test_a_process_without_cap_net_admin_is_warned(self):
        path = self.config_path()
        r = subprocess.run([tools.require("setpriv"), "--reuid=65534", "--regid=65534", "--clear-groups",
                            tools.mxguard_bin(), "check-config", "--config", path],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn('warning: inbound.backend_protocol: "tproxy" needs CAP_NET_ADMIN, and this process '
                      "(uid 65534) does not have it", r.stdout)
        r = subprocess.run([tools.require("setpriv"), "--reuid=65534", "--regid=65534", "--clear-groups",
                            "--inh-caps=+net_admin", "--ambient-caps=+net_admin",
                            tools.mxguard_bin(), "check-config", "--config", path],
                           capture_output=True, text=True, timeout=60)
        self.assertNotIn("warning", r.stdout, "CAP_NET_ADMIN as an ambient capability is enough")


if __name__ == "__main__":
    unittest.main()

"""The Prometheus endpoint ([metrics] listen, GET /metrics), scraped during and after real sessions:
inbound (smtplib, a real SMTP client, with and without STARTTLS, into the scripted backend; a failed
handshake), outbound (a delivery over TLS to a scripted MX, a policy refusal), MTA-STS fetches (a real
nginx and DNS, as test_mta_sts does). Each scrape is checked by Prometheus's own parser (`promtool check
metrics`, Debian package prometheus; a missing promtool fails these tests), and the counters each session
moved are compared with what it did. Also: the endpoint's HTTP (404, 405, HEAD, 400, 414, one response per
connection), scrapes answered while mxguard drains and gone after it exits, a port in use, the example
rules of deploy/prometheus (`promtool check rules`, `promtool test rules`), and docs/operations.md naming
exactly the metrics mxguard exposes.
"""
import http.client
import os
import re
import signal
import smtplib
import socket
import ssl
import statistics
import subprocess
import sys
import time

import test_mta_sts as sts   # its base class and zone/policy helpers (the module's own tests stay there)
from fixtures import ports, tools
from fixtures.hardening import message
from fixtures.https_server import Site
from fixtures.mxguard import run_cli
from fixtures.outbound import zone

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MSG = message("metrics", b"first line\r\n.a dot line\r\nlast line\r\n", sender="alice@sender.test")
IN, OUT = 'direction="inbound"', 'direction="outbound"'


def parse_exposition(text):
    """{series: value} for every sample line, the series spelt as mxguard writes it (name{labels})."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        series, value = line.rsplit(" ", 1)
        samples[series] = float(value)
    return samples


def families(text):
    return re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M)


class Metrics(dict):
    """A parsed scrape: m["mxguard_sessions_total", IN, 'tls="none"'] is that series' value."""

    def __getitem__(self, key):
        if isinstance(key, tuple):
            name, *labels = key
            key = f"{name}{{{','.join(labels)}}}" if labels else name
        if key not in self:
            raise AssertionError(f"no series {key} in the scrape")
        return dict.__getitem__(self, key)

    def total(self, name, *labels):
        """The sum over every series of `name` that has all of `labels`."""
        return sum(v for k, v in self.items()
                   if k.split("{", 1)[0] == name and all(l in k for l in labels))


class MetricsTestCase(sts.MtaStsTestCase):
    """mxguard with an inbound listener (a scripted backend, a test-CA certificate for mx.test), an
    outbound listener (relay mode, scripted MX hosts on the class's DNS) and the metrics endpoint."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.promtool = tools.require("promtool")
        cls.start_class_dns(
            zone("example.test", "@ MX 10 mx", "mx A 127.0.0.2"),
            zone("plain.test", "@ MX 10 mx", "mx A 127.0.0.3"),
            sts.sts_zone("fetched.test", "127.0.0.4"),
            zone("nohost.test", "@ MX 10 mx", "mx A 127.0.0.4", '_mta-sts TXT "v=STSv1; id=1;"'),
            zone("badtxt.test", "@ MX 10 mx", "mx A 127.0.0.4", '_mta-sts TXT "v=STSv1; id=not-an-id!;"'),
        )
        cls.inbound_leaf = cls.leaf("mx.test")

    def start_all(self, mta_sts_port=None, inbound_limits=None, server=None, inbound=None):
        self.be = self.start_backend()
        cfg = self.outbound_config(self.class_dns, domains={"plain.test": {"level": "encrypt"}})
        inbound_port = ports.free_port()
        self.metrics_port = ports.free_port()
        cfg["inbound"] = {
            "listen": [f"127.0.0.1:{inbound_port}"],
            "backend": f"127.0.0.1:{self.be.port}",
            "certificate": [{"cert": self.inbound_leaf.chain, "key": self.inbound_leaf.key}],
            "limits": {"backend_connect_timeout": 5, "greeting_timeout": 5, **(inbound_limits or {})},
            **(inbound or {}),
        }
        cfg["metrics"] = {"listen": f"127.0.0.1:{self.metrics_port}"}
        cfg["server"].update(server or {})
        if mta_sts_port:
            cfg["mta_sts"] = {"enabled": True, "cache_file": os.path.join(self.tmp, "mta-sts.cache"),
                              "ca_file": self.sts_ca, "https_port": mta_sts_port, "fetch_timeout": 10}
        outbound_port = int(cfg["outbound"]["listen"][0].rsplit(":", 1)[1])
        ob = self.start_outbound(cfg, listen_ports=[inbound_port, outbound_port, self.metrics_port])
        self.inbound_port = inbound_port
        return ob

    # --- scraping ------------------------------------------------------------------------------------
    def request(self, method="GET", path="/metrics"):
        conn = http.client.HTTPConnection("127.0.0.1", self.metrics_port, timeout=10)
        try:
            conn.request(method, path)
            r = conn.getresponse()
            return r.status, dict(r.getheaders()), r.read()
        finally:
            conn.close()

    def check_with_promtool(self, text):
        r = subprocess.run([self.promtool, "check", "metrics"], input=text, capture_output=True, text=True,
                           timeout=60)
        # promtool prints lint problems (names, units, HELP) and fails on any parse error.
        self.assertEqual((r.returncode, r.stdout.strip(), r.stderr.strip()), (0, "", ""),
                         f"promtool check metrics rejected the scrape:\n{text[:3000]}")

    def scrape_text(self):
        status, headers, body = self.request()
        self.assertEqual(status, 200, f"{body[:500]!r}\n{self.diag()}")
        self.assertEqual(headers.get("Content-Type"), CONTENT_TYPE)
        self.assertEqual(headers.get("Connection"), "close")
        self.assertEqual(int(headers.get("Content-Length")), len(body))
        text = body.decode("utf-8")
        self.check_with_promtool(text)
        return text

    def scrape(self):
        return Metrics(parse_exposition(self.scrape_text()))

    def wait_metrics(self, predicate, what, timeout=15):
        """Scrapes until predicate(metrics) holds (a session's end is counted once its last handle has
        closed, a moment after the client saw its last reply); returns that scrape."""
        last = {}

        def check():
            last["m"] = self.scrape()
            return last["m"] if predicate(last["m"]) else None
        return ports.wait_until(check, timeout, lambda: f"{what} (last scrape: {dict(last.get('m', {}))})")

    # --- clients ---------------------------------------------------------------------------------------
    def smtp(self):
        s = smtplib.SMTP("127.0.0.1", self.inbound_port, local_hostname="client.test", timeout=20)
        self.addCleanup(s.close)
        return s

    def tls_context(self):
        ctx = ssl.create_default_context(cafile=self.ca.cert)
        ctx.check_hostname = False   # the certificate names mx.test; smtplib checks against 127.0.0.1
        return ctx


class Exposition(MetricsTestCase):
    def test_a_fresh_process_exposes_every_family_at_zero_and_promtool_accepts_it(self):
        self.start_all()
        text = self.scrape_text()
        m = Metrics(parse_exposition(text))
        version = run_cli("version").stdout.split()[-1]
        self.assertEqual(m[f'mxguard_build_info{{version="{version}"}}'], 1)
        types = dict(families(text))
        self.assertEqual(types["mxguard_sessions_total"], "counter")
        self.assertEqual(types["mxguard_sessions_active"], "gauge")
        self.assertEqual(types["mxguard_session_duration_seconds"], "histogram")
        self.assertEqual(types["mxguard_tls_handshake_duration_seconds"], "histogram")
        for direction in (IN, OUT):
            for tls in ("established", "failed", "none"):
                self.assertEqual(m["mxguard_sessions_total", direction, f'tls="{tls}"'], 0)
            self.assertEqual(m["mxguard_sessions_active", direction], 0)
            self.assertEqual(m["mxguard_session_duration_seconds_bucket", direction, 'le="+Inf"'], 0)
            for step in ("offered", "attempted", "succeeded"):
                self.assertEqual(m[f"mxguard_starttls_{step}_total", direction], 0)
        self.assertEqual(m["mxguard_audit_write_errors_total"], 0)
        self.assertNotIn("mxguard_mta_sts_cached_policies", types, "MTA-STS is off in this configuration")
        # Every series is there from the start, except policy verdicts (which appear per level and source).
        print(f"\n{len(types)} metric families, {len(m)} series in a fresh scrape", file=sys.stderr)

    def test_scraping_is_fast_and_takes_nothing_from_the_workers(self):
        self.start_all()
        times = []
        for _ in range(50):
            began = time.perf_counter()
            status, _, _ = self.request()
            times.append(time.perf_counter() - began)
            self.assertEqual(status, 200)
        # No timed assertion (the machine is shared); the figure is for docs/operations.md.
        print(f"\nscrape round trip: median {statistics.median(times) * 1000:.2f} ms, "
              f"max {max(times) * 1000:.2f} ms over {len(times)}", file=sys.stderr)
        # A session right after 50 scrapes is served as ever.
        s = self.smtp()
        self.assertEqual(s.ehlo()[0], 250)
        s.quit()


class InboundCounters(MetricsTestCase):
    def setUp(self):
        super().setUp()
        self.start_all(inbound_limits={"tls_handshake_timeout": 1})

    def test_tls_and_plaintext_sessions_move_their_counters_during_and_after(self):
        plain = self.smtp()
        code, _ = plain.ehlo()
        self.assertEqual(code, 250)
        self.assertTrue(plain.has_extn("starttls"))
        during = self.scrape()
        self.assertEqual(during["mxguard_sessions_active", IN], 1)
        self.assertEqual(during["mxguard_starttls_offered_total", IN], 1)
        self.assertEqual(during["mxguard_sessions_total", IN, 'tls="none"'], 0, "counted only at its end")
        self.assertEqual(plain.sendmail("alice@sender.test", ["bob@example.test"], MSG), {})
        plain.quit()

        tls = self.smtp()
        tls.ehlo()
        tls.starttls(context=self.tls_context())
        tls.ehlo()
        self.assertFalse(tls.has_extn("starttls"), "STARTTLS is never offered inside TLS")
        during = self.wait_metrics(lambda m: m["mxguard_sessions_total", IN, 'tls="none"'] == 1,
                                   "the plaintext session's end")
        self.assertEqual(during["mxguard_sessions_active", IN], 1)
        self.assertEqual(during["mxguard_starttls_attempted_total", IN], 1)
        self.assertEqual(during["mxguard_starttls_succeeded_total", IN], 1)
        self.assertEqual(during["mxguard_tls_handshake_duration_seconds_count", IN], 1)
        self.assertGreater(during["mxguard_tls_handshake_duration_seconds_sum", IN], 0)
        self.assertEqual(during["mxguard_sessions_total", IN, 'tls="established"'], 0)
        self.assertEqual(tls.sendmail("alice@sender.test", ["bob@example.test"], MSG), {})
        tls.quit()

        after = self.wait_metrics(lambda m: m["mxguard_sessions_total", IN, 'tls="established"'] == 1,
                                  "the TLS session's end")
        self.assertEqual(after["mxguard_sessions_total", IN, 'tls="none"'], 1)
        self.assertEqual(after["mxguard_sessions_total", IN, 'tls="failed"'], 0)
        self.assertEqual(after["mxguard_sessions_active", IN], 0)
        self.assertEqual(after["mxguard_starttls_offered_total", IN], 2, "each session once")
        self.assertEqual(after["mxguard_starttls_attempted_total", IN], 1)
        self.assertEqual(after["mxguard_starttls_succeeded_total", IN], 1)
        self.assertEqual(after.total("mxguard_tls_handshake_failures_total", IN), 0)
        self.assertEqual(after["mxguard_session_duration_seconds_count", IN], 2)
        self.assertEqual(after["mxguard_session_duration_seconds_bucket", IN, 'le="+Inf"'], 2)
        # The content of both messages, dot-stuffed and with its terminating dot, went to the backend.
        relayed = after["mxguard_relayed_bytes_total", IN]
        self.assertGreaterEqual(relayed, 2 * len(MSG))
        self.assertLessEqual(relayed, 2 * (len(MSG) + 10))
        self.assertEqual(len(self.be.messages()), 2)
        # Nothing outbound moved.
        self.assertEqual(after.total("mxguard_sessions_total", OUT), 0)
        self.assertEqual(after["mxguard_relayed_bytes_total", OUT], 0)

    def test_failed_handshakes_count_by_reason(self):
        c = self.open(port=self.inbound_port)
        self.assertReply(c.read_reply(), 220)
        self.assertReply(c.command("EHLO client.test"), 250)
        self.assertReply(c.command("STARTTLS"), 220)
        c.send(b"this is not a TLS ClientHello\r\n" * 4)
        c.read_until_closed(timeout=15)
        m = self.wait_metrics(lambda m: m["mxguard_sessions_total", IN, 'tls="failed"'] == 1, "the failed session")
        self.assertEqual(m["mxguard_starttls_attempted_total", IN], 1)
        self.assertEqual(m["mxguard_starttls_succeeded_total", IN], 0)
        self.assertEqual(m.total("mxguard_tls_handshake_failures_total", IN), 1)
        self.assertEqual(m["mxguard_tls_handshake_failures_total", IN, 'reason="protocol"'], 1)

        silent = self.open(port=self.inbound_port)
        self.assertReply(silent.read_reply(), 220)
        self.assertReply(silent.command("EHLO client.test"), 250)
        self.assertReply(silent.command("STARTTLS"), 220)   # and no ClientHello: tls_handshake_timeout (1 s)
        silent.read_until_closed(timeout=15)
        m = self.wait_metrics(lambda m: m["mxguard_sessions_total", IN, 'tls="failed"'] == 2, "the silent session")
        self.assertEqual(m["mxguard_tls_handshake_failures_total", IN, 'reason="timeout"'], 1)
        self.assertEqual(m["mxguard_tls_handshake_duration_seconds_count", IN], 0, "only completed handshakes")



class InboundDowngrades(MetricsTestCase):
    def test_a_refused_downgrade_of_a_require_tls_from_sender_is_counted(self):
        self.start_all(inbound={"require_tls_from": ["bank.test"]})
        s = self.smtp()
        s.ehlo()
        code, _ = s.mail("alice@bank.test")
        self.assertEqual(code, 530)
        s.quit()
        m = self.wait_metrics(lambda m: m["mxguard_sessions_total", IN, 'tls="none"'] == 1, "the session's end")
        self.assertEqual(m["mxguard_inbound_downgrades_refused_total"], 1)
        self.ob.wait_audit(event="downgrade-attempt", domain="bank.test")


class DoorRefusals(MetricsTestCase):
    def raw(self, source="127.0.0.1"):
        c = socket.create_connection(("127.0.0.1", self.inbound_port), timeout=20, source_address=(source, 0))
        self.addCleanup(c.close)
        return c

    def read_all(self, c):
        data = b""
        while chunk := c.recv(65536):
            data += chunk
        return data

    def test_refusals_at_the_door_and_abuse_penalties_are_counted_by_reason(self):
        self.start_all(inbound_limits={"max_connections_per_ip": 1, "max_junk_commands": 2,
                                       "abuse_penalty": "1h"})
        m = self.scrape()
        for reason in ("abuse-penalty", "max-connections", "max-connections-per-ip", "descriptors"):
            self.assertEqual(m["mxguard_connections_refused_total", IN, f'reason="{reason}"'], 0)
        self.assertEqual(m["mxguard_abuse_penalties_total", IN], 0)
        # One session held from 127.0.0.2: a second from the same address is over max_connections_per_ip.
        held = self.raw("127.0.0.2")
        self.assertTrue(held.recv(1024).startswith(b"220"))
        self.assertTrue(self.read_all(self.raw("127.0.0.2")).startswith(b"421 4.7.0"))
        held.close()
        # Junk past the limit from 127.0.0.3 begins a penalty; its next connection is refused for it.
        c = self.raw("127.0.0.3")
        self.assertTrue(c.recv(1024).startswith(b"220"))
        c.sendall(b"NOOP\r\nNOOP\r\nNOOP\r\n")
        self.assertIn(b"too many junk commands", self.read_all(c))
        self.assertIn(b"too many errors from your address", self.read_all(self.raw("127.0.0.3")))
        m = self.wait_metrics(lambda m: m["mxguard_connections_refused_total", IN, 'reason="abuse-penalty"'] == 1,
                              "the penalized connection's refusal")
        self.assertEqual(m["mxguard_connections_refused_total", IN, 'reason="max-connections-per-ip"'], 1)
        self.assertEqual(m["mxguard_connections_refused_total", IN, 'reason="max-connections"'], 0)
        self.assertEqual(m["mxguard_abuse_penalties_total", IN], 1)
        self.assertEqual(m["mxguard_abuse_penalties_total", OUT], 0)


class OutboundCounters(MetricsTestCase):
    def setUp(self):
        super().setUp()
        self.tls_mx = self.start_scripted_mx("127.0.0.2", hostname="mx.example.test", leaf=self.leaf("mx.example.test"))
        self.plain_mx = self.start_scripted_mx("127.0.0.3", hostname="mx.plain.test")   # no STARTTLS
        self.start_all()

    def test_a_delivery_over_tls_and_a_policy_refusal_move_their_counters(self):
        c = self.connect_outbound()
        self.assertReply(c.command("MAIL FROM:<alice@sender.test>"), 250)
        self.assertReply(c.command("RCPT TO:<bob@example.test>"), 250)
        # The MX connection's TLS decision is made by now (delivered, over TLS); the session goes on.
        during = self.scrape()
        self.assertEqual(during["mxguard_sessions_active", OUT], 1)
        self.assertEqual(during["mxguard_sessions_total", OUT, 'tls="established"'], 1)
        self.assertEqual(during["mxguard_starttls_offered_total", OUT], 1)
        self.assertEqual(during["mxguard_starttls_attempted_total", OUT], 1)
        self.assertEqual(during["mxguard_starttls_succeeded_total", OUT], 1)
        self.assertEqual(during["mxguard_tls_handshake_duration_seconds_count", OUT], 1)
        verdict = 'level="may"', 'source="default"'
        self.assertEqual(during["mxguard_outbound_policy_verdicts_total", *verdict, 'verdict="delivered"'], 1)
        self.assertEqual(during["mxguard_outbound_policy_verdicts_total", *verdict, 'verdict="refused"'], 0)
        self.assertReply(c.command("DATA"), 354)
        c.send(MSG + b".\r\n")
        self.assertReply(c.read_reply(), 250)
        self.assertReply(c.command("QUIT"), 221)
        after = self.wait_metrics(lambda m: m["mxguard_sessions_active", OUT] == 0, "the delivery session's end")
        self.assertEqual(after["mxguard_session_duration_seconds_count", OUT], 1)
        self.assertGreaterEqual(after["mxguard_relayed_bytes_total", OUT], len(MSG))
        self.assertLessEqual(after["mxguard_relayed_bytes_total", OUT], len(MSG) + 10)
        self.assertEqual(len(self.tls_mx.tls_messages()), 1)

        # encrypt for plain.test, whose MX offers no STARTTLS: refused, 451 4.7.4, nothing sent.
        c = self.connect_outbound()
        self.assertReply(c.command("MAIL FROM:<alice@sender.test>"), 250)
        self.assertPolicyRefusal(c.command("RCPT TO:<carol@plain.test>"), "4.7.4", "plain.test", "mx.plain.test")
        self.assertReply(c.command("QUIT"), 221)
        self.assertNothingDelivered(self.plain_mx)
        m = self.wait_metrics(lambda m: m["mxguard_sessions_active", OUT] == 0, "the refused session's end")
        refused = 'level="encrypt"', 'source="config"'
        self.assertEqual(m["mxguard_outbound_policy_verdicts_total", *refused, 'verdict="refused"'], 1)
        self.assertEqual(m["mxguard_outbound_policy_verdicts_total", *refused, 'verdict="delivered"'], 0)
        self.assertEqual(m["mxguard_outbound_policy_failures_total", 'verdict="refused"',
                           'reason="starttls-not-supported"'], 1)
        self.assertEqual(m.total("mxguard_outbound_policy_failures_total", 'verdict="refused"'), 1)
        # The refused MX connection had no TLS: a session with tls="none"; STARTTLS neither offered nor tried.
        self.assertEqual(m["mxguard_sessions_total", OUT, 'tls="none"'], 1)
        self.assertEqual(m["mxguard_sessions_total", OUT, 'tls="established"'], 1)
        self.assertEqual(m["mxguard_starttls_offered_total", OUT], 1)
        self.assertEqual(m["mxguard_starttls_attempted_total", OUT], 1)
        self.assertEqual(m["mxguard_session_duration_seconds_count", OUT], 2)
        self.assertEqual(m.total("mxguard_tls_handshake_failures_total", OUT), 0)
        # Every verdict is one tls-policy audit event, and the other way round.
        audited = [e for e in self.ob.audit_events() if e.get("event") == "tls-policy"]
        self.assertEqual(len(audited), m.total("mxguard_outbound_policy_verdicts_total"), audited)
        # Nothing inbound moved.
        self.assertEqual(m.total("mxguard_sessions_total", IN), 0)


class MtaStsCounters(MetricsTestCase):
    def test_fetch_results_and_the_cache_are_counted(self):
        web = self.start_web(Site("fetched.test", body=sts.policy(domain="fetched.test")))
        self.start_scripted_mx("127.0.0.4", hostname="mx.fetched.test", leaf=self.leaf("mx.fetched.test"))
        self.start_all(mta_sts_port=web.port)
        m = self.scrape()
        self.assertEqual(m["mxguard_mta_sts_cached_policies"], 0)
        self.assertEqual(m["mxguard_mta_sts_cache_write_errors_total"], 0)
        self.assertEqual(m.total("mxguard_mta_sts_fetches_total"), 0)
        self.deliver("bob@fetched.test")
        # No address for mta-sts.nohost.test (a fetch error), a TXT record that is not valid (invalid): the
        # mail goes as if the domain had no policy (RFC 8461 §3.3).
        self.deliver("bob@nohost.test")
        self.deliver("bob@badtxt.test")
        m = self.wait_metrics(lambda m: m.total("mxguard_mta_sts_fetches_total") == 3, "three fetch reports")
        self.assertEqual(m["mxguard_mta_sts_fetches_total", 'result="fetched"'], 1)
        self.assertEqual(m["mxguard_mta_sts_fetches_total", 'result="sts-policy-fetch-error"'], 1)
        self.assertEqual(m["mxguard_mta_sts_fetches_total", 'result="sts-policy-invalid"'], 1)
        self.assertEqual(m["mxguard_mta_sts_fetches_total", 'result="sts-webpki-invalid"'], 0)
        self.assertEqual(m["mxguard_mta_sts_cached_policies"], 1)
        self.assertEqual(m["mxguard_outbound_policy_verdicts_total", 'level="mta-sts"', 'source="mta-sts"',
                           'verdict="delivered"'], 1)
        fetch_events = [e for e in self.ob.audit_events() if e.get("event") == "mta-sts-fetch"]
        self.assertEqual(len(fetch_events), 3, fetch_events)


class Endpoint(MetricsTestCase):
    def setUp(self):
        super().setUp()
        self.start_all(server={"shutdown_grace": 20})

    def raw(self, data):
        with socket.create_connection(("127.0.0.1", self.metrics_port), timeout=10) as s:
            s.sendall(data)
            got = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    return got   # the server closed: one response per connection
                got += chunk

    def test_only_get_and_head_of_metrics_are_answered(self):
        status, headers, body = self.request("GET", "/")
        self.assertEqual(status, 404)
        status, headers, _ = self.request("POST", "/metrics")
        self.assertEqual((status, headers.get("Allow")), (405, "GET, HEAD"))
        status, headers, body = self.request("HEAD", "/metrics")
        self.assertEqual((status, body), (200, b""))
        self.assertGreater(int(headers["Content-Length"]), 1000)
        self.assertTrue(self.raw(b"GET /metrics HTTP/1.1\r\nHost : x\r\n\r\n").startswith(b"HTTP/1.1 400 "))
        self.assertTrue(self.raw(b"GET /" + b"a" * 9000).startswith(b"HTTP/1.1 414 "))
        # Two requests on one connection: one response, then the close (nothing pipelined is read).
        two = self.raw(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertEqual(two.count(b"HTTP/1.1 "), 1)
        self.assertTrue(two.startswith(b"HTTP/1.1 200 OK\r\n"))

    def test_scrapes_are_answered_while_draining_and_the_endpoint_goes_with_the_process(self):
        s = self.smtp()
        s.ehlo()
        s.mail("alice@sender.test")
        s.rcpt("bob@example.test")
        code, _ = s.docmd("DATA")
        self.assertEqual(code, 354)
        s.send(b"Subject: draining\r\n\r\nfirst part\r\n")
        self.ob.signal(signal.SIGTERM)
        self.ob.wait_log("stopped accepting")
        m = self.scrape()
        self.assertEqual(m["mxguard_sessions_active", IN], 1, "the session in DATA is given its grace")
        s.send(b"last part\r\n.\r\n")
        self.assertEqual(s.getreply()[0], 250)
        try:
            s.quit()
        except smtplib.SMTPServerDisconnected:
            pass
        self.assertEqual(self.ob.wait_exit(timeout=30), 0)
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", self.metrics_port), timeout=2).close()


class Configuration(MetricsTestCase):
    def test_a_metrics_port_in_use_is_one_clear_error(self):
        busy = socket.socket()
        self.addCleanup(busy.close)
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        cfg = self.outbound_config(self.class_dns, metrics={"listen": f"127.0.0.1:{port}"})
        path = os.path.join(self.tmp, "busy.toml")
        from fixtures.mxguard import to_toml
        with open(path, "w") as f:
            f.write(to_toml(cfg) + "\n")
        r = subprocess.run([tools.mxguard_bin(), "run", "--config", path], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(f"metrics.listen: cannot listen on 127.0.0.1:{port}", r.stderr)
        self.assertNotIn("mxguard started", r.stderr)


class Rules(MetricsTestCase):
    RULES = [os.path.join(ROOT, "deploy", "prometheus", f) for f in ("mxguard-alerts.yml", "mxguard-rules.yml")]

    def test_the_example_rules_are_valid_and_do_what_they_say(self):
        r = subprocess.run([self.promtool, "check", "rules", *self.RULES], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = subprocess.run([self.promtool, "test", "rules", os.path.join(ROOT, "tests", "prometheus", "rules_test.yml")],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_rules_and_docs_name_exactly_the_metrics_mxguard_exposes(self):
        web = self.start_web(Site("fetched.test", body=sts.policy(domain="fetched.test")))
        self.start_all(mta_sts_port=web.port)   # with MTA-STS on, every family is exposed
        exposed = {name for name, _ in families(self.scrape_text())}
        suffixes = ("_bucket", "_sum", "_count")

        def base(name):
            for s in suffixes:
                if name.endswith(s) and name[:-len(s)] in exposed:
                    return name[:-len(s)]
            return name
        for path in self.RULES:
            with open(path) as f:
                named = {base(n) for n in re.findall(r"\bmxguard_[a-z_]+", f.read())}
            self.assertEqual(named - exposed, set(), f"{path} names metrics mxguard does not expose")
        with open(os.path.join(ROOT, "docs", "operations.md")) as f:
            doc = f.read()
        documented = {base(n) for n in re.findall(r"\bmxguard_[a-z_]+", doc)}
        self.assertEqual(documented - exposed, set(), "docs/operations.md names metrics mxguard does not expose")
        self.assertEqual(exposed - documented, set(), "metrics missing from docs/operations.md")

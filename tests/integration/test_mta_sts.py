"""MTA-STS (RFC 8461) end to end: mxguard's outbound path learns each recipient domain's policy from a
real DNS server (TXT _mta-sts.<domain>, the policy host's address) and a real nginx serving
https://mta-sts.<domain>/.well-known/mta-sts.txt with test-CA certificates, through its own
mxguard-fetch child, and enforces it against scripted MX servers.

What a postmaster relies on, each a test: an enforce policy refuses an MX it does not list and an MX
whose certificate is wrong or that offers no STARTTLS, always with a temporary 451 (the legacy MTA keeps
the mail); testing mode delivers and audits what it would have refused; a domain without a policy, or
whose policy cannot be fetched (404, redirect, wrong type, bad certificate), is delivered as before and
the failure audited; a fetched policy is cached on disk and still enforced after a restart with the
policy host down and the TXT lookup failing; the same TXT id never extends an expired policy; a new id
fetches the new policy; the fetcher killed mid-fetch fails that fetch, never the mail, and is restarted;
the cache file on a disk that really fills up is never truncated, mail goes on under the policies in
memory (a SIGHUP keeps them too), and the file is written again once there is room.
"""
import json
import os
import shutil
import signal
import tempfile
import time
import unittest

from fixtures import ports, small_filesystem
from fixtures.hardening import message
from fixtures.https_server import MtaStsWebServer, Site, StallingTlsServer
from fixtures.mxguard import run_cli
from fixtures.outbound import OutboundTestCase, zone
from fixtures.scrape import scrape

MSG = message("mta-sts", sender="alice@sender.test")


def policy(mode="enforce", mx=("mx.{d}",), max_age=86400, domain=""):
    lines = ["version: STSv1", f"mode: {mode}"] + [f"mx: {m.format(d=domain)}" for m in mx] + [f"max_age: {max_age}"]
    return ("\r\n".join(lines) + "\r\n").encode()


def sts_zone(domain, mx_address, txt_id="20261201T000000", extra=(), mode="unsigned"):
    """A domain with one MX at mx_address, an MTA-STS TXT record (unless txt_id is None) and its policy
    host on 127.0.0.1."""
    records = ["@ MX 10 mx", f"mx A {mx_address}", "mta-sts A 127.0.0.1"]
    if txt_id is not None:
        records.append(f'_mta-sts TXT "v=STSv1; id={txt_id};"')
    return zone(domain, *records, *extra, mode=mode)


class MtaStsTestCase(OutboundTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # mxguard-fetch runs as nobody when the tests run as root: the CA file must be readable to it.
        cls.ca_dir = tempfile.mkdtemp(prefix="mxguard-sts-ca-")
        cls.addClassCleanup(shutil.rmtree, cls.ca_dir, ignore_errors=True)
        os.chmod(cls.ca_dir, 0o755)
        cls.sts_ca = os.path.join(cls.ca_dir, "ca.crt")
        shutil.copy(cls.ca.cert, cls.sts_ca)
        os.chmod(cls.sts_ca, 0o644)

    def start_web(self, *sites):
        web = MtaStsWebServer(self.tmp, self.ca, list(sites)).start()
        self.addCleanup(web.stop)
        return web

    def start_sts(self, web_port, default="may", domains=None, cache_file=None, **kwargs):
        cfg = self.outbound_config(self.dns, default=default, domains=domains, **kwargs)
        cfg["mta_sts"] = {"enabled": True, "cache_file": cache_file or os.path.join(self.tmp, "mta-sts.cache"),
                          "ca_file": self.sts_ca, "https_port": web_port, "fetch_timeout": 10}
        return self.start_outbound(cfg)

    def refused(self, rcpt, enhanced, mx_host, words=()):
        c, r = self.rcpt(rcpt)
        domain = rcpt.split("@", 1)[1]
        self.assertPolicyRefusal(r, enhanced, domain, mx_host, words)
        self.assertReply(c.command("QUIT"), 221)
        return r

    def fetch_events(self, domain):
        return [e for e in self.ob.audit_events() if e.get("event") == "mta-sts-fetch" and e.get("domain") == domain]

    def wait_fetch_event(self, domain, timeout=20, **fields):
        return self.ob.wait_audit(timeout=timeout, event="mta-sts-fetch", domain=domain, **fields)


class Enforcement(MtaStsTestCase):
    """One DNS server and one nginx for the class's domains; each test its own mxguard."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.start_class_dns(
            sts_zone("enforce.test", "127.0.0.2"),
            sts_zone("mismatch.test", "127.0.0.3"),
            sts_zone("testing.test", "127.0.0.4"),
            sts_zone("stripped.test", "127.0.0.5"),
            sts_zone("badcert.test", "127.0.0.6"),
            sts_zone("gone.test", "127.0.0.2"),
            sts_zone("html.test", "127.0.0.2"),
            sts_zone("moved.test", "127.0.0.2"),
            sts_zone("rogue.test", "127.0.0.2"),
            sts_zone("nopolicy.test", "127.0.0.2", txt_id=None),
            sts_zone("none.test", "127.0.0.6"),
            sts_zone("typo.test", "127.0.0.6"),
            sts_zone("big.test", "127.0.0.2"),
        )

    def setUp(self):
        super().setUp()
        rogue = self.rogue_ca.issue("rogue-mta-sts", "mta-sts.rogue.test", ["mta-sts.rogue.test"])
        self.web = self.start_web(
            Site("enforce.test", body=policy(domain="enforce.test")),
            Site("mismatch.test", body=policy(mx=("mx.elsewhere.test",))),
            Site("testing.test", body=policy(mode="testing", domain="testing.test")),
            Site("stripped.test", body=policy(domain="stripped.test")),
            Site("badcert.test", body=policy(domain="badcert.test")),
            Site("gone.test", status=404),
            Site("html.test", body=policy(domain="html.test"), content_type="text/html"),
            Site("moved.test", redirect="https://mta-sts.enforce.test/.well-known/mta-sts.txt"),
            Site("rogue.test", body=policy(domain="rogue.test"), certificate=rogue),
            Site("nopolicy.test", body=policy(domain="nopolicy.test")),
            Site("none.test", body=policy(mode="none", mx=())),
            Site("typo.test", body=b"version: STSv1\r\nmode: enforce\r\nnmx: mx.typo.test\r\nmax_age: 86400\r\n"),
            Site("big.test", body=policy(domain="big.test") + b"# " + b"x" * 70000 + b"\r\n"),
        )

    def test_enforce_delivers_over_verified_tls_to_a_listed_mx(self):
        mx = self.start_scripted_mx("127.0.0.2", hostname="mx.enforce.test", leaf=self.leaf("mx.enforce.test"))
        self.start_sts(self.web.port)
        self.deliver("bob@enforce.test")
        self.assertEqual(len(mx.tls_messages()), 1)
        self.assertNoPlaintextEnvelope(mx)
        e = self.wait_tls_event(domain="enforce.test")
        self.assertTlsEvent(e, verdict="delivered", policy="mta-sts", policy_source="mta-sts", tls=True)
        f = self.wait_fetch_event("enforce.test", verdict="fetched")
        self.assertEqual((f["mode"], f["id"], f["policy_source"]), ("enforce", "20261201T000000", "mta-sts"), f)
        # The second mail uses the cached policy: no second fetch.
        self.deliver("bob@enforce.test")
        self.assertEqual(len(self.web.requests("enforce.test")), 1, self.web.requests("enforce.test"))

    def test_an_mx_the_policy_does_not_list_is_never_contacted(self):
        mx = self.start_scripted_mx("127.0.0.3", hostname="mx.mismatch.test", leaf=self.leaf("mx.mismatch.test"))
        self.start_sts(self.web.port)
        self.refused("bob@mismatch.test", "4.7.5", "mx.mismatch.test")
        self.assertEqual(mx.connections, [], "an MX outside the policy's mx list was contacted")
        self.assertTlsEvent(self.wait_tls_event(domain="mismatch.test"), verdict="refused", policy_source="mta-sts")

    def test_enforce_refuses_an_untrusted_certificate_with_451(self):
        mx = self.start_scripted_mx("127.0.0.6", hostname="mx.badcert.test", leaf=self.untrusted_leaf("mx.badcert.test"))
        self.start_sts(self.web.port)
        self.refused("bob@badcert.test", "4.7.5", "mx.badcert.test")
        self.assertNothingDelivered(mx)
        e = self.wait_tls_event(domain="badcert.test")
        self.assertTlsEvent(e, verdict="refused", policy="mta-sts", policy_source="mta-sts")

    def test_enforce_refuses_a_stripped_starttls_with_451_4_7_4(self):
        mx = self.start_scripted_mx("127.0.0.5", hostname="mx.stripped.test")   # no STARTTLS offered
        self.start_sts(self.web.port)
        self.refused("bob@stripped.test", "4.7.4", "mx.stripped.test")
        self.assertNothingDelivered(mx)
        self.assertTlsEvent(self.wait_tls_event(domain="stripped.test"), verdict="refused",
                            reason="starttls-not-supported", policy_source="mta-sts")

    def test_testing_mode_delivers_and_audits_what_enforce_would_refuse(self):
        mx = self.start_scripted_mx("127.0.0.4", hostname="mx.testing.test", leaf=self.untrusted_leaf("mx.testing.test"))
        self.start_sts(self.web.port)
        self.deliver("bob@testing.test")
        self.assertEqual(len(mx.tls_messages()), 1)
        e = self.wait_tls_event(domain="testing.test")
        self.assertTlsEvent(e, verdict="allowed-testing", policy_source="mta-sts")
        self.assertEqual(e.get("reason"), "certificate-not-trusted", e)

    def test_a_configured_level_wins_over_mta_sts_and_is_not_fetched(self):
        mx = self.start_scripted_mx("127.0.0.3", hostname="mx.mismatch.test")   # plaintext only
        self.start_sts(self.web.port, domains={"mismatch.test": {"level": "may"}})
        self.deliver("bob@mismatch.test")
        self.assertEqual(len(mx.messages()), 1)
        self.assertEqual(self.web.requests("mismatch.test"), [], "a pinned domain's policy was fetched")

    def test_no_txt_record_means_no_fetch_and_delivery_as_before(self):
        mx = self.start_scripted_mx("127.0.0.2", hostname="mx.nopolicy.test")
        self.start_sts(self.web.port)
        self.deliver("bob@nopolicy.test")
        self.assertEqual(len(mx.messages()), 1)
        self.assertEqual(self.web.requests("nopolicy.test"), [])
        self.assertEqual(self.fetch_events("nopolicy.test"), [])

    def test_fetch_failures_are_audited_and_mail_flows_as_without_a_policy(self):
        mx = self.start_scripted_mx("127.0.0.2", hostname="mx.gone.test")   # plaintext: the default `may`
        self.start_sts(self.web.port)
        for domain, reason, words in [("gone.test", "sts-policy-fetch-error", "HTTP 404"),
                                      ("moved.test", "sts-policy-fetch-error", "redirect"),
                                      ("html.test", "sts-policy-invalid", "text/html"),
                                      ("rogue.test", "sts-webpki-invalid", ""),
                                      ("big.test", "sts-policy-invalid", "64 KiB")]:
            self.deliver(f"bob@{domain}")
            e = self.wait_fetch_event(domain, verdict="failed")
            self.assertEqual(e["reason"], reason, e)
            self.assertIn(words, e.get("detail", ""), e)
            self.assertFalse(e["cached_policy_in_force"], e)
        self.assertEqual(len(mx.messages()), 5)
        # The redirect was not followed: nothing asked mta-sts.enforce.test.
        self.assertEqual(self.web.requests("enforce.test"), [])

    def test_a_policy_with_a_misspelt_mx_key_is_invalid_not_enforce_without_mx(self):
        mx = self.start_scripted_mx("127.0.0.6", hostname="mx.typo.test")
        self.start_sts(self.web.port)
        self.deliver("bob@typo.test")
        self.assertEqual(len(mx.messages()), 1)
        self.assertEqual(self.wait_fetch_event("typo.test", verdict="failed")["reason"], "sts-policy-invalid")

    def test_mode_none_is_fetched_and_applies_no_policy(self):
        mx = self.start_scripted_mx("127.0.0.6", hostname="mx.none.test")
        self.start_sts(self.web.port)
        self.deliver("bob@none.test")
        self.assertEqual(len(mx.messages()), 1)
        self.assertEqual(self.wait_fetch_event("none.test", verdict="fetched")["mode"], "none")

    def test_policy_command_shows_the_cached_policy_and_refresh_fetches(self):
        self.start_scripted_mx("127.0.0.2", hostname="mx.enforce.test", leaf=self.leaf("mx.enforce.test"))
        ob = self.start_sts(self.web.port)
        self.deliver("bob@enforce.test")
        self.wait_fetch_event("enforce.test", verdict="fetched")
        cache = ob.config["mta_sts"]["cache_file"]   # written by a thread of its own: wait for it
        ports.wait_until(lambda: os.path.exists(cache) and "enforce.test" in open(cache).read(), 10,
                         lambda: f"enforce.test in {cache}")
        out = run_cli("policy", "enforce.test", "--config", ob.config_path)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("level:       mta-sts", out.stdout)
        self.assertIn("source:      mta-sts", out.stdout)
        self.assertIn("policy id 20261201T000000, mode enforce", out.stdout)
        self.assertIn("mta-sts mx:  mx.enforce.test", out.stdout)
        self.assertRegex(out.stdout, r"expires:\s+\d{4}-\d\d-\d\dT")
        before = len(self.web.requests("enforce.test"))
        out = run_cli("policy", "enforce.test", "--refresh", "--config", ob.config_path)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("refresh:     fetched https://mta-sts.enforce.test/", out.stdout)
        self.assertEqual(len(self.web.requests("enforce.test")), before + 1)
        out = run_cli("policy", "gone.test", "--refresh", "--config", ob.config_path)
        self.assertIn("sts-policy-fetch-error: HTTP 404", out.stdout)
        # purge: the domain's policy leaves the file.
        out = run_cli("mta-sts", "purge", "enforce.test", "--config", ob.config_path)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        out = run_cli("policy", "enforce.test", "--config", ob.config_path)
        self.assertIn("no cached policy for enforce.test", out.stdout)
        self.assertEqual(run_cli("mta-sts", "purge", "enforce.test", "--config", ob.config_path).returncode, 1)


class CacheLifetime(MtaStsTestCase):
    """Each test its own DNS server (its records change), nginx and mxguard."""

    def test_restart_with_the_policy_host_down_and_txt_failing_still_enforces(self):
        dns = self.start_dns(sts_zone("keep.test", "127.0.0.2"))
        web = self.start_web(Site("keep.test", body=policy(domain="keep.test")))
        good = self.start_scripted_mx("127.0.0.2", hostname="mx.keep.test", leaf=self.leaf("mx.keep.test"))
        cache = os.path.join(self.tmp, "kept.cache")
        ob = self.start_sts(web.port, cache_file=cache)
        self.deliver("bob@keep.test")
        self.wait_fetch_event("keep.test", verdict="fetched")
        ob.stop()
        web.stop()
        good.stop()
        # The TXT record now fails to validate (SERVFAIL), the policy host is gone, and the MX has a
        # certificate nobody trusts: without the cached policy this would be delivered under `may`.
        dns.stop()
        self.start_dns(zone("keep.test", "@ MX 10 mx", "mx A 127.0.0.2", "mta-sts A 127.0.0.1"),
                       zone("_mta-sts.keep.test", '@ TXT "v=STSv1; id=2;"', mode="bogus"))
        bad = self.start_scripted_mx("127.0.0.2", hostname="mx.keep.test", leaf=self.untrusted_leaf("mx.keep.test"))
        self.start_sts(web.port, cache_file=cache)
        self.wait_log_line("MTA-STS: 1 cached policy")
        self.refused("bob@keep.test", "4.7.5", "mx.keep.test")
        self.assertNothingDelivered(bad)

    def test_a_new_txt_id_fetches_the_new_policy(self):
        dns = self.start_dns(sts_zone("change.test", "127.0.0.2", txt_id="one"))
        web = self.start_web(Site("change.test", body=policy(mode="testing", domain="change.test")))
        self.start_scripted_mx("127.0.0.2", hostname="mx.change.test", leaf=self.untrusted_leaf("mx.change.test"))
        cfg_port = web.port
        self.start_sts(cfg_port)
        self.deliver("bob@change.test")   # testing: delivered in spite of the certificate
        self.wait_fetch_event("change.test", verdict="fetched", id="one")
        # The domain publishes an enforce policy with a new id: the new policy is fetched (in the
        # background, the mail meanwhile under the old one) and then enforced.
        with open(web.policy_path("change.test"), "wb") as f:
            f.write(policy(mode="enforce", domain="change.test"))
        port = dns.port
        dns.stop()
        self.start_dns(sts_zone("change.test", "127.0.0.2", txt_id="two"), port=port)
        self.ob.signal(signal.SIGHUP)   # forget when the TXT record was last looked at (cache reload)
        self.wait_log_line("reload done")
        self.deliver("bob@change.test")
        e = self.wait_fetch_event("change.test", verdict="fetched", id="two")
        self.assertEqual(e["mode"], "enforce")
        self.refused("bob@change.test", "4.7.5", "mx.change.test")

    def test_the_same_id_never_extends_an_expired_policy(self):
        self.start_dns(sts_zone("short.test", "127.0.0.2"))
        web = self.start_web(Site("short.test", body=policy(domain="short.test", max_age=2)))
        self.start_scripted_mx("127.0.0.2", hostname="mx.short.test", leaf=self.leaf("mx.short.test"))
        self.start_sts(web.port)
        self.deliver("bob@short.test")
        self.wait_fetch_event("short.test", verdict="fetched")
        time.sleep(3)   # max_age 2 s has run out; the TXT id is the same
        self.deliver("bob@short.test")
        ports.wait_until(lambda: len(self.web_requests(web, "short.test")) == 2, 10,
                         lambda: f"a second fetch after max_age ({web.requests('short.test')})")

    def web_requests(self, web, domain):
        return web.requests(domain)

    def test_the_fetcher_killed_mid_fetch_fails_the_fetch_not_the_mail_and_is_restarted(self):
        self.start_dns(sts_zone("stall.test", "127.0.0.2"), sts_zone("later.test", "127.0.0.2"))
        stall = StallingTlsServer(self.leaf("mta-sts.stall.test")).start()
        self.addCleanup(stall.stop)
        mx = self.start_scripted_mx("127.0.0.2", hostname="mx.stall.test")
        ob = self.start_sts(stall.port)
        c, _ = None, None
        c = self.connect_outbound()
        self.assertReply(c.command("MAIL FROM:<alice@sender.test>"), 250)
        c.send(b"RCPT TO:<bob@stall.test>\r\n")
        pid = ports.wait_until(lambda: self.fetcher_pid(ob), 10, lambda: "a running mxguard-fetch")
        ports.wait_until(lambda: stall.connections, 10, lambda: "the fetch reaching the stalling server")
        os.kill(pid, signal.SIGKILL)
        self.assertReply(c.read_reply(), 250)   # no policy could be fetched: delivered as without one
        self.assertReply(c.command("DATA"), 354)
        c.send(MSG + b".\r\n")
        self.assertReply(c.read_reply(), 250)
        e = self.wait_fetch_event("stall.test", verdict="failed")
        self.assertEqual(e["reason"], "sts-policy-fetch-error", e)
        self.assertIn("mxguard-fetch", e["detail"], e)
        self.wait_log_line("MTA-STS fetcher", "killed by signal 9")
        self.assertEqual(len(mx.messages()), 1)
        # A later fetch gets a new child once the restart backoff has passed: 1 s after a child that died
        # young (fetch_client.h), a fixed timer of mxguard's, so this waits for it rather than for luck.
        time.sleep(1.5)
        self.deliver("bob@later.test")
        ports.wait_until(lambda: self.fetcher_pid(ob) not in (None, pid), 10, lambda: "a new mxguard-fetch")

    @staticmethod
    def fetcher_pid(ob):
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                with open(f"/proc/{entry}/comm") as f:
                    comm = f.read().strip()
            except OSError:
                continue
            if int(fields[1]) == ob.proc.pid and comm.startswith("mxguard-fetch"):
                return int(entry)
        return None


class CacheOnAFullDisk(MtaStsTestCase):
    """[mta_sts] cache_file in a 256 KiB tmpfs of mxguard's own mount namespace (fixtures.small_filesystem),
    filled for real: the writer's temporary file gets ENOSPC."""

    def setUp(self):
        reason = small_filesystem.unavailable_reason()
        if reason:
            self.skipTest(reason)
        super().setUp()

    def cache_domains(self, disk):
        try:
            return sorted(e["domain"] for e in json.loads(disk.read("mta-sts.cache"))["entries"])
        except (OSError, ValueError, KeyError):
            return None

    def write_errors(self):
        return scrape(self.metrics_port)["mxguard_mta_sts_cache_write_errors_total"]

    def test_mail_goes_on_under_the_policy_in_memory_and_the_file_is_written_once_there_is_room(self):
        self.start_dns(sts_zone("first.test", "127.0.0.2"), sts_zone("second.test", "127.0.0.3"))
        web = self.start_web(Site("first.test", body=policy(domain="first.test")),
                             Site("second.test", body=policy(domain="second.test")))
        self.start_scripted_mx("127.0.0.2", hostname="mx.first.test", leaf=self.leaf("mx.first.test"))
        self.start_scripted_mx("127.0.0.3", hostname="mx.second.test", leaf=self.leaf("mx.second.test"))
        disk = small_filesystem.SmallFilesystem(os.path.join(self.tmp, "small"))
        cache = os.path.join(disk.mountpoint, "mta-sts.cache")
        self.metrics_port = ports.free_port()
        cfg = self.outbound_config(self.dns, metrics={"listen": f"127.0.0.1:{self.metrics_port}"})
        cfg["mta_sts"] = {"enabled": True, "cache_file": cache, "ca_file": self.sts_ca, "https_port": web.port,
                          "fetch_timeout": 10}
        ob = self.start_outbound(cfg, wrapper=disk.wrapper())
        disk.attach(ob.proc.pid)

        self.deliver("bob@first.test")
        ports.wait_until(lambda: self.cache_domains(disk) == ["first.test"], 10, lambda: f"first.test in {cache}")
        old = disk.read("mta-sts.cache")
        disk.fill()

        self.deliver("bob@second.test")   # its policy is fetched and stored; the file cannot take it
        self.wait_fetch_event("second.test", verdict="fetched")
        line = self.wait_log_line("MTA-STS cache not saved")
        self.assertEqual(len(line), 1, line)
        self.assertIn(f"cannot write MTA-STS cache {cache}: ", line[0])
        self.assertIn("No space left on device", line[0])
        ports.wait_until(lambda: self.write_errors() == 1, 10, lambda: f"one write error counted, not {self.write_errors()}")
        self.assertEqual(disk.read("mta-sts.cache"), old, "the old cache file was changed by a write that failed")
        self.assertEqual(disk.names(), ["mta-sts.cache"], "a temporary file was left on the full disk")

        def delivered_under_the_policy_in_memory(count):
            self.deliver("bob@second.test")
            ports.wait_until(lambda: len(self.tls_events(domain="second.test")) == count, 20,
                             lambda: f"{count} tls-policy events for second.test: {self.tls_events(domain='second.test')}")
            for e in self.tls_events(domain="second.test"):
                self.assertTlsEvent(e, verdict="delivered", policy="mta-sts", policy_source="mta-sts", tls=True)
            self.assertEqual(len(web.requests("second.test")), 1, "the policy was fetched again")

        delivered_under_the_policy_in_memory(2)
        # A SIGHUP (logrotate's every night) while the disk is still full keeps the policy the file lacks,
        # and tries the write again at once: it fails within the same streak, so no second line.
        ob.signal(signal.SIGHUP)
        self.wait_log_line("reload done")
        ports.wait_until(lambda: self.write_errors() == 2, 10, lambda: f"the retry at SIGHUP, {self.write_errors()}")
        delivered_under_the_policy_in_memory(3)
        self.assertEqual(len(self.log_lines("MTA-STS cache not saved")), 1)
        self.assertEqual(disk.read("mta-sts.cache"), old)

        disk.free()   # room again: the next SIGHUP saves now (without it, the writer retries every minute)
        ob.signal(signal.SIGHUP)
        self.wait_log_line(f"MTA-STS cache saved again to {cache}")
        ports.wait_until(lambda: self.cache_domains(disk) == ["first.test", "second.test"], 10,
                         lambda: f"both policies in {cache}: {disk.read('mta-sts.cache')[:2000]!r}")
        self.assertEqual(disk.names(), ["mta-sts.cache"])
        self.assertEqual(self.write_errors(), 2)
        delivered_under_the_policy_in_memory(4)


if __name__ == "__main__":
    unittest.main()

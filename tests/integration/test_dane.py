"""DANE for SMTP (RFC 7672) end to end: mxguard's outbound path against a real validating DNS server on
loopback (fixtures/dns_server.py: zones signed with ldns, validated by unbound, the AD bit set; one zone
"bogus": signed with a key unbound does not trust) and scripted MX servers with test-CA certificates.

What a postmaster relies on, each a test: a matching DANE-EE "3 1 1" record delivers over TLS even with a
certificate for another name, expired, from a CA nobody trusts; a TLSA record that matches nothing is
refused with 451 4.7.5 (tlsa-invalid), however good the WebPKI certificate; DANE-TA "2 0 1" with the test
CA checks the chain and the name (a wrong name is refused); an unsigned zone has no DANE and the other
policy applies (its TLSA records ignored); a TLSA lookup that fails validation is a temporary refusal
(dnssec-invalid), never plaintext and never MTA-STS; DANE failing while MTA-STS would pass is refused; a
domain without TLSA records falls back to its MTA-STS policy; an unsigned MX RRset pointing at a signed
host still gets DANE for that host (RFC 7672 §2.2.1), but not at dane-only; dane-only without TLSA records
is refused (dane-required) before any connection; `mxguard policy` shows the records and what decides.

TLSA records name the port connected to: every MX of these tests listens on self.mx_port, so the records
are at _<mx_port>._tcp.<host> (on the internet that is _25._tcp.<host>).
"""
import hashlib
import os
import shutil
import subprocess
import tempfile
import unittest

from fixtures import tools
from fixtures.hardening import message
from fixtures.https_server import MtaStsWebServer, Site
from fixtures.mxguard import Mxguard, run_cli
from fixtures.outbound import OutboundTestCase, zone

MSG = message("dane", sender="alice@sender.test")
UNRELATED = hashlib.sha256(b"a certificate nobody has").hexdigest()


def spki_sha256(cert_path):
    """SHA-256 of the certificate's SubjectPublicKeyInfo (DER): the data of a "3 1 1" record."""
    openssl = tools.require("openssl")
    pub = subprocess.run([openssl, "x509", "-in", cert_path, "-noout", "-pubkey"], capture_output=True, check=True,
                         timeout=30).stdout
    der = subprocess.run([openssl, "pkey", "-pubin", "-outform", "DER"], input=pub, capture_output=True, check=True,
                         timeout=30).stdout
    return hashlib.sha256(der).hexdigest()


def cert_sha256(cert_path):
    """SHA-256 of the whole certificate (DER): the data of a "x 0 1" record."""
    der = subprocess.run([tools.require("openssl"), "x509", "-in", cert_path, "-outform", "DER"], capture_output=True,
                         check=True, timeout=30).stdout
    return hashlib.sha256(der).hexdigest()


def sts_policy(mx):
    return f"version: STSv1\r\nmode: enforce\r\nmx: {mx}\r\nmax_age: 86400\r\n".encode()


class DaneTestCase(OutboundTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        p = cls.mx_port
        # DANE-EE's certificate: for another name, expired, from a CA nobody trusts. Only its key matters.
        cls.ee_leaf = cls.leaf("nobody.example", ca=cls.rogue_ca, not_before="20250101000000Z",
                               not_after="20250201000000Z")
        ee = f"_{p}._tcp.mx TLSA 3 1 1 {spki_sha256(cls.ee_leaf.cert)}"
        ta = f"_{p}._tcp.mx TLSA 2 0 1 {cert_sha256(cls.ca.cert)}"
        nomatch = f"_{p}._tcp.mx TLSA 3 1 1 {UNRELATED}"
        pkix = f"_{p}._tcp.mx TLSA 1 1 1 {spki_sha256(cls.ca.cert)}"
        sts = ["mta-sts A 127.0.0.1", '_mta-sts TXT "v=STSv1; id=20261201T000000;"']
        cls.start_class_dns(
            zone("match.test", "@ MX 10 mx", "mx A 127.0.0.2", ee, mode="signed"),
            zone("mismatch.test", "@ MX 10 mx", "mx A 127.0.0.3", nomatch, pkix, mode="signed"),
            zone("ta.test", "@ MX 10 mx", "mx A 127.0.0.4", ta, mode="signed"),
            zone("taname.test", "@ MX 10 mx", "mx A 127.0.0.5", ta, mode="signed"),
            zone("insecure.test", "@ MX 10 mx", "mx A 127.0.0.6", nomatch, mode="unsigned"),
            zone("notlsa.test", "@ MX 10 mx", "mx A 127.0.0.7", mode="signed"),
            zone("unusable.test", "@ MX 10 mx", "mx A 127.0.0.2", pkix, mode="signed"),
            # The MX host is signed, its TLSA records are in a zone whose signatures do not validate.
            zone("bogustlsa.test", "@ MX 10 mx", "mx A 127.0.0.3", mode="signed"),
            zone(f"_{p}._tcp.mx.bogustlsa.test", f"@ TLSA 3 1 1 {UNRELATED}", mode="bogus"),
            zone("bogus.test", "@ MX 10 mx", "mx A 127.0.0.4", mode="bogus"),
            # An unsigned domain hosted on a signed provider's MX (RFC 7672 §2.2.1).
            zone("hosted.test", "@ MX 10 mx.provider.test.", mode="unsigned"),
            zone("provider.test", "mx A 127.0.0.5", ee, mode="signed"),
            # DANE and MTA-STS together: the TLSA record matches nothing, the MTA-STS policy would pass.
            zone("both.test", "@ MX 10 mx", "mx A 127.0.0.6", nomatch, *sts, mode="signed"),
            # MTA-STS without TLSA records: the fallback of `dane`.
            zone("stsonly.test", "@ MX 10 mx", "mx A 127.0.0.7", *sts, mode="signed"),
        )

    def start(self, default="dane", domains=None, **sections):
        return self.start_outbound(self.outbound_config(self.class_dns, default=default, domains=domains, **sections))

    def rcpt(self, rcpt):
        c = self.connect_outbound()
        self.assertReply(c.command("MAIL FROM:<alice@sender.test>"), 250)
        return c, c.command(f"RCPT TO:<{rcpt}>")

    def deliver(self, rcpt):
        c, r = self.rcpt(rcpt)
        self.assertReply(r, 250)
        self.assertReply(c.command("DATA"), 354)
        c.send(MSG + b".\r\n")
        self.assertReply(c.read_reply(), 250)
        self.assertReply(c.command("QUIT"), 221)

    def refused(self, rcpt, enhanced, mx_host, words=()):
        c, r = self.rcpt(rcpt)
        self.assertPolicyRefusal(r, enhanced, rcpt.split("@", 1)[1], mx_host, words)
        self.assertReply(c.command("QUIT"), 221)
        return r


class DaneEndEntity(DaneTestCase):
    def test_matching_3_1_1_delivers_whatever_the_name_dates_and_ca(self):
        mx = self.start_scripted_mx("127.0.0.2", hostname="mx.match.test", leaf=self.ee_leaf)
        self.start()
        self.deliver("bob@match.test")
        self.assertEqual(len(mx.tls_messages()), 1)
        self.assertNoPlaintextEnvelope(mx)
        self.assertEqual(mx.connections[0].sni, "mx.match.test", "SNI must be the MX name (RFC 7672 §8.1)")
        e = self.wait_tls_event(domain="match.test")
        record = f"3 1 1 {spki_sha256(self.ee_leaf.cert)}"
        self.assertTlsEvent(e, verdict="delivered", policy="dane", policy_source="dane", dane="usable", reason=None,
                            tls=True)
        self.assertEqual(e["tlsa"], [record], e)
        self.assertEqual(e["tlsa_match"], record, e)
        # `mxguard audit` reads DANE decisions like any other (TLS-RPT's policy-type tlsa is built from them).
        r = run_cli("audit", self.ob.audit_path)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_dane_only_delivers_with_dane(self):
        mx = self.start_scripted_mx("127.0.0.2", hostname="mx.match.test", leaf=self.ee_leaf)
        self.start(default="may", domains={"match.test": {"level": "dane-only"}})
        self.deliver("bob@match.test")
        self.assertEqual(len(mx.tls_messages()), 1)
        self.assertTlsEvent(self.wait_tls_event(domain="match.test"), verdict="delivered", policy="dane-only",
                            policy_source="dane")

    def test_a_record_that_matches_nothing_is_refused_however_good_the_webpki_certificate(self):
        mx = self.start_scripted_mx("127.0.0.3", hostname="mx.mismatch.test", leaf=self.leaf("mx.mismatch.test"))
        self.start()
        self.refused("bob@mismatch.test", "4.7.5", "mx.mismatch.test", ["TLSA"])
        self.assertNothingDelivered(mx)
        e = self.wait_tls_event(domain="mismatch.test")
        self.assertTlsEvent(e, verdict="refused", reason="tlsa-invalid", policy_source="dane", dane="usable")
        self.assertEqual(sorted(e["tlsa"]), sorted([f"3 1 1 {UNRELATED}", f"1 1 1 {spki_sha256(self.ca.cert)}"]), e)

    def test_only_unusable_records_mean_tls_without_a_certificate_check(self):
        # A PKIX-EE record alone: unusable for SMTP, so TLS is mandatory but any certificate will do.
        mx = self.start_scripted_mx("127.0.0.2", hostname="mx.unusable.test", leaf=self.untrusted_leaf("mx.unusable.test"))
        self.start()
        self.deliver("bob@unusable.test")
        self.assertEqual(len(mx.tls_messages()), 1)
        self.assertTlsEvent(self.wait_tls_event(domain="unusable.test"), verdict="delivered", dane="unusable",
                            policy_source="dane", tls=True)

    def test_only_unusable_records_still_refuse_plaintext(self):
        mx = self.start_scripted_mx("127.0.0.2", hostname="mx.unusable.test")   # no STARTTLS
        self.start()
        self.refused("bob@unusable.test", "4.7.4", "mx.unusable.test")
        self.assertNothingDelivered(mx)


class DaneTrustAnchor(DaneTestCase):
    def test_usage_2_with_the_test_ca_and_the_right_name(self):
        mx = self.start_scripted_mx("127.0.0.4", hostname="mx.ta.test", leaf=self.leaf("mx.ta.test"))
        self.start()
        self.deliver("bob@ta.test")
        self.assertEqual(len(mx.tls_messages()), 1)
        e = self.wait_tls_event(domain="ta.test")
        self.assertTlsEvent(e, verdict="delivered", policy_source="dane", tls=True)
        self.assertEqual(e["tlsa_match"], f"2 0 1 {cert_sha256(self.ca.cert)}", e)

    def test_usage_2_accepts_the_domain_as_the_name_behind_signed_mx_records(self):
        # RFC 7672 §3.2.2: with a validated MX RRset the next-hop domain is a reference identifier too.
        mx = self.start_scripted_mx("127.0.0.5", hostname="mx.taname.test", leaf=self.leaf("taname.test"))
        self.start()
        self.deliver("bob@taname.test")
        self.assertEqual(len(mx.tls_messages()), 1)

    def test_usage_2_refuses_a_certificate_for_another_name(self):
        mx = self.start_scripted_mx("127.0.0.5", hostname="mx.taname.test", leaf=self.leaf("mx.elsewhere.test"))
        self.start()
        self.refused("bob@taname.test", "4.7.5", "mx.taname.test")
        self.assertNothingDelivered(mx)
        self.assertTlsEvent(self.wait_tls_event(domain="taname.test"), verdict="refused",
                            reason="certificate-host-mismatch", policy_source="dane")

    def test_usage_2_refuses_a_chain_to_another_ca(self):
        mx = self.start_scripted_mx("127.0.0.4", hostname="mx.ta.test", leaf=self.untrusted_leaf("mx.ta.test"))
        self.start()
        self.refused("bob@ta.test", "4.7.5", "mx.ta.test")
        self.assertNothingDelivered(mx)
        self.assertTlsEvent(self.wait_tls_event(domain="ta.test"), verdict="refused", reason="tlsa-invalid")


class DaneWithoutDane(DaneTestCase):
    def test_an_unsigned_zone_has_no_dane_and_the_other_policy_applies(self):
        # Its TLSA record would refuse the certificate if it counted; it is not validated, so it does not.
        mx = self.start_scripted_mx("127.0.0.6", hostname="mx.insecure.test")   # plaintext only: `may`
        self.start()
        self.deliver("bob@insecure.test")
        self.assertEqual(len(mx.messages()), 1)
        e = self.wait_tls_event(domain="insecure.test")
        self.assertTlsEvent(e, verdict="delivered", policy="may", policy_source="default", dane="insecure", tls=False)
        self.assertNotIn("tlsa", e)

    def test_an_unsigned_zone_at_dane_takes_any_certificate_as_may_does(self):
        mx = self.start_scripted_mx("127.0.0.6", hostname="mx.insecure.test", leaf=self.untrusted_leaf("mx.insecure.test"))
        self.start()
        self.deliver("bob@insecure.test")   # may: any certificate
        self.assertEqual(len(mx.tls_messages()), 1)

    def test_dane_only_without_tlsa_records_is_refused_before_any_connection(self):
        mx = self.start_scripted_mx("127.0.0.7", hostname="mx.notlsa.test", leaf=self.leaf("mx.notlsa.test"))
        self.start(default="may", domains={"notlsa.test": {"level": "dane-only"}})
        self.refused("bob@notlsa.test", "4.7.5", "mx.notlsa.test", ["TLSA"])
        self.assertEqual(mx.connections, [], "dane-only connected to a host without TLSA records")
        e = self.wait_tls_event(domain="notlsa.test")
        self.assertTlsEvent(e, verdict="refused", reason="dane-required", policy="dane-only", policy_source="config",
                            dane="no-records")

    def test_dane_only_on_an_unsigned_zone_is_refused(self):
        mx = self.start_scripted_mx("127.0.0.6", hostname="mx.insecure.test", leaf=self.leaf("mx.insecure.test"))
        self.start(default="may", domains={"insecure.test": {"level": "dane-only"}})
        self.refused("bob@insecure.test", "4.7.5", "mx.insecure.test")
        self.assertEqual(mx.connections, [])
        self.assertTlsEvent(self.wait_tls_event(domain="insecure.test"), reason="dane-required", dane="insecure")

    def test_no_tlsa_records_at_dane_is_may(self):
        mx = self.start_scripted_mx("127.0.0.7", hostname="mx.notlsa.test")
        self.start()
        self.deliver("bob@notlsa.test")
        self.assertEqual(len(mx.messages()), 1)
        self.assertTlsEvent(self.wait_tls_event(domain="notlsa.test"), policy="may", dane="no-records")


class DaneDnssecFailures(DaneTestCase):
    def test_a_tlsa_lookup_that_fails_validation_is_temporary_never_plaintext(self):
        mx = self.start_scripted_mx("127.0.0.3", hostname="mx.bogustlsa.test")   # would take plaintext
        self.start()
        self.refused("bob@bogustlsa.test", "4.7.5", "mx.bogustlsa.test", ["TLSA lookup"])
        self.assertEqual(mx.connections, [], "a host whose TLSA lookup failed was contacted")
        e = self.wait_tls_event(domain="bogustlsa.test")
        self.assertTlsEvent(e, verdict="refused", reason="dnssec-invalid", policy_source="dane", dane="failed")

    def test_a_domain_whose_signatures_do_not_validate_is_temporary(self):
        mx = self.start_scripted_mx("127.0.0.4", hostname="mx.bogus.test")
        self.start()
        c, r = self.rcpt("bob@bogus.test")
        self.assertReply(r, 451, "4.4.3")
        self.assertReply(c.command("QUIT"), 221)
        self.assertEqual(mx.connections, [])


class DaneInsecureMxSecureHost(DaneTestCase):
    def test_an_unsigned_mx_rrset_pointing_at_a_signed_host_still_gets_dane(self):
        mx = self.start_scripted_mx("127.0.0.5", hostname="mx.provider.test", leaf=self.ee_leaf)
        self.start()
        self.deliver("bob@hosted.test")
        self.assertEqual(len(mx.tls_messages()), 1)
        self.assertTlsEvent(self.wait_tls_event(domain="hosted.test"), verdict="delivered", policy_source="dane",
                            dane="usable", mx="mx.provider.test")

    def test_dane_only_needs_signed_mx_records(self):
        mx = self.start_scripted_mx("127.0.0.5", hostname="mx.provider.test", leaf=self.ee_leaf)
        self.start(default="may", domains={"hosted.test": {"level": "dane-only"}})
        self.refused("bob@hosted.test", "4.7.5", "mx.provider.test", ["not DNSSEC-validated"])
        self.assertEqual(mx.connections, [])
        self.assertTlsEvent(self.wait_tls_event(domain="hosted.test"), reason="dane-required")


class DaneAndMtaSts(DaneTestCase):
    """DANE takes precedence over MTA-STS (RFC 8461 §2): never overridden by it, its fallback where absent."""

    def setUp(self):
        super().setUp()
        # mxguard-fetch runs as nobody when the tests run as root: the CA file must be readable to it.
        ca_dir = tempfile.mkdtemp(prefix="mxguard-dane-ca-")
        self.addCleanup(shutil.rmtree, ca_dir, ignore_errors=True)
        os.chmod(ca_dir, 0o755)
        self.sts_ca = os.path.join(ca_dir, "ca.crt")
        shutil.copy(self.ca.cert, self.sts_ca)
        os.chmod(self.sts_ca, 0o644)
        self.web = MtaStsWebServer(self.tmp, self.ca, [Site("both.test", body=sts_policy("mx.both.test")),
                                                       Site("stsonly.test", body=sts_policy("mx.stsonly.test"))]).start()
        self.addCleanup(self.web.stop)

    def start_sts(self, **kwargs):
        return self.start(mta_sts={"enabled": True, "cache_file": os.path.join(self.tmp, "mta-sts.cache"),
                                   "ca_file": self.sts_ca, "https_port": self.web.port, "fetch_timeout": 10}, **kwargs)

    def test_dane_failing_while_mta_sts_would_pass_is_refused(self):
        mx = self.start_scripted_mx("127.0.0.6", hostname="mx.both.test", leaf=self.leaf("mx.both.test"))
        self.start_sts()
        self.refused("bob@both.test", "4.7.5", "mx.both.test")
        self.assertNothingDelivered(mx)
        self.assertTlsEvent(self.wait_tls_event(domain="both.test"), verdict="refused", reason="tlsa-invalid",
                            policy_source="dane")
        # The MTA-STS policy was learned (it would have passed): DANE decided all the same.
        self.ob.wait_audit(event="mta-sts-fetch", domain="both.test", verdict="fetched")
        self.assertEqual(self.tls_events(domain="both.test", policy_source="mta-sts"), [])

    def test_without_tlsa_records_the_mta_sts_policy_applies(self):
        mx = self.start_scripted_mx("127.0.0.7", hostname="mx.stsonly.test", leaf=self.untrusted_leaf("mx.stsonly.test"))
        self.start_sts()
        self.refused("bob@stsonly.test", "4.7.5", "mx.stsonly.test")
        self.assertNothingDelivered(mx)
        self.assertTlsEvent(self.wait_tls_event(domain="stsonly.test"), verdict="refused", policy="mta-sts",
                            policy_source="mta-sts", reason="certificate-not-trusted", dane="no-records")

    def test_without_tlsa_records_mta_sts_delivers_to_a_verified_mx(self):
        mx = self.start_scripted_mx("127.0.0.7", hostname="mx.stsonly.test", leaf=self.leaf("mx.stsonly.test"))
        self.start_sts()
        self.deliver("bob@stsonly.test")
        self.assertEqual(len(mx.tls_messages()), 1)
        self.assertTlsEvent(self.wait_tls_event(domain="stsonly.test"), verdict="delivered", policy_source="mta-sts")


class DanePolicyCommand(DaneTestCase):
    """`mxguard policy DOMAIN`: the TLSA records per MX, validated or not, usable or not, and what decides."""

    def policy(self, domain, **config):
        cfg = self.outbound_config(self.class_dns, **config)
        path = Mxguard(self.tmp, cfg, name="policy-cli").config_path   # writes the file, starts nothing
        r = run_cli("policy", domain, "--config", path)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r.stdout

    def test_records_usability_and_the_deciding_mechanism(self):
        out = self.policy("mismatch.test", default="dane")
        p = self.mx_port
        self.assertIn("level:       dane", out)
        self.assertIn("without dane: may from default", out)
        self.assertIn("dnssec:      the AD bit of 127.0.0.1 is believed (loopback)", out)
        self.assertIn("mx dnssec:   the MX answer is DNSSEC-validated", out)
        self.assertIn(f"mx 1 tlsa: _{p}._tcp.mx.mismatch.test: DNSSEC-validated, 2 record(s), 1 usable for SMTP", out)
        self.assertIn(f"3 1 1 {UNRELATED} (usable)", out)
        self.assertIn(f"1 1 1 {spki_sha256(self.ca.cert)} (unusable: PKIX usages are not used for SMTP)", out)
        self.assertIn("mx 1 decides: dane: TLS, and the certificate must match one of the usable TLSA records", out)
        self.assertIn("SNI mx.mismatch.test (source dane)", out)

    def test_insecure_zone_and_the_fallback(self):
        out = self.policy("insecure.test", default="dane")
        self.assertIn("mx dnssec:   the MX answer is not DNSSEC-validated", out)
        self.assertIn("mx 1 tlsa: not looked up: the addresses of mx.insecure.test are not DNSSEC-validated", out)
        self.assertIn("mx 1 decides: may: STARTTLS when offered, plaintext otherwise (source default)", out)

    def test_failures_and_dane_only(self):
        out = self.policy("bogustlsa.test", default="dane")
        self.assertIn("lookup failed (temporary)", out)
        self.assertIn("mx 1 decides: refused before connecting: 451 4.7.5 dnssec-invalid", out)
        out = self.policy("notlsa.test", default="may", domains={"notlsa.test": {"level": "dane-only"}})
        self.assertIn("without dane: refused (451 4.7.5 dane-required)", out)
        self.assertIn("mx 1 tlsa: ", out)
        self.assertIn("no TLSA records (DNSSEC-validated)", out)
        self.assertIn("mx 1 decides: refused before connecting: 451 4.7.5 dane-required", out)

    def test_other_levels_show_the_records_but_decide_as_they_always_did(self):
        out = self.policy("match.test", default="verify")
        self.assertIn("(usable)", out)
        self.assertIn("mx 1 decides: verify: TLS with a WebPKI-valid certificate for mx.match.test (source default)", out)


if __name__ == "__main__":
    unittest.main()

"""The outbound tests' peers checked on their own, without mxguard: a sending Postfix delivers straight
into the TLS remote MX (plaintext and TLS, told apart by the Received: header), keeps a refused message
deferred with the refusal's text, bounces what the MX refuses at the end of data; the MX certificate
variants fail verification for the right reason; the stripper strips and answers 454; the scripted MX
speaks TLS 1.1 only when told (OpenSSL's @SECLEVEL=0), injects bytes behind its 220, and records what
came in plaintext; the DNS server answers, fails and stays silent as the tests need."""
import smtplib
import ssl
import subprocess
import unittest

from fixtures import ports, tools
from fixtures.hardening import message
from fixtures.outbound import OutboundTestCase, zone
from fixtures.postfix import received_headers, received_tls
from fixtures.smtpwire import SmtpWire

LF = b"\n"


def verify_with_openssl(port, host, name, cafile, extra=()):
    """`openssl s_client -starttls smtp` with verification of `name` against `cafile`; returns the output."""
    exe = tools.require("openssl")
    r = subprocess.run([exe, "s_client", "-connect", f"{host}:{port}", "-starttls", "smtp", "-servername", name,
                        "-CAfile", cafile, "-verify_hostname", name, *extra], input="QUIT\n",
                       capture_output=True, text=True, timeout=60)
    return r.stdout + r.stderr


class PostfixPeers(OutboundTestCase):
    def direct_sender(self, mx, level):
        """A sender that relays straight to the Postfix MX (no mxguard), with TLS level `level`."""
        return self.start_sender(relayhost=f"[{mx.listen_ip}]:{mx.port}", smtp_tls_security_level=level,
                                 ca_file=self.ca.cert)

    def test_sender_delivers_to_remote_mx_in_plaintext_and_over_tls(self):
        mx = self.start_remote_mx(self.leaf("mx.example.test"), "127.0.0.2")
        msg = message("direct", b".dot line\r\nbody\r\n", sender="alice@sender.test")
        for level, expect_tls in (("none", False), ("encrypt", True)):
            snd = self.direct_sender(mx, level)
            n = len(mx.messages("bob"))
            qid = snd.submit("alice@sender.test", ["bob@example.test"], msg)
            self.assertRegex(snd.wait_sent(qid)["bob@example.test"], r"^250 2\.0\.0 Ok: queued as ")
            mx.wait_delivered("bob", n + 1)
            tls = mx.delivered_tls("bob")
            if expect_tls:
                self.assertIsNotNone(tls, mx.received("bob"))
                self.assertTrue(tls[0].startswith("TLSv1."), tls)
            else:
                self.assertIsNone(tls, mx.received("bob"))
            raw = mx.last_message("bob")
            self.assertTrue(raw.endswith(msg.replace(b"\r\n", LF)), raw)
            snd.stop()

    def test_refused_recipient_stays_deferred_with_the_refusal_text(self):
        text = b"451 4.7.5 TLS required by policy for example.test: STARTTLS not offered by mx.example.test"
        be = self.start_scripted_mx("127.0.0.3", replies={"RCPT": text + b"\r\n"})
        snd = self.start_sender(relayhost=f"[{be.host}]:{be.port}")
        qid = snd.submit("alice@sender.test", ["bob@example.test"], message("deferred"))
        reason = snd.wait_deferred(qid, r"451 4\.7\.5 TLS required by policy for example\.test")
        self.assertIn("in reply to RCPT TO command", reason)
        entry = snd.queued(qid)
        self.assertEqual(entry["queue_name"], "deferred")
        self.assertEqual([r["address"] for r in entry["recipients"]], ["bob@example.test"])
        self.assertEqual(be.messages(), [])   # DATA got "554 5.5.1 no valid recipients"

    def test_remote_mx_refuses_at_end_of_data_and_sender_bounces(self):
        mx = self.start_remote_mx(self.leaf("mx.example.test"), "127.0.0.2", reject_subject="reject-me")
        snd = self.direct_sender(mx, "may")
        qid = snd.submit("alice@sender.test", ["bob@example.test"], message("please reject-me"))
        self.assertIn(mx.REJECT_TEXT, snd.wait_status(qid, "bounced"))
        self.assertIn("end of DATA", snd.wait_status(qid, "bounced"))
        snd.wait_delivered("alice")   # the bounce, in the sender's own Maildir
        self.assertEqual(mx.messages("bob"), [])

    def test_certificate_variants_fail_verification_for_their_reason(self):
        cases = [
            ("127.0.0.2", self.leaf("mx.example.test"), "Verify return code: 0 (ok)"),
            ("127.0.0.3", self.leaf("mx.elsewhere.test"), "hostname mismatch"),
            ("127.0.0.4", self.expired_leaf("mx.example.test"), "certificate has expired"),
            ("127.0.0.5", self.untrusted_leaf("mx.example.test"), "self-signed certificate in certificate chain"),
        ]
        for host, leaf, expected in cases:
            mx = self.start_remote_mx(leaf, host)
            out = verify_with_openssl(mx.port, host, "mx.example.test", self.ca.cert)
            self.assertIn(expected, out, f"{leaf.name}:\n{out}")


class Stripper(OutboundTestCase):
    def swaks(self, port, *extra):
        exe = tools.require("swaks")
        tools.require_perl_module("Net::SSLeay", "libnet-ssleay-perl")
        r = subprocess.run([exe, "--server", f"127.0.0.4:{port}", "--from", "alice@sender.test", "--to",
                            "bob@example.test", "--helo", "client.test", "--timeout", "20", *extra],
                           capture_output=True, text=True, timeout=60)
        return r.returncode, r.stdout + r.stderr

    def test_strips_starttls_from_a_real_mx(self):
        mx = self.start_remote_mx(self.leaf("mx.example.test"), "127.0.0.2")
        mitm = self.start_stripper("127.0.0.4", ("127.0.0.2", mx.port))
        rc, out = self.swaks(mitm.port, "--tls")
        self.assertNotEqual(rc, 0, out)
        self.assertNotIn("250-STARTTLS", out)
        self.assertEqual(mx.accepted_transactions(), [])
        rc, out = self.swaks(mitm.port, "--tls-optional")
        self.assertEqual(rc, 0, out)
        path = mx.wait_delivered("bob")[-1]
        with open(path, "rb") as f:
            self.assertIsNone(received_tls(received_headers(f.read())[0]))
        self.assertEqual(mitm.stripped, 2)
        self.assertIn(b"MAIL", mitm.client_commands())

    def test_answers_454_to_an_advertised_starttls(self):
        mx = self.start_remote_mx(self.leaf("mx.example.test"), "127.0.0.2")
        mitm = self.start_stripper("127.0.0.4", ("127.0.0.2", mx.port), strip=False, starttls="454")
        rc, out = self.swaks(mitm.port, "--tls")
        self.assertNotEqual(rc, 0, out)
        self.assertIn("250-STARTTLS", out)
        self.assertIn("454 4.7.0", out)
        self.assertEqual(mitm.starttls_answered, 1)
        self.assertEqual(mx.accepted_transactions(), [])

    def test_forward_mode_lets_tls_through(self):
        mx = self.start_remote_mx(self.leaf("mx.example.test"), "127.0.0.2")
        mitm = self.start_stripper("127.0.0.4", ("127.0.0.2", mx.port), strip=False, starttls="forward")
        rc, out = self.swaks(mitm.port, "--tls")
        self.assertEqual(rc, 0, out)
        mx.wait_delivered("bob")
        self.assertEqual(mx.delivered_tls("bob")[0], "TLSv1.3")
        self.assertEqual(mitm.client_commands(), [b"EHLO", b"STARTTLS"])


class ScriptedMxPeers(OutboundTestCase):
    def test_tls_1_1_only_server_handshakes_with_openssl_at_seclevel_0(self):
        mx = self.start_scripted_mx("127.0.0.2", leaf=self.leaf("mx.example.test"), tls_versions=("TLSv1", "TLSv1_1"))
        out = verify_with_openssl(mx.port, "127.0.0.2", "mx.example.test", self.ca.cert,
                                  extra=["-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"])
        self.assertRegex(out, r"Protocol\s*: TLSv1\.1", out)
        mx.wait_for(lambda m: m.connections and m.connections[0].tls, 10, "the TLS 1.1 handshake")
        self.assertEqual(mx.connections[0].tls_version, "TLSv1.1")
        self.assertEqual(mx.connections[0].sni, "mx.example.test")
        out = verify_with_openssl(mx.port, "127.0.0.2", "mx.example.test", self.ca.cert, extra=["-tls1_2"])
        self.assertIn("Cipher is (NONE)", out)   # no TLS 1.2 here
        mx.wait_for(lambda m: len(m.connections) == 2 and m.connections[1].tls_error, 10, "the refused handshake")

    def test_injection_arrives_in_the_same_segment_as_the_220(self):
        mx = self.start_scripted_mx("127.0.0.2", leaf=self.leaf("mx.example.test"), inject=b"250 2.0.0 injected\r\n")
        c = SmtpWire("127.0.0.2", mx.port)
        self.addCleanup(c.close)
        c.read_reply()
        c.command("EHLO client.test")
        c.send(b"STARTTLS\r\n")
        data = b""
        while b"\r\n" not in data:
            data += c.sock.recv(65536)
        self.assertEqual(data, b"220 2.0.0 Ready to start TLS\r\n250 2.0.0 injected\r\n")

    def test_records_what_came_in_plaintext_and_what_inside_tls(self):
        mx = self.start_scripted_mx("127.0.0.2", leaf=self.leaf("mx.example.test"))
        ctx = ssl.create_default_context(cafile=self.ca.cert)
        ctx.check_hostname = False   # smtplib would check "127.0.0.2"; the name is checked below via SNI
        with smtplib.SMTP("127.0.0.2", mx.port, local_hostname="client.test", timeout=20) as s:
            s.ehlo()
            self.assertIn("starttls", s.esmtp_features)
            s.starttls(context=ctx)
            s.ehlo()
            self.assertNotIn("starttls", s.esmtp_features)
            s.sendmail("alice@sender.test", ["bob@example.test"], b"Subject: t\r\n\r\nbody\r\n")
        self.assertEqual(mx.plaintext_envelope(), [])
        self.assertEqual(mx.tls_messages(), [b"Subject: t\r\n\r\nbody\r\n"])
        self.assertEqual([l.split(b" ")[0].upper() for l in mx.plaintext_commands()], [b"EHLO", b"STARTTLS"])
        plain = self.start_scripted_mx("127.0.0.3")
        with smtplib.SMTP("127.0.0.3", plain.port, local_hostname="client.test", timeout=20) as s:
            s.ehlo()
            self.assertNotIn("starttls", s.esmtp_features)
            s.sendmail("alice@sender.test", ["bob@example.test"], b"Subject: t\r\n\r\nbody\r\n")
        self.assertEqual([l.split(b":")[0].upper() for l in plain.plaintext_envelope()],
                         [b"MAIL FROM", b"RCPT TO", b"DATA", b"SUBJECT"])


class Dns(OutboundTestCase):
    def test_answers_fails_and_stays_silent(self):
        from fixtures.dns_server import _query
        dns = self.start_dns(zone("example.test", "@ MX 10 mx", "mx A 127.0.0.2"),
                             zone("nullmx.test", "@ MX 0 ."),
                             zone("broken.test", "@ MX 10 mx", "mx A 127.0.0.2", mode="bogus"))
        self.assertEqual(_query("example.test", 15, dns.port), 0)     # MX: NOERROR
        self.assertEqual(_query("nullmx.test", 15, dns.port), 0)
        self.assertEqual(_query("broken.test", 15, dns.port), 2)      # SERVFAIL
        self.assertIn(_query("elsewhere.test", 15, dns.port), (3, 5))   # not served: NXDOMAIN or REFUSED
        hole = self.start_blackhole_dns()
        self.assertIsNone(_query("example.test", 15, hole.port, timeout=1))
        ports.wait_until(lambda: hole.queries >= 1, 5, "the black hole to see the query")


if __name__ == "__main__":
    unittest.main()

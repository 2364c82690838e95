"""STARTTLS as clients see it (contract 3, 9): TLS 1.2 and 1.3 with `openssl s_client -starttls smtp`;
the certificate is chosen by SNI among the configured ones (SAN match, wildcard ok), then by key type
(an ECDSA-only client gets the ECDSA certificate, an RSA-only client the RSA one); without SNI or with an
unknown name, the first configured certificate of an acceptable key type. Without any configured
certificate, a self-signed one is generated in state_dir on first start, used, and kept."""
import glob
import os
import ssl
import unittest

from fixtures import clients
from fixtures.base import IntegrationTestCase, mxguard_config
from fixtures.smtpwire import SmtpWire, insecure_context

ECDSA_ONLY = "ECDSA+SHA256"
RSA_ONLY = "RSA-PSS+SHA256:RSA+SHA256"
VERSIONS = ("1.2", "1.3")


class CertificateSelection(IntegrationTestCase):
    @classmethod
    def setUpClass(cls):
        ca = cls.class_ca()
        cls.ca = ca
        cls.ec = ca.issue("mx-ec", "mx.test", ["mx.test", "mail.mx.test"], key_type="ec")
        cls.rsa = ca.issue("mx-rsa", "mx.test", ["mx.test", "mail.mx.test"], key_type="rsa")
        cls.other = ca.issue("other-ec", "other.example", ["*.other.example"], key_type="ec")
        cls.be = cls.start_class_backend()
        # ECDSA listed first...
        cls.mx_ec_first = cls.start_class_mxguard(
            mxguard_config(cls.class_subdir("ec-first"), cls.be.port, certificates=[cls.ec, cls.rsa, cls.other]),
            name="mxguard-ec-first")
        # ...and RSA listed first
        cls.mx_rsa_first = cls.start_class_mxguard(
            mxguard_config(cls.class_subdir("rsa-first"), cls.be.port, certificates=[cls.rsa, cls.ec]),
            name="mxguard-rsa-first")

    def s_client(self, mx=None, **kwargs):
        mx = mx or self.mx_ec_first
        r = clients.s_client(mx.listen_ports[0], **kwargs)
        self.assertIsNotNone(r.protocol, f"no TLS session:\n{r.output}\n{mx.log()[-3000:]}")
        self.assertIsNotNone(r.cert_pem, f"no server certificate in the output:\n{r.output}")
        self.assertRegex(r.output, r"(?m)^221 ", f"the SMTP session over TLS did not work:\n{r.output}")
        return r

    def assertCertificate(self, result, leaf):
        self.assertIn(f"O={leaf.organization}", result.cert["subject"], result.cert)
        self.assertEqual(result.cert["sans"], leaf.sans, result.cert)
        self.assertEqual(result.cert["key_type"], leaf.key_type, result.cert)

    def test_tls13_with_s_client_and_verified_chain(self):
        r = self.s_client(servername="mx.test", tls_version="1.3", cafile=self.ca.cert, verify_hostname="mx.test")
        self.assertEqual(r.protocol, "TLSv1.3")
        self.assertTrue(r.verify_ok, f"chain or name did not verify:\n{r.output}")
        self.assertIn("CN=mx.test", r.cert["subject"])

    def test_tls12_with_s_client_and_verified_chain(self):
        r = self.s_client(servername="mx.test", tls_version="1.2", cafile=self.ca.cert, verify_hostname="mx.test")
        self.assertEqual(r.protocol, "TLSv1.2")
        self.assertTrue(r.verify_ok, f"chain or name did not verify:\n{r.output}")

    def test_sni_selects_certificate_by_wildcard_san(self):
        for version in VERSIONS:
            with self.subTest(tls=version):
                r = self.s_client(servername="mail.other.example", tls_version=version, cafile=self.ca.cert,
                                  verify_hostname="mail.other.example")
                self.assertCertificate(r, self.other)
                self.assertTrue(r.verify_ok, r.output)

    def test_sni_selects_certificate_by_exact_san(self):
        r = self.s_client(servername="mail.mx.test", cafile=self.ca.cert, verify_hostname="mail.mx.test")
        self.assertIn("CN=mx.test", r.cert["subject"])
        self.assertTrue(r.verify_ok, r.output)

    def test_ecdsa_only_client_gets_the_ecdsa_certificate(self):
        for mx in (self.mx_ec_first, self.mx_rsa_first):
            for version in VERSIONS:
                with self.subTest(config=mx.config_path, tls=version):
                    r = self.s_client(mx, servername="mx.test", sigalgs=ECDSA_ONLY, tls_version=version)
                    self.assertCertificate(r, self.ec)
                    self.assertEqual(r.peer_signature_type, "ECDSA", r.output)

    def test_rsa_only_client_gets_the_rsa_certificate(self):
        for mx in (self.mx_ec_first, self.mx_rsa_first):
            for version in VERSIONS:
                with self.subTest(config=mx.config_path, tls=version):
                    r = self.s_client(mx, servername="mx.test", sigalgs=RSA_ONLY, tls_version=version)
                    self.assertCertificate(r, self.rsa)
                    self.assertIn("RSA", r.peer_signature_type or "", r.output)

    def test_without_sni_the_first_configured_certificate_of_an_acceptable_key_type_is_used(self):
        cases = [
            (self.mx_ec_first, None, self.ec),
            (self.mx_ec_first, RSA_ONLY, self.rsa),
            (self.mx_rsa_first, None, self.rsa),
            (self.mx_rsa_first, ECDSA_ONLY, self.ec),
        ]
        for mx, sigalgs, expected in cases:
            for version in VERSIONS:
                with self.subTest(config=os.path.basename(mx.config_path), sigalgs=sigalgs, tls=version):
                    r = self.s_client(mx, servername=None, sigalgs=sigalgs, tls_version=version)
                    self.assertCertificate(r, expected)

    def test_unknown_sni_falls_back_to_the_first_configured_certificate(self):
        for mx, expected in ((self.mx_ec_first, self.ec), (self.mx_rsa_first, self.rsa)):
            with self.subTest(config=os.path.basename(mx.config_path)):
                r = self.s_client(mx, servername="unknown.example")
                self.assertCertificate(r, expected)

    def test_python_client_verifies_chain_and_host_name(self):
        ctx = ssl.create_default_context(cafile=self.ca.cert)
        with SmtpWire("127.0.0.1", self.mx_ec_first.listen_ports[0]) as c:
            self.assertEqual(c.read_reply().code, 220)
            self.assertIn("STARTTLS", c.command("EHLO client.test").keywords())
            self.assertEqual(c.command("STARTTLS").code, 220)
            tls = c.starttls(ctx, server_hostname="mail.other.example")   # verification raises on failure
            self.assertEqual(tls.getpeercert(binary_form=True), self.other.der)
            self.assertEqual(c.command("EHLO client.test").code, 250)
            self.assertEqual(c.command("QUIT").code, 221)


class SelfSignedCertificate(IntegrationTestCase):
    def test_self_signed_certificate_is_generated_on_first_start_and_used(self):
        be = self.start_backend()
        config = self.config(be.port)          # no [[inbound.certificate]]
        state_dir = config["server"]["state_dir"]
        self.assertFalse(os.path.exists(state_dir) and os.listdir(state_dir))
        mx = self.start_mxguard(config)
        mx.wait_log(r"(?i)self-signed")
        presented = self.starttls_certificate(mx)
        self.assertIn(presented, self.state_dir_certificates(state_dir),
                      f"the presented certificate is not the one in {state_dir}: {os.listdir(state_dir)}")

    def test_self_signed_certificate_is_kept_across_restarts(self):
        be = self.start_backend()
        config = self.config(be.port)
        first = self.start_mxguard(config, name="first")
        before = self.starttls_certificate(first)
        self.assertEqual(first.stop(), 0, first.log())
        second = self.start_mxguard(config, name="second")
        self.assertEqual(self.starttls_certificate(second), before,
                         "a restart must reuse the generated certificate, not make a new one")

    def starttls_certificate(self, mx):
        with SmtpWire("127.0.0.1", mx.listen_ports[0]) as c:
            self.assertEqual(c.read_reply().code, 220, self.diag())
            self.assertIn("STARTTLS", c.command("EHLO client.test").keywords())
            self.assertEqual(c.command("STARTTLS").code, 220)
            tls = c.starttls(insecure_context())
            der = tls.getpeercert(binary_form=True)
            self.assertEqual(c.command("EHLO client.test").code, 250)
            self.assertEqual(c.command("QUIT").code, 221)
            return der

    def state_dir_certificates(self, state_dir):
        ders = []
        for path in glob.glob(os.path.join(state_dir, "**", "*"), recursive=True):
            if not os.path.isfile(path):
                continue
            with open(path, "rb") as f:
                data = f.read()
            for block in data.split(b"-----END CERTIFICATE-----")[:-1]:
                pem = block[block.find(b"-----BEGIN CERTIFICATE-----"):] + b"-----END CERTIFICATE-----\n"
                ders.append(ssl.PEM_cert_to_DER_cert(pem.decode()))
        return ders


if __name__ == "__main__":
    unittest.main()

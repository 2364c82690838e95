"""The demo's two Postfix instances, as scripts/run.sh starts them, around the real mxguard: the legacy MTA
(scripts/demo-backend.sh) whose transport map hands remote.test and notls.test to mxguard's outbound
listener in plaintext, and the remote MX (scripts/demo-remote.sh) with STARTTLS and a certificate from the
demo CA it makes (IP SAN 127.0.0.1) on one port, without STARTTLS on another. mxguard's configuration is the
demo's (routes to the address literals, remote.test at "verify" against the demo CA, notls.test at
"encrypt"), on free ports and in a temp dir instead of the demo's fixed ones.

Mail enters the legacy MTA as the README shows: sendmail -C CONF (pickup, not SMTP)."""
import json
import os
import smtplib
import ssl
import subprocess

from fixtures import ports, tools
from fixtures.base import IntegrationTestCase
from fixtures.postfix import received_headers, received_tls

SCRIPTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts")


def run_script(name, demo_dir, *args):
    r = subprocess.run([os.path.join(SCRIPTS, name), *args], env={**os.environ, "DEMO_DIR": demo_dir},
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise AssertionError(f"{name} {' '.join(args)} failed ({r.returncode}):\n{r.stdout}{r.stderr}")
    return r.stdout


class DemoScripts(IntegrationTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        tmp = cls.class_tmp()
        cls.legacy_dir = os.path.join(tmp, "postfix")
        cls.remote_dir = os.path.join(tmp, "remote")
        cls.legacy_port, cls.inbound_port, cls.outbound_port, cls.tls_port, cls.plain_port = (
            ports.free_port() for _ in range(5))
        cls.addClassCleanup(run_script, "demo-backend.sh", cls.legacy_dir, "stop")
        run_script("demo-backend.sh", cls.legacy_dir, "start", str(cls.legacy_port),
                   f"127.0.0.1:{cls.outbound_port}")
        cls.addClassCleanup(run_script, "demo-remote.sh", cls.remote_dir, "stop")
        run_script("demo-remote.sh", cls.remote_dir, "start", str(cls.tls_port), str(cls.plain_port))
        cls.mx = cls.start_class_mxguard({
            "server": {"hostname": "mx.example.test", "workers": 1, "state_dir": os.path.join(tmp, "state")},
            "inbound": {"listen": [f"127.0.0.1:{cls.inbound_port}"], "backend": f"127.0.0.1:{cls.legacy_port}",
                        "backend_protocol": "proxy-v2"},
            "outbound": {
                "listen": [f"127.0.0.1:{cls.outbound_port}"],
                "allow": ["127.0.0.1/32"],
                "ca_file": os.path.join(cls.remote_dir, "ca", "ca.crt"),
                "route": {"remote.test": f"127.0.0.1:{cls.tls_port}", "notls.test": f"127.0.0.1:{cls.plain_port}"},
            },
            "policy": {"default": "may",
                       "domain": {"remote.test": {"level": "verify"}, "notls.test": {"level": "encrypt"}}},
            "audit": {"path": os.path.join(tmp, "audit.jsonl")},
        })

    def sendmail(self, recipient, subject):
        """What the README does: a message handed to the legacy MTA with its sendmail command."""
        message = f"Subject: {subject}\n\nHello.\n"
        subprocess.run([tools.require("sendmail"), "-C", os.path.join(self.legacy_dir, "conf"),
                        "-f", "alice@example.test", recipient], input=message, text=True, check=True, timeout=30)

    def legacy_queue(self):
        r = subprocess.run([tools.require("postqueue"), "-c", os.path.join(self.legacy_dir, "conf"), "-j"],
                           capture_output=True, text=True, timeout=30, check=True)
        return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]

    def remote_messages(self, user, domain="remote.test"):
        d = os.path.join(self.remote_dir, "mail", *(() if domain == "remote.test" else (domain,)), user, "new")
        try:
            return [os.path.join(d, f) for f in os.listdir(d)]
        except FileNotFoundError:
            return []

    def maillog(self, directory):
        with open(os.path.join(directory, "maillog"), errors="replace") as f:
            return f.read()

    def test_mail_for_remote_test_leaves_through_mxguard_over_verified_tls(self):
        self.sendmail("carol@remote.test", "demo-delivered")
        paths = ports.wait_until(lambda: self.remote_messages("carol"), 30,
                                 lambda: f"mail for carol@remote.test (legacy maillog:\n{self.maillog(self.legacy_dir)[-3000:]}"
                                 f"\nmxguard log:\n{self.mx.log()[-3000:]})")
        with open(paths[0], "rb") as f:
            raw = f.read()
        self.assertIn(b"Subject: demo-delivered", raw)
        top = received_headers(raw)[0]
        self.assertIn("by mx.remote.test", top)
        self.assertEqual(received_tls(top)[0], "TLSv1.3", top)
        event = self.mx.wait_audit(event="tls-policy", domain="remote.test", verdict="delivered")
        self.assertEqual((event["policy"], event["policy_source"], event["mx_address"]),
                         ("verify", "config", f"127.0.0.1:{self.tls_port}"))
        # The legacy MTA handed it to mxguard, not to the MX itself.
        self.assertRegex(self.maillog(self.legacy_dir),
                         rf"to=<carol@remote\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:{self.outbound_port},.*status=sent")

    def test_mail_for_notls_test_stays_deferred_with_mxguards_451(self):
        self.sendmail("dave@notls.test", "demo-refused")

        def deferred():
            for m in self.legacy_queue():
                for r in m.get("recipients", []):
                    if m.get("queue_name") == "deferred" and r.get("address") == "dave@notls.test":
                        return r.get("delay_reason")
            return None
        reason = ports.wait_until(deferred, 30, lambda: f"dave@notls.test deferred (queue: {self.legacy_queue()})")
        self.assertRegex(reason, r"451 4\.7\.4 .*notls\.test \(encrypt, config\): STARTTLS not offered")
        self.mx.wait_audit(event="tls-policy", domain="notls.test", verdict="refused", reason="starttls-not-supported")
        self.assertEqual(self.remote_messages("dave", "notls.test"), [])
        self.assertNotIn("dave@notls.test", self.maillog(self.remote_dir))   # not even the envelope got there

    def test_inbound_clients_still_cannot_relay_to_the_remote_domains(self):
        # The transport map is for the legacy MTA's own mail: through mxguard's inbound side (the PROXY header
        # tells the real client address, here 127.0.0.1, in the demo's mynetworks) remote.test is refused.
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with smtplib.SMTP("127.0.0.1", self.inbound_port, local_hostname="client.test", timeout=30) as s:
            s.starttls(context=ctx)
            s.ehlo("client.test")
            self.assertEqual(s.mail("alice@example.org")[0], 250)
            code, text = s.rcpt("carol@remote.test")
            self.assertEqual(code, 554, text)
            self.assertIn(b"Relay access denied", text)
            self.assertEqual(s.rcpt("bob@example.test")[0], 250)

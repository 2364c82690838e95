"""STARTTLS with `workers = 2`: each worker has TLS contexts of its own, and session tickets are sealed
with keys every worker shares, so a sender resumes wherever SO_REUSEPORT puts its next connection, and
after a SIGHUP reload (TLS 1.2 and 1.3, Python's ssl module as the client). Which worker served a
session is the third byte of its audit session id."""
import signal
import ssl
import unittest

from fixtures.base import IntegrationTestCase
from fixtures.smtpwire import SmtpWire, insecure_context

# Enough connections that both workers serve some (the kernel hashes each connection's ports); the loop
# stops as soon as both have resumed a session.
MAX_CONNECTIONS = 200


class TlsAcrossWorkers(IntegrationTestCase):
    def setUp(self):
        super().setUp()
        ca = self.class_ca()
        leaf = ca.issue("mx-ec", "mx.test", ["mx.test"], key_type="ec")
        self.be = self.start_backend()
        cfg = self.config(self.be.port, certificates=[leaf])
        cfg["server"]["workers"] = 2
        self.mx = self.start_mxguard(cfg)

    def session(self, context, offer=None):
        """One STARTTLS session offering `offer`; returns (resumed, the session to offer next, local port)."""
        c = SmtpWire("127.0.0.1", self.mx.listen_ports[0])
        self.addCleanup(c.close)
        self.assertEqual(c.read_reply().code, 220)
        self.assertEqual(c.command("EHLO client.test").code, 250)
        self.assertEqual(c.command("STARTTLS").code, 220)
        port = c.sock.getsockname()[1]
        c.sock = context.wrap_socket(c.sock, server_hostname="mx.test", session=offer)
        c.tls = True
        # The reply inside TLS also brings TLS 1.3's tickets along.
        self.assertEqual(c.command("EHLO client.test").code, 250)
        self.assertEqual(c.command("QUIT").code, 221)
        return c.sock.session_reused, c.sock.session, port

    def workers_by_port(self):
        """The worker that served each established TLS session, by the client's port."""
        served = {}
        for e in self.mx.audit_events():
            if e.get("event") == "starttls" and e.get("verdict") == "established":
                served[int(str(e["peer"]).rsplit(":", 1)[1])] = int(e["session"][6:8], 16)
        return served

    def resume_on_both_workers(self, context, offer):
        """Resumes `offer`'s chain of sessions until both workers have resumed one; returns the last session."""
        resumed_ports = []
        for _ in range(MAX_CONNECTIONS):
            reused, offer, port = self.session(context, offer)
            self.assertTrue(reused, f"a session was not resumed after {len(resumed_ports)} that were\n"
                                    f"{self.mx.log()[-3000:]}")
            resumed_ports.append(port)
            self.mx.wait_audit(event="starttls", verdict="established", peer=f"127.0.0.1:{port}")
            served = self.workers_by_port()
            if {served[p] for p in resumed_ports} == {0, 1}:
                return offer
        self.fail(f"{MAX_CONNECTIONS} resumed sessions, all on one worker: {self.workers_by_port()}")

    def check_version(self, version):
        context = insecure_context(minimum=version, maximum=version)
        reused, first, _ = self.session(context)
        self.assertFalse(reused)
        self.assertIsNotNone(first)
        last = self.resume_on_both_workers(context, first)
        # A reload builds new contexts from the same ticket keys: the last ticket still opens.
        self.mx.signal(signal.SIGHUP)
        self.mx.wait_log(r"reload done")
        reused, _, _ = self.session(context, last)
        self.assertTrue(reused, f"the ticket from before the reload was refused\n{self.mx.log()[-3000:]}")

    def test_tls13_sessions_resume_on_either_worker_and_after_a_reload(self):
        self.check_version(ssl.TLSVersion.TLSv1_3)

    def test_tls12_sessions_resume_on_either_worker_and_after_a_reload(self):
        self.check_version(ssl.TLSVersion.TLSv1_2)


if __name__ == "__main__":
    unittest.main()

"""Operations (deployment issue): SIGHUP reloads configuration and certificates without dropping live
sessions, a broken new configuration is refused and the old one kept; SIGTERM stops accepting, lets live
sessions finish within server.shutdown_grace, then answers 421 and exits 0. Nothing is ever half delivered."""
import os
import signal
import socket
import unittest

from fixtures import ports
from fixtures.base import IntegrationTestCase
from fixtures.mxguard import to_toml
from fixtures.smtpwire import SmtpWire, insecure_context

HEADERS = b"From: alice@sender.example\r\nTo: bob@example.test\r\nSubject: reload\r\n\r\n"


class Reload(IntegrationTestCase):
    @classmethod
    def setUpClass(cls):
        ca = cls.class_ca()
        cls.first = ca.issue("first", "mx.test", ["mx.test"], organization="first-cert")
        cls.second = ca.issue("second", "mx.test", ["mx.test"], organization="second-cert")

    def setUp(self):
        super().setUp()
        self.pf = self.start_postfix()
        self.other = self.start_backend(greeting=b"220 other.test ESMTP the second backend\r\n")
        self.cfg = self.config(self.pf.port, certificates=[self.first])
        self.mx = self.start_mxguard(self.cfg)

    def rewrite_config(self, cfg_or_text):
        with open(self.mx.config_path, "w") as f:
            f.write(cfg_or_text if isinstance(cfg_or_text, str) else to_toml(cfg_or_text) + "\n")

    def reload(self):
        reloads = self.mx.log().count("SIGHUP: reloading")
        self.mx.signal(signal.SIGHUP)
        ports.wait_until(lambda: self.mx.log().count("SIGHUP: reloading") > reloads, 10, "the reload to start")
        ports.wait_until(lambda: self.mx.log().count("reload done") + self.mx.log().count("reload refused") > reloads,
                         10, "the reload to end")

    def connect(self):
        c = SmtpWire("127.0.0.1", self.mx.listen_ports[0])
        self.addCleanup(c.close)
        return c

    def start_message(self, c):
        self.assertEqual(c.read_reply().code, 220)
        self.assertEqual(c.command("EHLO client.test").code, 250)
        self.assertEqual(c.command("STARTTLS").code, 220)
        c.starttls()
        self.assertEqual(c.command("EHLO client.test").code, 250)
        c.send(b"MAIL FROM:<alice@sender.example>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n")
        self.assertEqual([r.code for r in c.read_replies(3)], [250, 250, 354], self.diag())
        c.send(HEADERS + b"first half of the body\r\n")

    def test_session_in_data_during_reload_completes_and_new_sessions_use_the_new_backend(self):
        live = self.connect()
        self.start_message(live)
        cfg = dict(self.cfg)
        cfg["inbound"] = dict(self.cfg["inbound"], backend=f"127.0.0.1:{self.other.port}")
        self.rewrite_config(cfg)
        self.reload()
        self.assertIn("reload done", self.mx.log())
        fresh = self.connect()
        self.assertEqual(fresh.read_reply().raw, b"220 other.test ESMTP the second backend\r\n")
        fresh.command("QUIT")
        # The session that started before the reload still talks to the old backend, to the end.
        live.send(b"second half of the body\r\n.\r\n")
        self.assertEqual(live.read_reply().code, 250, self.diag())
        self.assertEqual(live.command("QUIT").code, 221)
        self.pf.wait_delivered("bob")
        self.assertEqual(self.pf.last_message("bob"),
                         (HEADERS + b"first half of the body\r\nsecond half of the body\r\n").replace(b"\r\n", b"\n"))

    def test_invalid_configuration_is_refused_and_the_running_one_kept(self):
        self.rewrite_config("[inbound]\nbackend = \"127.0.0.1:25\"\nbakend_protocol = \"plain\"\n")
        self.reload()
        self.assertRegex(self.mx.log(), r"reload refused, keeping the running configuration: .*bakend_protocol")
        self.assertTrue(self.mx.running())
        c = self.connect()
        self.assertIn(b"test-", c.read_reply().raw)   # still the Postfix backend ("ESMTP test-NAME")
        self.assertEqual(c.command("EHLO client.test").code, 250)
        c.command("QUIT")

    def test_unreadable_certificate_on_reload_is_refused(self):
        cfg = dict(self.cfg)
        cfg["inbound"] = dict(self.cfg["inbound"], certificate=[{"cert": "/nonexistent.crt", "key": self.first.key}])
        self.rewrite_config(cfg)
        self.reload()
        self.assertRegex(self.mx.log(), r"reload refused.*inbound\.certificate\[0\]\.cert")
        self.assertEqual(self.presented_organization(), "first-cert")

    def presented_organization(self):
        c = self.connect()
        self.assertEqual(c.read_reply().code, 220)
        c.command("EHLO client.test")
        self.assertEqual(c.command("STARTTLS").code, 220)
        tls = c.starttls(insecure_context(), server_hostname="mx.test")
        der = tls.getpeercert(binary_form=True)
        c.command("QUIT")
        from fixtures.testca import describe_certificate
        subject = describe_certificate(der)["subject"]
        return dict(part.split("=", 1) for part in subject.split(","))["O"]

    def test_reload_picks_up_a_renewed_certificate(self):
        self.assertEqual(self.presented_organization(), "first-cert")
        cfg = dict(self.cfg)
        cfg["inbound"] = dict(self.cfg["inbound"], certificate=[{"cert": self.second.chain, "key": self.second.key}])
        self.rewrite_config(cfg)
        self.reload()
        self.assertIn("reload done", self.mx.log())
        self.assertEqual(self.presented_organization(), "second-cert")


class Drain(IntegrationTestCase):
    def setUp(self):
        super().setUp()
        self.pf = self.start_postfix()

    def start(self, grace):
        cfg = self.config(self.pf.port)
        cfg["server"]["shutdown_grace"] = grace
        self.mx = self.start_mxguard(cfg)

    def connect(self):
        c = SmtpWire("127.0.0.1", self.mx.listen_ports[0])
        self.addCleanup(c.close)
        self.assertEqual(c.read_reply().code, 220)
        self.assertEqual(c.command("EHLO client.test").code, 250)
        return c

    def begin_data(self, c):
        c.send(b"MAIL FROM:<alice@sender.example>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n")
        self.assertEqual([r.code for r in c.read_replies(3)], [250, 250, 354], self.diag())
        c.send(HEADERS + b"part one\r\n")

    def refuses_connections(self):
        try:
            socket.create_connection(("127.0.0.1", self.mx.listen_ports[0]), timeout=2).close()
            return False
        except OSError:
            return True

    def test_sigterm_lets_a_message_in_progress_finish_then_exits_zero(self):
        self.start(grace=30)
        busy = self.connect()
        self.begin_data(busy)
        idle = self.connect()
        self.mx.signal(signal.SIGTERM)
        self.mx.wait_log("stopped accepting")
        ports.wait_until(self.refuses_connections, 10, "the listener to close")
        # An idle session is told at once; the busy one may finish its message.
        self.assertEqual(idle.read_reply().code, 421)
        busy.send(b"part two\r\n.\r\n")
        self.assertEqual(busy.read_reply().code, 250, self.diag())
        reply = busy.command("MAIL FROM:<alice@sender.example>")
        self.assertEqual((reply.code, reply.lines[0][:5]), (421, "4.3.2"))
        self.assertEqual(self.mx.wait_exit(timeout=15), 0, self.mx.log())
        self.pf.wait_delivered("bob")
        self.assertIn(b"part two", self.pf.last_message("bob"))

    def test_the_reply_to_a_message_is_never_lost_to_the_drain(self):
        # The client ends its message and pipelines the next MAIL: the backend's 250 for the message must
        # reach the client before the 421, or the client would send the delivered message again.
        self.start(grace=30)
        c = self.connect()
        self.begin_data(c)
        self.mx.signal(signal.SIGTERM)
        self.mx.wait_log("stopped accepting")
        c.send(b"part two\r\n.\r\nMAIL FROM:<next@sender.example>\r\n")
        self.assertEqual(c.read_reply().code, 250, self.diag())
        reply = c.read_reply()
        self.assertEqual((reply.code, reply.lines[0][:5]), (421, "4.3.2"))
        self.assertEqual(self.mx.wait_exit(timeout=15), 0, self.mx.log())
        self.pf.wait_delivered("bob")
        self.assertEqual(len(self.pf.messages("bob")), 1)

    def test_further_signals_while_draining_are_handled_not_fatal(self):
        self.start(grace=30)
        c = self.connect()
        self.begin_data(c)
        self.mx.signal(signal.SIGTERM)
        self.mx.wait_log("stopped accepting")
        self.mx.signal(signal.SIGHUP)   # logrotate's postrotate during a drain
        self.mx.wait_log("SIGHUP while stopping: ignored")
        self.assertTrue(self.mx.running())
        c.send(b"part two\r\n.\r\n")
        self.assertEqual(c.read_reply().code, 250, self.diag())
        self.mx.signal(signal.SIGTERM)  # a second stop: whatever is left gets 421 now
        self.mx.wait_log("second stop signal")
        self.assertEqual(c.read_reply().code, 421)
        self.assertEqual(self.mx.wait_exit(timeout=15), 0, self.mx.log())
        self.pf.wait_delivered("bob")

    def test_grace_period_over_answers_421_and_nothing_is_half_delivered(self):
        self.start(grace=1)
        c = self.connect()
        self.begin_data(c)
        self.mx.signal(signal.SIGTERM)
        reply = c.read_reply()   # the grace period ends while the client sits in DATA
        self.assertEqual((reply.code, reply.lines[0][:5]), (421, "4.3.2"), self.diag())
        self.assertEqual(self.mx.wait_exit(timeout=15), 0, self.mx.log())
        # The backend saw the connection drop mid-DATA: it must not have delivered the partial message.
        self.pf.wait_log(r"lost connection after DATA|disconnect from", timeout=10)
        self.assertEqual(self.pf.messages("bob"), [])


if __name__ == "__main__":
    unittest.main()

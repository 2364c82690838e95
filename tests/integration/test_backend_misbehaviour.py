"""A misbehaving backend (what test_backend_failures.py does not cover: that module has an unreachable,
silent-before-greeting and closing-before-greeting backend): non-SMTP bytes, reply lines over
max_reply_line, control bytes, codes that change inside a reply, replies nobody asked for, silence after a
command, a reset in the middle of DATA. The client gets 421 and the session is closed: mxguard fails
closed and never relays what it cannot parse. A multi-line greeting is relayed and works."""
import time
import unittest

from fixtures.hardening import HardeningTestCase


class BackendMisbehaviour(HardeningTestCase):
    def start(self, limits=None, **backend):
        self.be = self.start_backend(**backend)
        self.mx = self.start_mxguard(self.config(self.be.port, limits={"reply_timeout": 30, "command_timeout": 30,
                                                                       **(limits or {})}))

    def assertFailsClosed(self, c, code=421, enhanced="4.3.0", leaked=()):
        """The next reply is `code enhanced`, then the connection closes; the backend connection is
        dropped; none of `leaked` reached the client."""
        reply = self.assertReply(c.read_reply(), code, enhanced)
        for text in leaked:
            self.assertNotIn(text, reply.raw)
        self.assertClosed(c)
        self.be.wait_all_closed()
        return reply

    def test_non_smtp_greeting_gives_421(self):
        self.start(greeting=b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")
        c = self.open()
        self.assertFailsClosed(c, leaked=[b"SSH"])

    def test_overlong_greeting_line_gives_421(self):
        self.start(greeting=b"220 " + b"g" * 600 + b"\r\n", limits={"max_reply_line": 512})
        c = self.open()
        self.assertFailsClosed(c, leaked=[b"ggg"])

    def test_multiline_greeting_is_relayed_and_works(self):
        greeting = b"220-legacy.test ESMTP first line\r\n220-second line\r\n220 legacy.test third line\r\n"
        self.start(greeting=greeting)
        c = self.open()
        reply = self.assertReply(c.read_reply(), 220)
        self.assertEqual(reply.raw, greeting)
        self.assertReply(c.command("EHLO client.test"), 250)
        self.assertReply(c.command("NOOP"), 250)
        self.assertReply(c.command("QUIT"), 221)
        self.assertClosed(c)

    def test_non_smtp_reply_to_a_command_gives_421(self):
        self.start(replies={"NOOP": b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"})
        c = self.connect()
        c.send(b"NOOP\r\n")
        self.assertFailsClosed(c, leaked=[b"HTTP"])
        self.assertEqual(self.be.commands(), [b"EHLO client.test", b"NOOP"], self.be.describe())

    def test_garbage_without_a_line_end_is_caught_without_waiting(self):
        self.start(replies={"NOOP": b"xyz"})
        c = self.connect()
        start = time.monotonic()
        c.send(b"NOOP\r\n")
        self.assertFailsClosed(c, leaked=[b"xyz"])
        self.assertLess(time.monotonic() - start, 10, "the 421 waited for reply_timeout (30 s)")

    def test_reply_line_at_max_reply_line_is_relayed(self):
        line = b"250 " + b"r" * (512 - 6) + b"\r\n"   # 512 bytes with its CRLF
        self.start(replies={"NOOP": line}, limits={"max_reply_line": 512})
        c = self.connect()
        self.assertEqual(c.command("NOOP").raw, line)
        self.assertReply(c.command("QUIT"), 221)

    def test_reply_line_over_max_reply_line_gives_421(self):
        self.start(replies={"NOOP": b"250 " + b"r" * (512 - 5) + b"\r\n"}, limits={"max_reply_line": 512})
        c = self.connect()
        c.send(b"NOOP\r\n")
        self.assertFailsClosed(c, leaked=[b"rrr"])

    def test_endless_reply_line_gives_421_without_waiting(self):
        self.start(replies={"NOOP": b"250 " + b"r" * 5000}, limits={"max_reply_line": 512})
        c = self.connect()
        start = time.monotonic()
        c.send(b"NOOP\r\n")
        self.assertFailsClosed(c, leaked=[b"rrr"])
        self.assertLess(time.monotonic() - start, 10, "the 421 waited for reply_timeout (30 s)")

    def test_control_bytes_in_reply_text_give_421(self):
        self.start(replies={"NOOP": b"250 ok \x1b[2J\r\n"})
        c = self.connect()
        c.send(b"NOOP\r\n")
        self.assertFailsClosed(c, leaked=[b"\x1b"])

    def test_reply_code_changing_inside_a_reply_gives_421(self):
        self.start(replies={"NOOP": b"250-first line\r\n550 second line\r\n"})
        c = self.connect()
        c.send(b"NOOP\r\n")
        self.assertFailsClosed(c, leaked=[b"first line", b"second line"])

    def test_reply_nobody_asked_for_gives_421(self):
        self.start(replies={"NOOP": b"250 2.0.0 Ok\r\n250 2.0.0 unsolicited\r\n"})
        c = self.connect()
        c.send(b"NOOP\r\n")
        self.assertEqual(c.read_reply().raw, b"250 2.0.0 Ok\r\n")
        self.assertFailsClosed(c, leaked=[b"unsolicited"])

    def test_silence_after_a_command_gives_421_after_reply_timeout(self):
        self.start(replies={"NOOP": None}, limits={"reply_timeout": 1})
        c = self.connect()
        start = time.monotonic()
        c.send(b"NOOP\r\n")
        self.assertFailsClosed(c, enhanced="4.4.2")
        elapsed = time.monotonic() - start
        self.assertGreaterEqual(elapsed, 0.8)
        self.assertLess(elapsed, 8, "the 421 came from command_timeout (30 s), not reply_timeout (1 s)")

    def test_backend_closing_after_a_command_gives_421(self):
        self.start(close_after=["NOOP"])
        c = self.connect()
        c.send(b"NOOP\r\n")
        self.assertFailsClosed(c, enhanced="4.4.2")

    def test_backend_refusing_the_rset_after_starttls_gives_421_to_the_first_command_inside_tls(self):
        # mxguard's RSET leaves with the first command inside TLS (no round trip before the 220): a backend
        # that refuses it ends the session there, before anything of the TLS session is relayed.
        leaf = self.class_ca().issue("mx", "mx.test", ["mx.test"])
        self.be = self.start_backend(replies={"RSET": b"502 5.5.1 RSET not implemented\r\n"})
        self.mx = self.start_mxguard(self.config(self.be.port, certificates=[leaf]))
        c = self.connect()
        self.assertEqual(c.command("STARTTLS").raw, b"220 2.0.0 Ready to start TLS\r\n", self.diag())
        c.starttls()
        c.send(b"EHLO client.test\r\n")
        self.assertFailsClosed(c, leaked=[b"RSET not implemented", b"250"])
        self.assertEqual(self.be.commands()[:2], [b"EHLO client.test", b"RSET"], self.be.describe())

    def test_backend_421_is_relayed_once_and_the_session_closed(self):
        # RFC 5321 §4.2: one reply per command. The backend's 421 answers the NOOP; nothing may follow it
        # but the close (a second, mxguard-made 421 would be a reply to a command never sent).
        self.start(replies={"NOOP": b"421 4.3.2 backend shutting down\r\n"})
        c = self.connect()
        c.send(b"NOOP\r\n")
        self.assertEqual(c.read_reply().raw, b"421 4.3.2 backend shutting down\r\n")
        self.assertClosed(c)
        self.be.wait_all_closed()

    def test_reset_in_the_middle_of_data_gives_421(self):
        self.start(reset_in_data=True)
        c = self.connect()
        self.start_data(c)
        c.send(b"Subject: reset\r\n")
        self.assertFailsClosed(c, enhanced="4.4.2")
        self.assertEqual(self.be.messages(), [])
        self.mx.wait_log(r"backend connection error|backend closed the connection")


if __name__ == "__main__":
    unittest.main()

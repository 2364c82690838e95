"""inbound.limits.command_timeout is a deadline for one whole command line, not an idle timer that every
received byte re-arms: a client that drips a command one byte at a time (a slowloris holding a session and
a backend connection) gets `421 4.4.2` once command_timeout has passed since the line began, and the
connection is closed. The deadline starts again with each new command, so a client that sends whole
commands promptly is never cut off, however long its session; message content is not a command line and
stays judged by data_block_timeout (and min_data_rate)."""
import select
import time
import unittest

from fixtures.hardening import HardeningTestCase

COMMAND_TIMEOUT = 3
DRIP_INTERVAL = 0.5
MARGIN = 4          # seconds allowed past the deadline (a loaded machine, the sanitizer build)


class CommandDeadline(HardeningTestCase):
    def setUp(self):
        super().setUp()
        self.be = self.start_backend()
        self.mx = self.start_mxguard(self.config(self.be.port, limits={"command_timeout": COMMAND_TIMEOUT,
                                                                       "data_block_timeout": 30}))

    def drip(self, c, line, limit):
        """Sends `line` one byte every DRIP_INTERVAL s (cycling through it, never ending it) until mxguard
        answers or `limit` seconds pass; returns (seconds until the answer or None, bytes sent)."""
        started, i = time.monotonic(), 0
        while time.monotonic() - started < limit:
            try:
                c.send(line[i % len(line):i % len(line) + 1])
            except OSError:
                return time.monotonic() - started, i
            i += 1
            readable, _, _ = select.select([c.sock], [], [], DRIP_INTERVAL)
            if readable:
                return time.monotonic() - started, i
        return None, i

    def assertCutOffAtTheDeadline(self, c, line):
        limit = COMMAND_TIMEOUT + MARGIN + 4
        elapsed, sent = self.drip(c, line, limit)
        self.assertIsNotNone(elapsed, f"a client dripping one byte every {DRIP_INTERVAL}s is still connected after "
                             f"{limit}s ({sent} bytes of one command line) with command_timeout = {COMMAND_TIMEOUT}"
                             f"\n{self.diag()}")
        self.assertReply(c.read_reply(), 421, "4.4.2")
        self.assertClosed(c)
        self.assertGreaterEqual(elapsed, COMMAND_TIMEOUT - 1, "cut off before command_timeout")
        self.assertLess(elapsed, COMMAND_TIMEOUT + MARGIN, f"cut off {elapsed:.1f}s after the line began")
        self.be.wait_all_closed()
        self.assertNotIn(line[:4], b"".join(self.be.commands()[1:]), self.be.describe())

    def test_dripped_mail_command_gets_421_at_command_timeout(self):
        c = self.connect()
        self.assertCutOffAtTheDeadline(c, b"MAIL FROM:<" + b"a" * 200)

    def test_dripped_first_command_after_the_greeting_gets_421_at_command_timeout(self):
        c = self.connect(ehlo=False)          # the greeting is read, nothing said yet
        self.assertCutOffAtTheDeadline(c, b"EHLO " + b"b" * 200)
        self.assertEqual(self.be.commands(), [], self.be.describe())

    def test_whole_commands_sent_promptly_keep_the_session_past_command_timeout(self):
        c = self.connect()
        started = time.monotonic()
        while time.monotonic() - started < COMMAND_TIMEOUT * 2:
            self.assertReply(c.command("NOOP"), 250)
            time.sleep(1)
        self.assertReply(c.command("QUIT"), 221)

    def test_slow_content_is_judged_by_data_block_timeout_not_command_timeout(self):
        c = self.connect()
        self.start_data(c)
        c.send(b"Subject: slow content\r\n\r\n")
        started = time.monotonic()
        while time.monotonic() - started < COMMAND_TIMEOUT * 2:
            c.send(b"x")                       # one content line, dripped for twice command_timeout
            time.sleep(DRIP_INTERVAL)
        self.assertSilent(c)
        c.send(b"\r\n.\r\n")
        self.assertReply(c.read_reply(), 250)
        self.assertReply(c.command("QUIT"), 221)
        self.be.wait_all_closed()
        self.assertEqual(len(self.be.messages()), 1, self.be.describe())


if __name__ == "__main__":
    unittest.main()

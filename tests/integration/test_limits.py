"""Resource limits of [inbound.limits] (small values so the tests are fast), each with its exact reply:
command line length (500 5.5.2), content line length and message size (552 5.3.4 after the end of data,
then 421 4.3.0), error count (421 4.7.0), recipients (452 4.5.3), idle and data block timeouts (421 4.4.2),
early talkers (554 5.5.1), global and per-address connection limits (421 4.7.0). min_data_rate needs a
30 s allowance and has its own module (test_data_rate.py)."""
import threading
import time
import unittest

from fixtures import ports
from fixtures.hardening import HardeningTestCase, message


class CommandLineLimit(HardeningTestCase):
    def setUp(self):
        super().setUp()
        self.be = self.start_backend()
        self.mx = self.start_mxguard(self.config(self.be.port, limits={"max_command_line": 512}))

    def test_line_at_the_limit_passes_and_one_byte_more_gets_500(self):
        c = self.connect()
        at_limit = b"NOOP " + b"a" * (512 - 7)          # 512 bytes with its CRLF
        self.assertReply(c.command(at_limit), 250)
        self.assertReply(c.command(b"NOOP " + b"b" * (512 - 6)), 500, "5.5.2", "line too long")
        self.assertReply(c.command("NOOP"), 250)
        self.assertReply(c.command("QUIT"), 221)
        self.be.wait_all_closed()
        self.assertEqual(self.be.commands(), [b"EHLO client.test", at_limit, b"NOOP", b"QUIT"], self.be.describe())

    def test_overlong_line_split_across_writes_gets_one_500_and_its_tail_is_skipped(self):
        c = self.connect()
        c.send(b"NOOP " + b"x" * 600)                   # no line end yet: already too long
        self.assertReply(c.read_reply(), 500, "5.5.2")
        c.send(b"y" * 300)
        c.send(b"MAIL FROM:<evil@x>\r\n")               # still the same line: never a command
        self.assertReply(c.command("NOOP"), 250)
        self.assertReply(c.command("QUIT"), 221)
        self.assertClosed(c)
        self.be.wait_all_closed()
        self.assertEqual(self.be.commands(), [b"EHLO client.test", b"NOOP", b"QUIT"], self.be.describe())
        self.assertNotIn(b"evil", self.be.received_all())

    def test_overlong_line_in_one_write_with_the_next_command(self):
        c = self.connect()
        c.send(b"MAIL FROM:<" + b"z" * 700 + b"@x>\r\nNOOP\r\n")
        self.assertReply(c.read_reply(), 500, "5.5.2")
        self.assertReply(c.read_reply(), 250)
        self.assertReply(c.command("QUIT"), 221)
        self.be.wait_all_closed()
        self.assertEqual(self.be.commands(), [b"EHLO client.test", b"NOOP", b"QUIT"], self.be.describe())


class ContentLimits(HardeningTestCase):
    def setUp(self):
        super().setUp()
        self.be = self.start_backend()
        self.mx = self.start_mxguard(self.config(self.be.port, limits={"max_data_line": 1000},
                                                 inbound={"max_message_size": 4096}))

    def send_message(self, content):
        c = self.connect()
        self.start_data(c)
        c.send(content + b".\r\n")
        return c

    def refused(self, content, text):
        c = self.connect()
        self.start_data(c)
        c.send(content)
        self.be.wait_all_closed()          # the backend connection is dropped at once ...
        self.assertSilent(c)               # ... the client is answered after its end of data
        c.send(b".\r\n")
        self.assertReply(c.read_reply(), 552, "5.3.4", text)
        self.assertReply(c.read_reply(), 421, "4.3.0")
        self.assertClosed(c)
        self.assertEqual(self.be.messages(), [], self.be.describe())

    def test_content_line_at_the_limit_passes(self):
        content = message("line at the limit", b"a" * 998 + b"\r\n")
        c = self.send_message(content)
        self.assertReply(c.read_reply(), 250)
        self.assertReply(c.command("QUIT"), 221)
        self.be.wait_all_closed()
        self.assertEqual(self.be.messages(), [content])

    def test_content_line_over_the_limit_gets_552_after_end_of_data(self):
        self.refused(message("line too long", b"a" * 999 + b"\r\nend\r\n"), "line too long")

    def test_ehlo_announces_the_size_limit(self):
        c = self.open()
        self.assertReply(c.read_reply(), 220)
        ehlo = self.assertReply(c.command("EHLO client.test"), 250)
        self.assertIn("SIZE 4096", ehlo.lines, ehlo.lines)

    @staticmethod
    def sized(size):
        """A message of exactly `size` content bytes, in lines of 100 bytes."""
        head = message("size limit")
        full, rest = divmod(size - len(head) - 2, 100)
        content = head + b"".join(b"x" * 98 + b"\r\n" for _ in range(full)) + b"z" * rest + b"\r\n"
        assert len(content) == size
        return content

    def test_message_at_the_size_limit_passes(self):
        content = self.sized(4096)
        c = self.send_message(content)
        self.assertReply(c.read_reply(), 250)
        self.assertReply(c.command("QUIT"), 221)
        self.be.wait_all_closed()
        self.assertEqual(self.be.messages(), [content])

    def test_message_one_byte_over_the_size_limit_gets_552(self):
        self.refused(self.sized(4097), "size")


class ErrorLimit(HardeningTestCase):
    def setUp(self):
        super().setUp()
        self.be = self.start_backend(replies={"RCPT": b"550 5.1.1 No such user\r\n"})
        self.mx = self.start_mxguard(self.config(self.be.port, limits={"max_errors": 3}))

    def test_after_max_errors_the_next_command_gets_421(self):
        c = self.connect()
        for _ in range(3):
            self.assertReply(c.command("BOGUS"), 500, "5.5.2")
        self.assertReply(c.command("NOOP"), 421, "4.7.0", "too many errors")
        self.assertClosed(c)
        self.be.wait_all_closed()
        self.assertEqual(self.be.commands(), [b"EHLO client.test"], self.be.describe())

    def test_pipelined_errors_count_too(self):
        c = self.connect()
        c.send(b"BOGUS\r\nBOGUS\r\nBOGUS\r\nNOOP\r\nNOOP\r\n")
        for _ in range(3):
            self.assertReply(c.read_reply(), 500, "5.5.2")
        self.assertReply(c.read_reply(), 421, "4.7.0")
        self.assertClosed(c)
        self.be.wait_all_closed()
        self.assertEqual(self.be.commands(), [b"EHLO client.test"], self.be.describe())

    def test_backend_refusals_count_as_errors(self):
        c = self.connect()
        self.assertReply(c.command("MAIL FROM:<harvester@sender.example>"), 250)
        for i in range(3):
            self.assertReply(c.command(f"RCPT TO:<guess{i}@example.test>"), 550, "5.1.1")
        self.assertReply(c.command("RCPT TO:<guess3@example.test>"), 421, "4.7.0")
        self.assertClosed(c)
        self.be.wait_all_closed()
        self.assertNotIn(b"guess3", self.be.received_all(), self.be.describe())

    def test_pipelined_backend_refusals_cannot_exceed_max_errors(self):
        # A directory-harvest client pipelines its guesses. The limit must hold as in the sequential case:
        # three 550s, then 421 4.7.0 for the fourth RCPT, and the backend never gets the rest.
        c = self.connect()
        c.send(b"MAIL FROM:<harvester@sender.example>\r\n"
               + b"".join(f"RCPT TO:<guess{i}@example.test>\r\n".encode() for i in range(10)))
        self.assertReply(c.read_reply(), 250)
        for _ in range(3):
            self.assertReply(c.read_reply(), 550, "5.1.1")
        self.assertReply(c.read_reply(), 421, "4.7.0")
        self.assertClosed(c)
        self.be.wait_all_closed()
        rcpts = [l for l in self.be.commands() if l.startswith(b"RCPT")]
        self.assertEqual(len(rcpts), 3, f"{len(rcpts)} RCPTs reached the backend with max_errors = 3:\n"
                         f"{self.be.describe()}")

    def test_errors_queued_behind_a_pending_command_count(self):
        # The three 500s wait behind the NOOP's backend reply; the command after them must still get 421.
        c = self.connect()
        c.send(b"NOOP\r\nBOGUS\r\nBOGUS\r\nBOGUS\r\nNOOP after the errors\r\n")
        self.assertReply(c.read_reply(), 250)
        for _ in range(3):
            self.assertReply(c.read_reply(), 500, "5.5.2")
        self.assertReply(c.read_reply(), 421, "4.7.0")
        self.assertClosed(c)
        self.be.wait_all_closed()
        self.assertEqual(self.be.commands(), [b"EHLO client.test", b"NOOP"], self.be.describe())


class RecipientLimit(HardeningTestCase):
    def setUp(self):
        super().setUp()
        self.be = self.start_backend()
        self.mx = self.start_mxguard(self.config(self.be.port, limits={"max_recipients": 100}))

    def test_the_101st_recipient_gets_452(self):
        c = self.connect()
        c.send(b"MAIL FROM:<alice@sender.example>\r\n"
               + b"".join(f"RCPT TO:<r{i}@example.test>\r\n".encode() for i in range(101)))
        self.assertReply(c.read_reply(), 250)
        for i in range(100):
            self.assertReply(c.read_reply(), 250)
        self.assertReply(c.read_reply(), 452, "4.5.3", "too many recipients")
        # The transaction goes on with 100 recipients; the next one starts counting afresh.
        content = message("hundred recipients")
        self.assertReply(c.command("DATA"), 354)
        c.send(content + b".\r\n")
        self.assertReply(c.read_reply(), 250)
        self.start_data(c, rcpts=["again@example.test"])
        c.send(content + b".\r\n")
        self.assertReply(c.read_reply(), 250)
        self.assertReply(c.command("QUIT"), 221)
        self.be.wait_all_closed()
        rcpts = [l for l in self.be.commands() if l.startswith(b"RCPT")]
        self.assertEqual(len(rcpts), 101, self.be.describe()[-2000:])
        self.assertNotIn(b"RCPT TO:<r100@example.test>", rcpts)
        self.assertEqual(self.be.messages(), [content, content])


class Timeouts(HardeningTestCase):
    def test_idle_client_gets_421_after_command_timeout(self):
        be = self.be = self.start_backend()
        self.mx = self.start_mxguard(self.config(be.port, limits={"command_timeout": 1}))
        c = self.connect()
        start = time.monotonic()
        self.assertReply(c.read_reply(), 421, "4.4.2", "timeout")
        elapsed = time.monotonic() - start
        self.assertGreaterEqual(elapsed, 0.8)
        self.assertLess(elapsed, 8)
        self.assertClosed(c)
        be.wait_all_closed()
        self.assertEqual(be.commands(), [b"EHLO client.test"], be.describe())

    def test_stalled_content_gets_421_after_data_block_timeout(self):
        be = self.be = self.start_backend()
        self.mx = self.start_mxguard(self.config(be.port, limits={"command_timeout": 30, "data_block_timeout": 1}))
        c = self.connect()
        self.start_data(c)
        c.send(b"Subject: stalled\r\n\r\nfirst line\r\n")
        start = time.monotonic()
        self.assertReply(c.read_reply(), 421, "4.4.2")
        elapsed = time.monotonic() - start
        self.assertGreaterEqual(elapsed, 0.8)
        self.assertLess(elapsed, 8, "the 421 came from command_timeout (30 s), not data_block_timeout (1 s)")
        self.assertClosed(c)
        be.wait_all_closed()
        self.assertEqual(be.messages(), [], be.describe())


class EarlyTalker(HardeningTestCase):
    def setUp(self):
        super().setUp()
        self.gate = threading.Event()
        self.be = self.start_backend(greeting_gate=self.gate)   # greets when the test says so
        self.mx = self.start_mxguard(self.config(self.be.port))

    def test_client_talking_before_the_greeting_gets_554(self):
        c = self.open()
        c.send(b"EHLO client.test\r\nMAIL FROM:<spam@bot.example>\r\n")
        self.assertReply(c.read_reply(), 554, "5.5.1", "before the greeting")
        self.assertClosed(c)
        self.be.wait_connections(1)
        self.gate.set()
        self.be.wait_all_closed()
        self.assertEqual(self.be.received_all(), b"", self.be.describe())
        self.mx.wait_log(r"early talker")

    def test_patient_client_gets_the_greeting(self):
        c = self.open()
        self.be.wait_connections(1)
        self.gate.set()
        self.assertReply(c.read_reply(), 220)
        self.assertReply(c.command("EHLO client.test"), 250)
        self.assertReply(c.command("QUIT"), 221)


class ConnectionLimits(HardeningTestCase):
    def greeted(self, source):
        c = self.open(source=source)
        self.assertReply(c.read_reply(), 220)
        return c

    def refused(self, source):
        c = self.open(source=source)
        self.assertReply(c.read_reply(), 421, "4.7.0", "too many connections")
        self.assertClosed(c)

    def eventually_greeted(self, source):
        def attempt():
            c = self.open(source=source)
            return c if c.read_reply().code == 220 else None
        return ports.wait_until(attempt, 10, f"a 220 for a new connection from {source}", interval=0.05)

    def test_global_limit(self):
        self.be = self.start_backend()
        self.mx = self.start_mxguard(self.config(self.be.port, limits={"max_connections": 2,
                                                                       "max_connections_per_ip": 100}))
        c1 = self.greeted("127.0.0.1")
        self.greeted("127.0.0.2")
        self.refused("127.0.0.3")          # counted across client addresses
        self.refused("127.0.0.1")
        self.assertEqual(len(self.be.connections), 2, "a refused client must not reach the backend")
        self.assertReply(c1.command("QUIT"), 221)
        self.assertClosed(c1)
        self.assertReply(self.eventually_greeted("127.0.0.3").command("QUIT"), 221)
        self.mx.wait_log(r"refused: too many connections")

    def test_per_address_limit(self):
        self.be = self.start_backend()
        self.mx = self.start_mxguard(self.config(self.be.port, limits={"max_connections": 100,
                                                                       "max_connections_per_ip": 2}))
        c1 = self.greeted("127.0.0.1")
        self.greeted("127.0.0.1")
        self.refused("127.0.0.1")
        c2 = self.greeted("127.0.0.2")          # another address is not affected
        self.assertReply(c2.command("EHLO client.test"), 250)
        self.assertEqual(len(self.be.connections), 3, "a refused client must not reach the backend")
        self.assertReply(c1.command("QUIT"), 221)
        self.assertClosed(c1)
        self.assertReply(self.eventually_greeted("127.0.0.1").command("QUIT"), 221)
        self.mx.wait_log(r"refused: too many connections from this address")


if __name__ == "__main__":
    unittest.main()

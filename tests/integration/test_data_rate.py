"""inbound.limits.min_data_rate: message content slower than the minimum (averaged over DATA) gets
421 4.4.2 and the session is closed, the partial message never delivered; a sender above the minimum is
not affected. The rate is judged only after inbound.limits.min_data_rate_grace (default 30 s); here it is
2 s, so the module takes a few seconds: one test, a slow and a fast sender side by side."""
import select
import time
import unittest

from fixtures.hardening import HardeningTestCase, message

GRACE = 2               # seconds: inbound.limits.min_data_rate_grace
MIN_RATE = 1000         # bytes per second
TICK = 0.25             # the fast sender writes 1000 bytes per tick: 4000 B/s
SLOW_CHUNK = b"s" * 8 + b"\r\n"   # the slow sender writes 10 bytes every other tick: 20 B/s


class MinDataRate(HardeningTestCase):
    def test_slow_sender_gets_421_after_the_grace_and_fast_sender_is_not_affected(self):
        self.be = self.start_backend()
        self.mx = self.start_mxguard(self.config(self.be.port, limits={"min_data_rate": MIN_RATE,
                                                                       "min_data_rate_grace": GRACE,
                                                                       "data_block_timeout": 60}))
        fast, slow = self.connect(), self.connect()
        self.start_data(fast)
        fast_head = message("fast sender")
        fast.send(fast_head)
        self.start_data(slow)
        slow.send(b"Subject: slow sender\r\n\r\n")
        started = time.monotonic()
        fast_bytes, refused_at, tick = len(fast_head), None, 0
        while time.monotonic() - started < GRACE + 10:
            fast.send(b"f" * 998 + b"\r\n")
            fast_bytes += 1000
            if refused_at is None and tick % 2 == 0:
                slow.send(SLOW_CHUNK)
            tick += 1
            if refused_at is None:
                readable, _, _ = select.select([slow.sock], [], [], TICK)   # paces the loop, too
                if readable:
                    refused_at = time.monotonic() - started
                    break_after = refused_at + 1.5   # the fast sender goes on past its own check
            else:
                time.sleep(TICK)
                if time.monotonic() - started > break_after:
                    break
        self.assertIsNotNone(refused_at, f"the slow sender was never refused\n{self.diag()}")
        self.assertReply(slow.read_reply(), 421, "4.4.2", "data rate too low")
        self.assertClosed(slow)
        self.assertGreaterEqual(refused_at, GRACE - 0.5, "refused before the grace was over")
        fast.send(b".\r\n")
        self.assertReply(fast.read_reply(), 250)
        self.assertReply(fast.command("QUIT"), 221)
        self.be.wait_all_closed()
        messages = self.be.messages()
        self.assertEqual(len(messages), 1, self.be.describe()[-3000:])
        self.assertTrue(messages[0].startswith(fast_head), messages[0][:200])
        self.assertEqual(len(messages[0]), fast_bytes)
        self.assertNotIn(b"slow sender", b"".join(messages))


if __name__ == "__main__":
    unittest.main()

"""Reproductions from a code review of the inbound session (the test states the expected behaviour; at
the commit it was written against, it fails).

Run: cd tests/integration && MXGUARD_BIN=... PYTHONPATH=.. python3 -m unittest -v test_drain_before_354
"""
import signal
import subprocess
import time
import unittest

from fixtures.base import IntegrationTestCase
from fixtures.smtpwire import SmtpWire


class ReviewInbound(IntegrationTestCase):
    # The grace period ends (shutdown()) while DATA waits for the backend's 354: end_after_owed_replies
    # stops reading and queues the 421 behind the awaited entry. The 354 is relayed and begin_content()
    # enters Data without flushing the queue, so the session sits in Data, reading nothing, until
    # data_block_timeout blames the client; the worker (and the process) cannot exit meanwhile.
    def test_grace_over_while_data_waits_for_354_ends_promptly(self):
        be = self.start_backend(replies={"DATA": lambda line: (time.sleep(2.5), b"354 go ahead\r\n")[1]})
        cfg = self.config(be.port, limits={"data_block_timeout": 40})
        cfg["server"]["shutdown_grace"] = 1
        mx = self.start_mxguard(cfg)
        c = SmtpWire("127.0.0.1", mx.listen_ports[0])
        self.addCleanup(c.close)
        self.assertEqual(c.read_reply().code, 220)
        self.assertEqual(c.command("EHLO client.test").code, 250)
        c.send(b"MAIL FROM:<alice@sender.example>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n")
        self.assertEqual([r.code for r in c.read_replies(2)], [250, 250])
        mx.signal(signal.SIGTERM)
        try:
            status = mx.wait_exit(timeout=12)
        except subprocess.TimeoutExpired:
            self.fail(f"mxguard still running 12 s after SIGTERM with a 1 s grace\n{mx.log()[-3000:]}")
        self.assertEqual(status, 0)


if __name__ == "__main__":
    unittest.main()

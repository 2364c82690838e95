"""No blame for mxguard's own back-pressure. While the backend does not take message content, mxguard
stops reading the client (its buffers are bounded); the client, pushing as fast as it can, is then held
back by mxguard, not idle. data_block_timeout must not fire on it:

- a backend that stops reading during DATA for longer than data_block_timeout (3 s; it pauses 7 s), then
  reads everything and answers 250: the message is delivered and the client gets the 250, with no
  `421 ... timeout exceeded` and no "client timed out" in the log;
- a backend that never reads again: the session ends by inbound.limits.backend_write_timeout (the backend
  took nothing for that long), the client gets `421 4.4.2`, and the log blames the backend.

The message (24 MiB) is larger than every socket buffer on the way together, so the client really is held
back; each test checks that it was (its sends stalled for longer than data_block_timeout)."""
import threading
import time
import unittest

from fixtures.hardening import HardeningTestCase, message

DATA_BLOCK_TIMEOUT = 3
BACKEND_PAUSE = 7
BACKEND_WRITE_TIMEOUT = 5
MESSAGE_SIZE = 24 << 20
CHUNK = 64 * 1024


def big_message():
    line = b"x" * 998 + b"\r\n"
    return message("held back by the backend", line * (MESSAGE_SIZE // len(line)))


class Pusher(threading.Thread):
    """Sends `data` as fast as the connection takes it, noting when each chunk was handed to the kernel (and
    when a blocked send failed)."""

    def __init__(self, sock, data):
        super().__init__(daemon=True)
        self.sock, self.data = sock, data
        self.progress = []
        self.error = None

    def run(self):
        view = memoryview(self.data)
        try:
            for i in range(0, len(view), CHUNK):
                self.sock.sendall(view[i:i + CHUNK])
                self.progress.append(time.monotonic())
        except OSError as e:         # the connection was closed while a send was blocked: that send ends here
            self.progress.append(time.monotonic())
            self.error = e

    def longest_stall(self):
        return max((b - a for a, b in zip(self.progress, self.progress[1:])), default=0.0)


class BackendBackPressure(HardeningTestCase):
    def start(self, data_pause, **limits):
        self.be = self.start_backend(data_pause=data_pause)
        self.mx = self.start_mxguard(self.config(self.be.port, limits={
            "data_block_timeout": DATA_BLOCK_TIMEOUT, "command_timeout": 60, "data_end_timeout": 60, **limits}))

    def test_backend_pausing_longer_than_data_block_timeout_is_not_the_clients_fault(self):
        self.start(data_pause=BACKEND_PAUSE)
        content = big_message()
        c = self.connect(timeout=60)
        self.start_data(c)
        pusher = Pusher(c.sock, content + b".\r\n")
        pusher.start()
        pusher.join(60)
        self.assertFalse(pusher.is_alive(), "the client could not send its message in 60 s")
        reply = c.read_reply()
        self.assertNotIn("timeout", reply.text, f"{reply.raw!r}\n{self.diag()}")
        self.assertIsNone(pusher.error, f"the client's send failed ({pusher.error}) after {reply.raw!r}")
        self.assertReply(reply, 250)
        self.assertGreater(pusher.longest_stall(), DATA_BLOCK_TIMEOUT,
                           "the client was never held back longer than data_block_timeout: the test proves nothing")
        self.assertReply(c.command("QUIT"), 221)
        self.be.wait_all_closed()
        self.assertEqual(self.be.messages(), [content])
        self.assertNotRegex(self.mx.log(), r"client timed out|timeout exceeded")

    def test_backend_that_never_reads_again_ends_the_session_by_backend_write_timeout(self):
        never = threading.Event()
        self.start(data_pause=never, backend_write_timeout=BACKEND_WRITE_TIMEOUT)
        c = self.connect(timeout=60)
        self.start_data(c)
        paused_at = time.monotonic()
        pusher = Pusher(c.sock, big_message() + b".\r\n")
        pusher.start()
        reply = c.read_reply()
        answered_after = time.monotonic() - paused_at
        self.assertReply(reply, 421, "4.4.2")
        self.assertClosed(c, timeout=15)
        pusher.join(15)
        self.assertGreaterEqual(answered_after, BACKEND_WRITE_TIMEOUT - 1,
                                f"421 after {answered_after:.1f}s: before backend_write_timeout\n{self.diag()}")
        self.assertLess(answered_after, BACKEND_WRITE_TIMEOUT + 15)
        self.assertGreater(pusher.longest_stall(), DATA_BLOCK_TIMEOUT,
                           "the client was never held back longer than data_block_timeout: the test proves nothing")
        never.set()                  # let the backend thread see the closed connection
        log = self.mx.log()
        self.assertNotIn("client timed out", log)
        self.assertRegex(log, r"(?i)\[[0-9a-f]+\][^\n]*backend", "no log line of the session blames the backend")
        self.be.wait_all_closed()
        self.assertEqual(self.be.messages(), [])


if __name__ == "__main__":
    unittest.main()

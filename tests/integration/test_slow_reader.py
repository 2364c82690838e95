"""Replies to a client that pipelines and never reads stay bounded (architecture.md, back-pressure: 256 KiB
of queued output per session). Stopping to read is not enough: commands already read must not be
processed either while the client is not taking replies, or mxguard queues their replies without bound.

The client (receive window made small with SO_RCVBUF before connecting) sends a burst of NOOPs small
enough to be read at once, and reads nothing. The scripted backend answers each NOOP with a 4 KiB
multi-line reply (like a verbose HELP): 40 MiB of replies in all, ten times what the kernel's socket
buffers can hold. Once the backend has stopped getting commands, the replies mxguard holds in its own
memory are measured exactly: what the backend handed to its kernel, minus what still sits in the two
sockets between the backend and mxguard, minus what sits in the two sockets between mxguard and the client
(/proc/net/tcp queues). Then the client reads: every reply arrives, in order, byte for byte."""
import os
import time
import unittest

from fixtures import ports
from fixtures.hardening import HardeningTestCase

REPLY_SIZE = 4096
USER_SPACE_BOUND = 1 << 20     # 256 KiB high-water mark + what one backend read and 100 pipelined replies add
RSS_GROWTH_BOUND = 64 << 20    # generous: a session that queued every reply would hold 40 MiB more, and
                               # (under AddressSanitizer) churn far more than that


def noop_reply(arg):
    """A 4096-byte 250 reply of 8 lines, the first naming the NOOP's argument (so the order can be checked)."""
    first = b"250-2.0.0 Ok " + arg
    lines = [first + b"." * (510 - len(first))] + [b"250-" + b"h" * 506] * 6 + [b"250 " + b"e" * 506]
    reply = b"".join(l + b"\r\n" for l in lines)
    assert len(reply) == REPLY_SIZE
    return reply


class NonReadingClient(HardeningTestCase):
    def test_replies_to_a_client_that_does_not_read_stay_bounded_and_all_arrive_in_order(self):
        self.be = self.start_backend(fast_replies=True, replies={"NOOP": lambda line: noop_reply(line[5:])})
        # Every NOOP counts toward max_junk_commands: raised out of the way, the flood is what is measured.
        self.mx = self.start_mxguard(self.config(self.be.port, limits={"max_junk_commands": 1000000}))
        with open("/proc/sys/net/ipv4/tcp_wmem") as f:
            wmem_max = int(f.read().split()[2])
        # Ten times what the kernel can buffer (mxguard's send buffer grows up to tcp_wmem's maximum).
        n = max(10000, 10 * (wmem_max + (1 << 20)) // REPLY_SIZE)
        rss_before = self.mx.vmrss_kib() * 1024

        c = self.connect(rcvbuf=4096)
        client_port = c.sock.getsockname()[1]
        mx_port = self.mx.listen_ports[0]
        be_conn = self.be.connections[0]
        mx_backend_port = be_conn.peer[1]
        ports.wait_until(lambda: be_conn.replied_bytes > 0, 10, "the backend's EHLO reply counted")
        replied_before = be_conn.replied_bytes     # the EHLO reply
        c.send(b"".join(b"NOOP %07d\r\n" % i for i in range(n)))   # 14 bytes each: read at once

        # Wait until the backend gets no more commands: mxguard has stopped processing.
        last, stable_since, deadline = -1, None, time.monotonic() + 20
        while time.monotonic() < deadline:
            count = self.be.command_count()
            if count == last:
                stable_since = stable_since or time.monotonic()
                if time.monotonic() - stable_since >= 1.5:
                    break
            else:
                stable_since, last = None, count
            time.sleep(0.1)
        noops = self.be.command_count() - 1        # without the EHLO
        self.assertLess(noops, n, f"the backend got all {n} NOOPs while the client read nothing: mxguard "
                        f"never stopped processing\n{self.diag()[-3000:]}")

        # Reply bytes the backend handed to its kernel: they are in a socket buffer, in mxguard, or read.
        replied = be_conn.replied_bytes - replied_before
        be_tx, _ = ports.tcp_queues(self.be.port, mx_backend_port)
        _, mx_be_rx = ports.tcp_queues(mx_backend_port, self.be.port)
        mx_tx, _ = ports.tcp_queues(mx_port, client_port)
        _, client_rx = ports.tcp_queues(client_port, mx_port)
        in_kernels = be_tx + mx_be_rx + mx_tx + client_rx
        in_mxguard = replied - in_kernels
        rss_growth = self.mx.vmrss_kib() * 1024 - rss_before
        report = (f"{noops} of {n} NOOPs processed while the client read nothing; {replied} bytes of "
                  f"replies sent by the backend, {in_kernels} in socket buffers (backend->mxguard {be_tx}+{mx_be_rx}, "
                  f"mxguard->client {mx_tx}+{client_rx}), {in_mxguard} in mxguard's memory; VmRSS grew by "
                  f"{rss_growth} bytes")
        if os.environ.get("MXGUARD_TEST_VERBOSE"):
            print(report)
        self.assertLessEqual(in_mxguard, USER_SPACE_BOUND, report)
        self.assertLessEqual(rss_growth, RSS_GROWTH_BOUND, report)

        # Now the client reads: every reply, in order, nothing lost or repeated.
        expected_size = n * REPLY_SIZE
        got = bytearray()
        c.sock.settimeout(30)
        read_deadline = time.monotonic() + 30
        while len(got) < expected_size and time.monotonic() < read_deadline:
            chunk = c.sock.recv(1 << 20)
            if not chunk:
                break
            got += chunk
        self.assertEqual(len(got), expected_size, f"{report}; then the client read {len(got)} of "
                         f"{expected_size} bytes\n{self.diag()[-3000:]}")
        expected = b"".join(noop_reply(b"%07d" % i) for i in range(n))
        if got != expected:
            i = next(k for k in range(0, expected_size, REPLY_SIZE) if got[k:k + REPLY_SIZE] != expected[k:k + REPLY_SIZE])
            self.fail(f"reply {i // REPLY_SIZE} differs: {bytes(got[i:i + 40])!r} instead of {expected[i:i + 40]!r}")
        self.assertReply(c.command("QUIT"), 221)


if __name__ == "__main__":
    unittest.main()

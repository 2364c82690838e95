"""Framing confusion: CHUNKING is never advertised and BDAT gets 502 5.5.1 with its payload skipped (never
read as commands); XCLIENT and XFORWARD from a client get 502 5.5.1 and are never forwarded; a PROXY
header from a client is an early talker before the greeting (554 5.5.1 and close) and an unknown command
after it (500 5.5.2), never forwarded, on a listener whose backend_protocol is plain."""
import threading
import unittest

from fixtures.hardening import HardeningTestCase

PAYLOAD = b"RSET\r\nMAIL FROM:<>\r\n"   # 20 bytes that look like commands
assert len(PAYLOAD) == 20

PROXY_V1 = b"PROXY TCP4 192.0.2.7 127.0.0.1 40000 25\r\n"
# PROXY v2, PROXY command, TCP over IPv4: 192.0.2.7:40000 -> 127.0.0.1:25 (no byte is an LF)
PROXY_V2 = (b"\r\n\r\n\x00\r\nQUIT\n" + b"\x21\x11\x00\x0c" + bytes([192, 0, 2, 7, 127, 0, 0, 1])
            + (40000).to_bytes(2, "big") + (25).to_bytes(2, "big"))


class FramingCase(HardeningTestCase):
    @classmethod
    def setUpClass(cls):
        cls.leaf = cls.class_ca().issue("mx", "mx.test", ["mx.test"])

    def setUp(self):
        super().setUp()
        self.be = self.start_backend()   # offers CHUNKING, XCLIENT and XFORWARD itself
        self.mx = self.start_mxguard(self.config(self.be.port, certificates=[self.leaf],
                                                 inbound={"backend_protocol": "plain"}))

    def finish(self, c, expected_commands):
        self.assertReply(c.command("QUIT"), 221)
        self.assertClosed(c)
        self.be.wait_all_closed()
        self.assertEqual(self.be.commands(), expected_commands, self.be.describe())


class Bdat(FramingCase):
    def test_chunking_is_never_advertised(self):
        c = self.open()
        self.assertReply(c.read_reply(), 220)
        before = self.assertReply(c.command("EHLO client.test"), 250)
        self.assertNotIn("CHUNKING", before.keywords(), before.lines)
        after = self.starttls(c)
        self.assertNotIn("CHUNKING", after.keywords(), after.lines)
        self.assertNotIn("BINARYMIME", after.keywords(), after.lines)

    def test_bdat_payload_in_the_same_write_is_skipped(self):
        c = self.connect()
        c.send(b"BDAT 20 LAST\r\n" + PAYLOAD)
        self.assertReply(c.read_reply(), 502, "5.5.1")
        self.assertReply(c.command("NOOP"), 250)   # the next real command works
        self.finish(c, [b"EHLO client.test", b"NOOP", b"QUIT"])
        self.assertNotIn(b"MAIL", self.be.received_all())

    def test_bdat_payload_in_later_writes_is_skipped(self):
        c = self.connect()
        c.send(b"BDAT 20 LAST\r\n")
        self.assertReply(c.read_reply(), 502, "5.5.1")
        c.send(PAYLOAD[:7])
        c.send(PAYLOAD[7:])
        self.assertReply(c.command("NOOP"), 250)
        self.finish(c, [b"EHLO client.test", b"NOOP", b"QUIT"])
        self.assertNotIn(b"MAIL", self.be.received_all())
        self.assertNotIn(b"RSET", self.be.received_all())

    def test_bdat_payload_with_the_next_command_in_one_write(self):
        c = self.connect()
        c.send(b"BDAT 20 LAST\r\n" + PAYLOAD + b"NOOP\r\n")
        self.assertReply(c.read_reply(), 502, "5.5.1")
        self.assertReply(c.read_reply(), 250)
        self.finish(c, [b"EHLO client.test", b"NOOP", b"QUIT"])

    def test_bdat_inside_a_transaction_does_not_deliver(self):
        c = self.connect()
        self.assertReply(c.command("MAIL FROM:<alice@sender.example>"), 250)
        self.assertReply(c.command("RCPT TO:<bob@example.test>"), 250)
        body = b"Subject: x\r\n\r\nDATA\r\n.\r\n"
        c.send(f"BDAT {len(body)} LAST\r\n".encode() + body)
        self.assertReply(c.read_reply(), 502, "5.5.1")
        self.assertReply(c.command("RSET"), 250)
        self.finish(c, [b"EHLO client.test", b"MAIL FROM:<alice@sender.example>", b"RCPT TO:<bob@example.test>",
                        b"RSET", b"QUIT"])
        self.assertEqual(self.be.messages(), [])

    def test_bdat_with_unparsable_size_ends_the_session(self):
        c = self.connect()
        c.send(b"BDAT twenty LAST\r\n" + PAYLOAD)
        self.assertReply(c.read_reply(), 554, "5.5.1")
        self.assertClosed(c)
        self.be.wait_all_closed()
        self.assertEqual(self.be.commands(), [b"EHLO client.test"], self.be.describe())


class ClientXclientXforward(FramingCase):
    def test_xclient_gets_502_and_is_never_forwarded(self):
        c = self.connect()
        self.assertReply(c.command("XCLIENT ADDR=192.0.2.7 NAME=trusted.example"), 502, "5.5.1")
        self.assertReply(c.command("xclient ADDR=192.0.2.7"), 502, "5.5.1")
        self.assertReply(c.command("NOOP"), 250)
        self.finish(c, [b"EHLO client.test", b"NOOP", b"QUIT"])
        self.assertNotIn(b"192.0.2.7", self.be.received_all())

    def test_xforward_gets_502_and_is_never_forwarded(self):
        c = self.connect()
        self.assertReply(c.command("XFORWARD ADDR=192.0.2.7 NAME=trusted.example"), 502, "5.5.1")
        self.assertReply(c.command("NOOP"), 250)
        self.finish(c, [b"EHLO client.test", b"NOOP", b"QUIT"])
        self.assertNotIn(b"192.0.2.7", self.be.received_all())

    def test_xclient_inside_tls_gets_502_too(self):
        c = self.connect(tls=True)
        self.assertReply(c.command("XCLIENT ADDR=192.0.2.7"), 502, "5.5.1")
        self.assertReply(c.command("XFORWARD ADDR=192.0.2.7"), 502, "5.5.1")
        self.finish(c, [b"EHLO client.test", b"RSET", b"EHLO client.test", b"QUIT"])


class ClientProxyHeader(HardeningTestCase):
    """A backend that greets late, so the client's PROXY header certainly comes before the greeting."""

    def setUp(self):
        super().setUp()
        self.gate = threading.Event()
        self.be = self.start_backend(greeting_gate=self.gate)
        self.mx = self.start_mxguard(self.config(self.be.port, inbound={"backend_protocol": "plain"}))

    def check_early(self, header):
        c = self.open()
        c.send(header + b"EHLO client.test\r\n")
        reply = self.assertReply(c.read_reply(), 554, "5.5.1")
        self.assertEqual(reply.raw, b"554 5.5.1 Protocol error: client spoke before the greeting\r\n")
        self.assertClosed(c)
        self.be.wait_connections(1)
        self.gate.set()
        self.be.wait_all_closed()
        self.assertEqual(self.be.received_all(), b"", self.be.describe())

    def test_proxy_v1_before_the_greeting_is_an_early_talker(self):
        self.check_early(PROXY_V1)

    def test_proxy_v2_before_the_greeting_is_an_early_talker(self):
        self.check_early(PROXY_V2)

    def test_proxy_v1_after_the_greeting_is_an_unknown_command(self):
        self.gate.set()
        c = self.connect(ehlo=False)
        self.assertReply(c.command(PROXY_V1[:-2]), 500, "5.5.2")
        self.assertReply(c.command("EHLO client.test"), 250)
        self.assertReply(c.command("QUIT"), 221)
        self.assertClosed(c)
        self.be.wait_all_closed()
        self.assertEqual(self.be.commands(), [b"EHLO client.test", b"QUIT"], self.be.describe())
        self.assertNotIn(b"PROXY", self.be.received_all())

    def test_proxy_v2_after_the_greeting_is_refused_and_its_quit_not_executed(self):
        self.gate.set()
        c = self.connect(ehlo=False)
        # Lines: "", "", "\0", "QUIT\n" (bare LF), then the binary rest joined to the CRLF below.
        c.send(PROXY_V2 + b"\r\n")
        for _ in range(5):
            self.assertReply(c.read_reply(), 500, "5.5.2")
        self.assertReply(c.command("NOOP"), 250)   # the QUIT inside the signature did not end the session
        self.assertReply(c.command("QUIT"), 221)
        self.assertClosed(c)
        self.be.wait_all_closed()
        self.assertEqual(self.be.commands(), [b"NOOP", b"QUIT"], self.be.describe())
        self.assertNotIn(b"\xc0\x00\x02\x07", self.be.received_all())


if __name__ == "__main__":
    unittest.main()

"""SMTP smuggling (CVE-2023-51764/51765/51766 class): inside DATA only <CR><LF>.<CR><LF> ends a message.

Every near-miss end-of-data sequence (and a bare CR, a bare LF, a NUL) is sent by a scripted client in
front of a smuggled second transaction. With bare_newlines = "reject" (the default) the client gets
550 5.5.2 (550 5.6.0 for NUL) after its end of data, then 421 4.3.0 and the close, and the backend
connection is dropped so the partial message is discarded. With "normalize" the backend gets one message
with CRLF line ends only and correct dot-stuffing. Either way the backend never sees two messages where
the client sent one: checked against the scripted backend (which records the bytes) and against a real
Postfix (messages counted in its Maildirs). Bare LF in command lines is refused with 500 5.5.2.
"""
import unittest

from fixtures import ports
from fixtures.hardening import HardeningTestCase, bare_line_ends, destuff, message
from fixtures.postfix import strip_added_headers

# name, the sequence the client sends after "first part", what the backend must get instead in
# normalize mode (in the context below), the enhanced code of the 550 in reject mode.
NEAR_MISSES = [
    ("lf_dot_lf", b"\n.\n", b"\r\n..\r\n", "5.5.2"),
    ("cr_dot_cr", b"\r.\r", b"\r\n..\r\n", "5.5.2"),
    ("lf_dot_crlf", b"\n.\r\n", b"\r\n..\r\n", "5.5.2"),
    ("cr_dot_crlf", b"\r.\r\n", b"\r\n..\r\n", "5.5.2"),
    ("lf_dot_cr", b"\n.\r", b"\r\n..\r\n", "5.5.2"),
    ("crlf_dot_cr", b"\r\n.\r", b"\r\n\r\n", "5.5.2"),            # "." is the client's own stuffing
    ("crlf_dot_lf", b"\r\n.\n", b"\r\n\r\n", "5.5.2"),
    ("crlf_dot_cr_crlf", b"\r\n.\r\r\n", b"\r\n\r\n\r\n", "5.5.2"),
    ("bare_lf", b"\n", b"\r\n", "5.5.2"),
    ("bare_cr", b"\r", b"\r\n", "5.5.2"),
    ("nul", b"\x00", b"", "5.6.0"),                              # NUL dropped
    ("crlf_nul_dot_crlf", b"\r\n\x00.\r\n", b"\r\n..\r\n", "5.6.0"),
    ("crlf_dot_nul_crlf", b"\r\n.\x00\r\n", b"\r\n\r\n", "5.6.0"),
]

SMUGGLED = (b"MAIL FROM:<evil@smuggled.example>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n"
            b"From: <evil@smuggled.example>\r\nSubject: smuggled\r\n\r\nsmuggled body\r\n")


def payload(name, sequence):
    """The content the client sends (without the final ".\\r\\n"): a message to bob whose body hides a
    second transaction (to alice) behind the near-miss `sequence`."""
    return message(f"near-miss {name}", b"first part" + sequence + SMUGGLED)


def normalized(name, replacement):
    """What the backend must receive in normalize mode (without the final ".\\r\\n")."""
    return message(f"near-miss {name}", b"first part" + replacement + SMUGGLED)


class SmugglingRejectScripted(HardeningTestCase):
    """bare_newlines = "reject" (the default), scripted backend."""

    def setUp(self):
        super().setUp()
        self.be = self.start_backend()
        self.mx = self.start_mxguard(self.config(self.be.port))

    def check_refused(self, name, sequence, enhanced, split=False):
        c = self.connect()
        self.start_data(c)
        content = payload(name, sequence)
        if split:   # one byte per write: every feed boundary of the content filter
            for i in range(len(content)):
                c.send(content[i:i + 1])
        else:
            c.send(content)
        # The backend connection is dropped as soon as the bad line is seen ...
        self.be.wait_all_closed()
        # ... but the client is answered only after its own end of data.
        self.assertSilent(c)
        c.send(b".\r\n")
        self.assertReply(c.read_reply(), 550, enhanced)
        self.assertReply(c.read_reply(), 421, "4.3.0")
        self.assertClosed(c)
        received = self.be.received_all()
        self.assertEqual(self.be.messages(), [], f"the backend completed a message:\n{self.be.describe()}")
        self.assertEqual(self.be.verbs(), [b"EHLO", b"MAIL", b"RCPT", b"DATA"], self.be.describe())
        self.assertNotIn(b"evil@", received, self.be.describe())
        self.assertNotIn(b"smuggled", received, self.be.describe())
        self.assertEqual(len(self.be.connections), 1)

    def test_split_across_single_byte_writes_is_refused(self):
        self.check_refused("lf_dot_lf", b"\n.\n", "5.5.2", split=True)

    def test_clean_message_passes_byte_for_byte(self):
        # The control: reject mode does not touch a clean message with dot-stuffed lines.
        content = message("clean", b"line\r\n..dot-stuffed\r\n.\x2e\r\nend\r\n")
        c = self.connect()
        self.start_data(c)
        c.send(content + b".\r\n")
        self.assertReply(c.read_reply(), 250)
        self.assertReply(c.command("QUIT"), 221)
        self.be.wait_all_closed()
        self.assertEqual(self.be.messages(), [content])


class SmugglingNormalizeScripted(HardeningTestCase):
    """bare_newlines = "normalize", scripted backend."""

    def setUp(self):
        super().setUp()
        self.be = self.start_backend()
        self.mx = self.start_mxguard(self.config(self.be.port, inbound={"bare_newlines": "normalize"}))

    def check_normalized(self, name, sequence, replacement, split=False):
        c = self.connect()
        self.start_data(c)
        content = payload(name, sequence) + b".\r\n"
        if split:
            for i in range(len(content)):
                c.send(content[i:i + 1])
        else:
            c.send(content)
        self.assertReply(c.read_reply(), 250, "2.0.0")
        # The session goes on normally: a second, clean message on the same connection.
        second = message("second message")
        self.start_data(c)
        c.send(second + b".\r\n")
        self.assertReply(c.read_reply(), 250, "2.0.0")
        self.assertReply(c.command("QUIT"), 221)
        self.be.wait_all_closed()
        messages = self.be.messages()
        self.assertEqual(len(messages), 2, f"the client sent two messages:\n{self.be.describe()}")
        self.assertSameBytes(normalized(name, replacement), messages[0], "normalized message")
        self.assertEqual(messages[1], second)
        self.assertEqual(bare_line_ends(messages[0]), [], messages[0])
        self.assertNotIn(b"\x00", messages[0])
        self.assertNotIn(b"\r\n.\r\n", b"\r\n" + messages[0], "an end of data inside the message")
        self.assertEqual(self.be.verbs(), [b"EHLO", b"MAIL", b"RCPT", b"DATA", b"MAIL", b"RCPT", b"DATA", b"QUIT"],
                         self.be.describe())
        self.assertNotIn(b"MAIL FROM:<evil@smuggled.example>", self.be.commands())

    def test_split_across_single_byte_writes_is_normalized(self):
        self.check_normalized("lf_dot_lf", b"\n.\n", b"\r\n..\r\n", split=True)

    def test_normalized_message_is_logged(self):
        self.check_normalized("bare_lf", b"\n", b"\r\n")
        self.mx.wait_log(r"bare CR/LF in message normalized")


for _name, _seq, _repl, _enh in NEAR_MISSES:
    setattr(SmugglingRejectScripted, f"test_{_name}_is_refused_with_550_{_enh.replace('.', '_')}",
            lambda self, n=_name, s=_seq, e=_enh: self.check_refused(n, s, e))
    setattr(SmugglingNormalizeScripted, f"test_{_name}_is_normalized",
            lambda self, n=_name, s=_seq, r=_repl: self.check_normalized(n, s, r))


class BareLfInCommands(HardeningTestCase):
    def setUp(self):
        super().setUp()
        self.be = self.start_backend()
        self.mx = self.start_mxguard(self.config(self.be.port))

    def test_command_line_ended_by_bare_lf_gets_500_and_never_reaches_backend(self):
        c = self.connect()
        c.send(b"MAIL FROM:<bare-lf@sender.example>\n")
        self.assertReply(c.read_reply(), 500, "5.5.2", "bare LF")
        # A bare LF inside a pipelined group: refused, the command behind it still works.
        c.send(b"NOOP bare\nRSET\r\n")
        self.assertReply(c.read_reply(), 500, "5.5.2")
        self.assertReply(c.read_reply(), 250)
        self.assertReply(c.command("QUIT"), 221)
        self.be.wait_all_closed()
        self.assertEqual(self.be.commands(), [b"EHLO client.test", b"RSET", b"QUIT"], self.be.describe())
        self.assertNotIn(b"bare", self.be.received_all())

    def test_bare_cr_and_nul_in_command_line_get_500(self):
        c = self.connect()
        c.send(b"NOOP\rMAIL FROM:<evil@smuggled.example>\r\n")
        self.assertReply(c.read_reply(), 500, "5.5.2")
        c.send(b"NOOP\x00MAIL FROM:<evil@smuggled.example>\r\n")
        self.assertReply(c.read_reply(), 500, "5.5.2")
        self.assertReply(c.command("NOOP"), 250)
        self.assertReply(c.command("QUIT"), 221)
        self.be.wait_all_closed()
        self.assertEqual(self.be.commands(), [b"EHLO client.test", b"NOOP", b"QUIT"], self.be.describe())
        self.assertNotIn(b"evil", self.be.received_all())


class SmugglingPostfix(HardeningTestCase):
    """The same near-misses in front of a real Postfix: never two messages where the client sent one."""

    @classmethod
    def setUpClass(cls):
        cls.pf = cls.start_class_postfix()

    def counts(self):
        return len(self.pf.messages("bob")), len(self.pf.messages("alice"))

    def disconnects(self):
        return self.pf.maillog().count("]: disconnect from ")

    def test_reject_mode_delivers_nothing_for_any_near_miss(self):
        mx = self.mx = self.start_mxguard(self.config(self.pf.port))
        bob0, alice0 = self.counts()
        disconnects0 = self.disconnects()
        for name, sequence, _, enhanced in NEAR_MISSES:
            with self.subTest(name):
                c = self.connect()
                self.start_data(c)
                c.send(payload(name, sequence) + b".\r\n")
                self.assertReply(c.read_reply(), 550, enhanced)
                self.assertReply(c.read_reply(), 421, "4.3.0")
                self.assertClosed(c)
                c.close()
        # Postfix saw every session end (smtpd: "lost connection after DATA"), so no message is in flight.
        self.pf.wait_log(r"lost connection after DATA")
        ports.wait_until(lambda: self.disconnects() >= disconnects0 + len(NEAR_MISSES), 30,
                         lambda: f"{len(NEAR_MISSES)} Postfix disconnects (maillog:\n{self.pf.maillog()[-3000:]})")
        # A marker message through the same path, then an empty queue: everything was delivered.
        marker = message("marker after the near-misses")
        c = self.connect()
        self.start_data(c)
        c.send(marker + b".\r\n")
        self.assertReply(c.read_reply(), 250)
        self.assertReply(c.command("QUIT"), 221)
        self.pf.wait_delivered("bob", bob0 + 1)
        self.wait_postfix_queue_empty(self.pf)
        self.assertEqual(self.counts(), (bob0 + 1, alice0), "only the marker may be delivered")
        self.assertSameBytes(marker.replace(b"\r\n", b"\n"), self.pf.last_message("bob"), "delivered marker")
        self.assertNotIn("smuggled.example", self.pf.maillog())

    def test_normalize_mode_delivers_exactly_one_message_per_near_miss(self):
        self.mx = self.start_mxguard(self.config(self.pf.port, inbound={"bare_newlines": "normalize"}))
        bob0, alice0 = self.counts()
        for name, sequence, _, _ in NEAR_MISSES:
            with self.subTest(name):
                c = self.connect()
                self.start_data(c)
                c.send(payload(name, sequence) + b".\r\n")
                self.assertReply(c.read_reply(), 250, "2.0.0")
                self.assertReply(c.command("QUIT"), 221)
                c.close()
        self.pf.wait_delivered("bob", bob0 + len(NEAR_MISSES))
        self.wait_postfix_queue_empty(self.pf)
        self.assertEqual(self.counts(), (bob0 + len(NEAR_MISSES), alice0),
                         "one message per session to bob, none smuggled to alice")
        delivered = {}
        for path in self.pf.messages("bob"):
            with open(path, "rb") as f:
                body = strip_added_headers(f.read())
            for line in body.split(b"\n"):
                if line.startswith(b"Subject: near-miss "):
                    delivered.setdefault(line[len(b"Subject: near-miss "):].decode(), []).append(body)
        for name, _, replacement, _ in NEAR_MISSES:
            with self.subTest(name):
                self.assertEqual(len(delivered.get(name, [])), 1, f"{name}: {sorted(delivered)}")
                expected = destuff(normalized(name, replacement)).replace(b"\r\n", b"\n")
                self.assertSameBytes(expected, delivered[name][0], f"message delivered for {name}")
        self.assertNotIn("evil@smuggled.example", self.pf.maillog())


if __name__ == "__main__":
    unittest.main()

"""A client that stops sending still gets the replies it is owed, and a message the backend accepted is
never silently lost from the record.

- Half-close (shutdown(SHUT_WR)) after the end of data and QUIT: the client keeps reading and must get the
  backend's 250 for the message and the 221; a real Postfix delivers the message exactly once. Without the
  250 the sender would retry a delivered message (a duplicate).
- Half-close right after pipelined MAIL, RCPT, DATA: the 250, 250 and 354 are still owed and sent.
- A reset (SO_LINGER 0) right after the final dot: the backend still delivers; mxguard's log keeps the
  delivery line with the backend's answer, and the audit log records that the answer never reached the
  client (event "reply-undelivered", verdict "delivered" for a 2xx, "refused" for a 4xx/5xx), so the
  postmaster can tell a duplicate from a loss.
"""
import unittest
import uuid

from fixtures import ports
from fixtures.hardening import HardeningTestCase, codes, message

SENDER = "alice@sender.example"


class HalfCloseWithPostfix(HardeningTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pf = cls.start_class_postfix()

    def setUp(self):
        super().setUp()
        self.mx = self.start_mxguard(self.config(self.pf.port))

    def unique_message(self):
        subject = f"half-close {uuid.uuid4().hex}"
        return subject, message(subject, sender=SENDER)

    def delivered_with(self, subject):
        """Paths of bob's messages with this subject (Postfix stores LF line ends)."""
        found = []
        for path in self.pf.messages("bob"):
            with open(path, "rb") as f:
                if f"Subject: {subject}\n".encode() in f.read():
                    found.append(path)
        return found

    def assertDeliveredOnce(self, subject):
        try:
            ports.wait_until(lambda: self.delivered_with(subject), 30, f"a message with subject {subject!r} for bob")
        except TimeoutError as e:
            self.fail(f"{e}\nmaillog:\n{self.pf.maillog()[-3000:]}\n{self.diag()}")
        self.wait_postfix_queue_empty(self.pf)   # nothing left that could become a second copy
        self.assertEqual(len(self.delivered_with(subject)), 1, f"delivered more than once\n{self.pf.maillog()[-3000:]}")

    def test_half_close_after_end_of_data_and_quit_still_gets_250_and_221(self):
        subject, content = self.unique_message()
        c = self.connect()
        self.start_data(c)                      # MAIL, RCPT, DATA: 250, 250, 354
        c.send(content + b".\r\nQUIT\r\n")
        c.shutdown_write()                      # nothing more to say, but still listening
        replies, closed = self.read_until_closed(c, timeout=20)
        self.assertEqual(codes(replies), [250, 221],
                         f"a half-closed client must still get the reply to its message and to QUIT: "
                         f"{[r.raw for r in replies]}\n{self.diag()}")
        self.assertTrue(closed, "mxguard did not close after the 221")
        self.assertDeliveredOnce(subject)

    def test_half_close_after_pipelined_mail_rcpt_data_gets_the_replies_owed(self):
        c = self.connect()
        c.send(f"MAIL FROM:<{SENDER}>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n".encode())
        c.shutdown_write()                      # before any reply: all three are owed
        replies, closed = self.read_until_closed(c, timeout=20)
        got = codes(replies)
        self.assertEqual(got[:3], [250, 250, 354],
                         f"the replies owed for MAIL, RCPT and DATA: {[r.raw for r in replies]}\n{self.diag()}")
        # The content can never come: at most a closing 421 may follow, then the close.
        self.assertTrue(all(code == 421 for code in got[3:]) and len(got) <= 4, [r.raw for r in replies])
        self.assertTrue(closed, "mxguard did not close the half-closed session")
        self.wait_postfix_queue_empty(self.pf)
        self.assertLogged(r"disconnect from 127\.0\.0\.1:")

    def test_reset_after_the_final_dot_is_delivered_logged_and_audited(self):
        subject, content = self.unique_message()
        c = self.connect()
        self.start_data(c)
        c.send(content + b".\r\n")
        # Gone before the backend could answer. mxguard may see this as an error on read, or as an EOF: when
        # the reset is already there with the last data, libuv reports EOF after the read (POLLHUP). Either
        # way the reply cannot be written any more, and its failed write says so.
        c.reset()
        self.assertDeliveredOnce(subject)
        self.assertLogged(r"message from=<alice@sender\.example> 1 recipient\(s\), \d+ bytes, .*backend said 250\b")
        event = self.assertAudited(event="reply-undelivered")
        self.assertEqual(event.get("direction"), "inbound", event)
        self.assertEqual(event.get("verdict"), "delivered", event)
        self.assertEqual(event.get("reply"), 250, event)
        self.assertEqual(event.get("reason"), "client disconnected before the reply", event)
        self.assertIn("127.0.0.1", str(event.get("peer")), event)


class ResetBeforeARefusal(HardeningTestCase):
    """The same record when the backend refuses the message at its end: verdict "refused"."""

    def setUp(self):
        super().setUp()
        # The refusal comes 0.5 s after the end of data, as from a real server (Postfix takes some milliseconds
        # too): the client's reset right after its dot is certainly there first.
        self.be = self.start_backend(data_end_reply=b"554 5.7.1 message content rejected\r\n", data_end_delay=0.5)
        self.mx = self.start_mxguard(self.config(self.be.port))

    def test_reset_after_the_final_dot_of_a_refused_message_is_audited_as_refused(self):
        c = self.connect()
        self.start_data(c)
        c.send(message("refused at the end") + b".\r\n")
        c.reset()
        self.be.wait_for(lambda b: len(b.messages()) == 1, 10, "the message at the backend")
        self.assertLogged(r"message from=<alice@sender\.example> .*backend said 554\b")
        event = self.assertAudited(event="reply-undelivered")
        self.assertEqual((event.get("direction"), event.get("verdict"), event.get("reply"), event.get("reason")),
                         ("inbound", "refused", 554, "client disconnected before the reply"), event)


if __name__ == "__main__":
    unittest.main()

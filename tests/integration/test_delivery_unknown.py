"""The far side died after the final dot and before its reply (RFC 1047): the message may have been
delivered, and the sender, told 4xx, will send it again. mxguard cannot know which, so it says so: one
warning naming the session, the sender, the size and "its fate is unknown, the backend (or the remote)
may have accepted it", with the session's state read as waiting for the end-of-data reply
("data-end-pending", not "command"), and a `delivery-unknown` audit event (verdict `unknown`, `from`,
`size`, `recipients`, `reason`; outbound also `domain` and `mx`), so a postmaster can find the possible
duplicates. The same for a far side that stays silent past data_end_timeout. Both directions:

- inbound: a scripted backend that reads the whole message and closes (FIN) or resets (RST) without a
  reply, or never answers it;
- outbound: a scripted STARTTLS MX doing the same inside TLS.
"""
import re
import unittest

from fixtures.hardening import HardeningTestCase, destuff, message
from fixtures.outbound import OutboundTestCase, zone

SENDER = "alice@sender.example"


def _stuff(msg):
    return b"\r\n".join(b"." + l if l.startswith(b".") else l for l in msg.split(b"\r\n"))


class InboundDeliveryUnknown(HardeningTestCase):
    MSG = message("fate unknown inbound", b"one line\r\n.dotted\r\n", sender=SENDER)

    def send_and_lose_reply(self, limits=None, **backend):
        self.be = self.start_backend(**backend)
        self.mx = self.start_mxguard(self.config(self.be.port, limits=limits))
        c = self.connect()
        self.start_data(c, sender=SENDER)
        c.send(_stuff(self.MSG) + b".\r\n")
        reply = c.read_reply()
        self.assertEqual(reply.code // 100, 4, f"the sender must retry: {reply.raw!r}\n{self.diag()}")
        # The backend has the message whole: it may deliver it, and the sender's retry is then a duplicate.
        self.be.wait_for(lambda b: b.messages(), 10, "the message at the backend")
        self.assertEqual(destuff(self.be.messages()[0]), self.MSG)
        return c

    def assertFateUnknown(self, reason_words):
        size = len(_stuff(self.MSG))   # content bytes as sent, dot-stuffed
        line = self.assertLogged(r"\[(\S+)\] .*fate is unknown.*backend may have accepted it.*").group(0)
        self.assertIn(f"from=<{SENDER}>", line)
        self.assertIn(f"{size} bytes", line)
        self.assertIn("1 recipient", line)
        for w in reason_words:
            self.assertIn(w, line)
        session = re.match(r"\[(\S+)\]", line).group(1)
        # The session's end reads as waiting for the reply to the end of data, never as "state command".
        closing = self.assertLogged(rf"\[{re.escape(session)}\] .*\(state [a-z-]+\), closing").group(0)
        self.assertIn("(state data-end-pending)", closing)
        self.assertNotIn("state command", self.mx.log())
        e = self.assertAudited(event="delivery-unknown", direction="inbound", session=session)
        self.assertEqual(e.get("verdict"), "unknown", e)
        self.assertEqual(e.get("from"), f"<{SENDER}>", e)
        self.assertEqual(e.get("size"), size, e)
        self.assertEqual(e.get("recipients"), 1, e)
        self.assertTrue(e.get("peer", "").startswith("127.0.0.1:"), e)
        for w in reason_words:
            self.assertIn(w, e.get("reason", ""), e)
        return e

    def test_backend_closing_after_the_final_dot(self):
        self.send_and_lose_reply(drop_at_data_end="close")
        self.assertFateUnknown(["closed the connection"])

    def test_backend_resetting_after_the_final_dot(self):
        self.send_and_lose_reply(drop_at_data_end="reset")
        self.assertFateUnknown(["connection error"])

    def test_backend_silent_past_data_end_timeout(self):
        self.send_and_lose_reply(limits={"data_end_timeout": 2}, data_end_delay=60)
        self.assertFateUnknown(["did not answer in time (data_end_timeout 2s)"])

    def test_a_delivered_message_is_not_reported(self):
        self.be = self.start_backend()
        self.mx = self.start_mxguard(self.config(self.be.port))
        c = self.connect()
        self.start_data(c, sender=SENDER)
        c.send(_stuff(self.MSG) + b".\r\n")
        self.assertReply(c.read_reply(), 250)
        self.assertReply(c.command("QUIT"), 221)
        self.assertLogged(r"message from=<alice@sender.example> 1 recipient\(s\).*backend said 250")
        self.assertNotIn("fate is unknown", self.mx.log())
        self.assertEqual([e for e in self.mx.audit_events() if e.get("event") == "delivery-unknown"], [])


class OutboundDeliveryUnknown(OutboundTestCase):
    MSG = message("fate unknown outbound", b"one line\r\n", sender="alice@sender.test")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.start_class_dns(zone("example.test", "@ MX 10 mx", "mx A 127.0.0.2"))

    def send_and_lose_reply(self, limits=None, **mx):
        self.remote = self.start_scripted_mx("127.0.0.2", leaf=self.leaf("mx.example.test"), **mx)
        self.start_outbound(self.outbound_config(self.class_dns, domains={"example.test": {"level": "verify"}},
                                                 limits=limits))
        c = self.connect_outbound()
        reply = self.send_message(c, self.MSG)
        self.assertEqual(reply.code // 100, 4, f"the sender must retry: {reply.raw!r}\n{self.diag()}")
        self.remote.wait_for(lambda b: b.tls_messages(), 10, "the message at the MX, inside TLS")
        return c

    def assertFateUnknown(self, reason_words):
        size = len(_stuff(self.MSG))   # content bytes as sent, dot-stuffed
        line = self.wait_log_line("fate is unknown", "remote may have accepted it")[0]
        self.assertIn("from=<alice@sender.test>", line)
        self.assertIn(f"{size} bytes", line)
        self.assertIn("example.test", line)
        self.assertIn("mx.example.test", line)
        self.assertIn("data-end-pending", line)
        for w in reason_words:
            self.assertIn(w, line)
        session = re.match(r".*?\[(\S+)\]", line).group(1)
        e = self.ob.wait_audit(event="delivery-unknown", direction="outbound", session=session)
        self.assertEqual(e.get("verdict"), "unknown", e)
        self.assertEqual(e.get("from"), "<alice@sender.test>", e)
        self.assertEqual(e.get("size"), size, e)
        self.assertEqual(e.get("recipients"), 1, e)
        self.assertEqual(e.get("domain"), "example.test", e)
        self.assertEqual(e.get("mx"), "mx.example.test", e)
        for w in reason_words:
            self.assertIn(w, e.get("reason", ""), e)
        self.assertNotIn("state command", self.ob.log())
        return e

    def test_mx_closing_after_the_final_dot(self):
        c = self.send_and_lose_reply(drop_at_data_end="close")
        self.assertFateUnknown(["closed the connection"])
        self.assertReply(c.command("QUIT"), 221)   # the session itself goes on: only the link was lost

    def test_mx_resetting_after_the_final_dot(self):
        self.send_and_lose_reply(drop_at_data_end="reset")
        self.assertFateUnknown(["connection error"])

    def test_mx_silent_past_data_end_timeout(self):
        self.send_and_lose_reply(limits={"data_end_timeout": 2}, data_end_delay=60)
        self.assertFateUnknown(["did not answer in time (data_end_timeout 2s)"])


if __name__ == "__main__":
    unittest.main()

"""Reproductions from a code review of the outbound session (each test states the expected, correct
behaviour; at the commit they were written against, every one of them fails).

Run: cd tests/integration && MXGUARD_BIN=... PYTHONPATH=.. python3 -m unittest -v test_outbound_edges
"""
import select
import socket
import threading
import time
import unittest

from fixtures.outbound import OutboundTestCase, zone

class StrictMx:
    """A remote MX without PIPELINING that checks the client waits for each reply (RFC 2920 §3.1): after
    every command it looks 0.3 s for bytes that came before its reply, and counts them as a violation."""

    def __init__(self, host):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.violations, self.commands, self.messages = [], [], []
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        conn, _ = self.sock.accept()
        buf = b""

        def line():
            nonlocal buf
            while b"\n" not in buf:
                data = conn.recv(65536)
                if not data:
                    return None
                buf += data
            one, buf = buf.split(b"\n", 1)
            return one + b"\n"

        conn.sendall(b"220 strict.test ESMTP\r\n")
        while True:
            got = line()
            if got is None:
                break
            cmd = got.rstrip(b"\r\n")
            self.commands.append(cmd)
            # Anything already here, or arriving before the reply, was sent without waiting for it.
            # (A close after QUIT is readable too, but it is no command: only bytes count.)
            if buf or (select.select([conn], [], [], 0.3)[0] and conn.recv(1, socket.MSG_PEEK)):
                self.violations.append(cmd)
            verb = cmd.split(b" ", 1)[0].upper()
            if verb == b"EHLO":
                conn.sendall(b"250-strict.test\r\n250 8BITMIME\r\n")
            elif verb == b"DATA":
                conn.sendall(b"354 go ahead\r\n")
                content = b""
                while True:
                    got = line()
                    if got is None or got == b".\r\n":
                        break
                    content += got
                self.messages.append(content)
                conn.sendall(b"250 2.0.0 queued\r\n")
            elif verb == b"QUIT":
                conn.sendall(b"221 bye\r\n")
                break
            else:
                conn.sendall(b"250 ok\r\n")
        conn.close()


class ReviewOutbound(OutboundTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.start_class_dns(
            zone("example.test", "@ MX 10 mx", "mx A 127.0.0.2"),
            zone("multi.test", "@ MX 10 mx1", "@ MX 20 mx2", "mx1 A 127.0.0.3", "mx2 A 127.0.0.4"),
        )

    def start(self, **kwargs):
        return self.start_outbound(self.outbound_config(self.class_dns, **kwargs))

    def envelope(self, mx):
        return [l for l in mx.commands() if l.split(b" ", 1)[0].upper() in (b"MAIL", b"RCPT", b"DATA")]

    # A remote that does not offer PIPELINING gets one command at a time, even when the legacy MTA
    # pipelines MAIL, both RCPTs and DATA in one write.
    def test_remote_without_pipelining_gets_one_command_at_a_time(self):
        strict = StrictMx("127.0.0.6")
        self.start(routes={"strict.test": f"127.0.0.6:{strict.port}"})
        c = self.connect_outbound()
        c.send(b"MAIL FROM:<alice@sender.test>\r\nRCPT TO:<a@strict.test>\r\nRCPT TO:<b@strict.test>\r\nDATA\r\n")
        replies = c.read_replies(4)
        self.assertEqual([r.code for r in replies], [250, 250, 250, 354], replies)
        c.send(b"Subject: strict\r\n\r\nhello\r\n.\r\n")
        self.assertReply(c.read_reply(), 250)
        self.assertEqual(strict.violations, [], f"pipelined to a remote without PIPELINING: {strict.commands}")
        self.assertEqual(len(strict.messages), 1)

    # 1. 452 4.5.3 (the protocol's "send it in the next transaction") counts toward max_errors: a message
    #    with recipients in more than max_errors other domains never gets to DATA, on every retry.
    def test_other_domain_452s_do_not_end_the_session(self):
        self.start_scripted_mx("127.0.0.2")
        self.start()
        c = self.connect_outbound()
        self.assertReply(c.command("MAIL FROM:<alice@sender.test>"), 250)
        self.assertReply(c.command("RCPT TO:<bob@example.test>"), 250)
        for i in range(10):
            self.assertReply(c.command(f"RCPT TO:<user@domain{i}.test>"), 452, "4.5.3")
        self.assertReply(c.command("DATA"), 354)

    # 2. The remote goes away between the 250 to RCPT and the client's DATA: DATA gets 554 5.5.1, a
    #    permanent refusal, so the legacy MTA bounces a message whose recipient was accepted.
    def test_data_after_the_remote_was_lost_is_temporary(self):
        mx = self.start_scripted_mx("127.0.0.2")
        self.start()
        c = self.connect_outbound()
        self.assertReply(c.command("MAIL FROM:<alice@sender.test>"), 250)
        self.assertReply(c.command("RCPT TO:<bob@example.test>"), 250)
        mx.stop()   # FIN on the upstream connection
        self.wait_log_line("outbound example.test", "closed the connection")
        r = c.command("DATA")
        self.assertEqual(r.code // 100, 4, f"{r.raw!r}\n{self.diag()}")

    # 3. The session's reply_timeout runs from the first RCPT and covers the whole MX search; a silent
    #    first MX must time out (greeting_timeout, 60 s by default against reply_timeout's 300 s) early
    #    enough that the second MX is tried within it. When the whole search outlasts reply_timeout, the
    #    RCPT gets a 451 and the session goes on (never a 421 that ends it).
    def test_mx_search_longer_than_reply_timeout_is_a_451_and_the_session_goes_on(self):
        self.start_scripted_mx("127.0.0.3", greet=False)
        self.start_scripted_mx("127.0.0.4", greet=False)
        self.start(limits={"greeting_timeout": 3, "reply_timeout": 4})
        c = self.connect_outbound()
        self.assertReply(c.command("MAIL FROM:<alice@sender.test>"), 250)
        r = c.command("RCPT TO:<bob@multi.test>")
        self.assertReply(r, 451)
        self.assertTrue(r.lines[0].startswith("4.4.1"), r)
        self.assertReply(c.command("RSET"), 250)
        self.assertReply(c.command("QUIT"), 221)

    def test_silent_first_mx_falls_back_to_the_second(self):
        self.start_scripted_mx("127.0.0.3", greet=False)
        mx2 = self.start_scripted_mx("127.0.0.4")
        self.start(limits={"greeting_timeout": 2, "reply_timeout": 8})
        c = self.connect_outbound()
        self.assertReply(c.command("MAIL FROM:<alice@sender.test>"), 250)
        r = c.command("RCPT TO:<bob@multi.test>")
        self.assertReply(r, 250)
        self.assertTrue(mx2.connections, self.diag())

    # 4. A session that ends while its MX link is still in the dialogue (client reset here; a session
    #    timeout or shutdown() likewise) does not close the link: far_ is still null, so close_far()
    #    does nothing. The link runs on, and once the MX greets it replays MAIL FROM and RCPT for a
    #    session whose client is gone (and keeps the session, and a SIGTERMed worker, alive meanwhile).
    def test_session_end_during_dialogue_closes_the_link(self):
        gate = threading.Event()
        mx = self.start_scripted_mx("127.0.0.2", greeting_gate=gate)
        self.start()
        c = self.connect_outbound()
        self.assertReply(c.command("MAIL FROM:<alice@sender.test>"), 250)
        c.send(b"RCPT TO:<bob@example.test>\r\n")
        mx.wait_connections(1)
        c.reset()
        self.wait_log_line("client connection error")
        time.sleep(0.5)
        gate.set()
        time.sleep(3)
        self.assertEqual(self.envelope(mx), [], f"envelope sent after the session ended\n{self.diag()}")

    # 5. A RCPT answered from link_failure_ goes through relay(), i.e. straight to the socket, past the
    #    reply queue: it overtakes replies still owed, and every later reply shifts by one. Here the
    #    other domain's recipient gets the remote's 550 (a bounce) and a same-domain recipient the 452.
    def test_link_failure_answers_keep_command_order(self):
        self.start_scripted_mx("127.0.0.2", replies={"MAIL": b"550 5.7.1 sender rejected\r\n"})
        self.start(limits={"max_errors": 3})
        c = self.connect_outbound()
        self.assertReply(c.command("MAIL FROM:<alice@sender.test>"), 250)
        c.send(b"RCPT TO:<a@example.test>\r\nRCPT TO:<c@example.test>\r\n"
               b"RCPT TO:<b@other.test>\r\nRCPT TO:<d@example.test>\r\n")
        a, cc, b, d = c.read_replies(4)
        got = [a.code, cc.code, b.code, d.code]
        self.assertEqual(got, [550, 550, 452, 550], f"{[x.raw for x in (a, cc, b, d)]}\n{self.diag()}")


if __name__ == "__main__":
    unittest.main()

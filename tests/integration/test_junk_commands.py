"""inbound.limits.max_junk_commands (Postfix's smtpd_junk_command_limit, as a hard stop): NOOP, RSET, VRFY,
EXPN, HELP and ETRN move no mail; past the limit the next one gets `421 4.7.0 ... too many junk commands`,
after every reply still owed, and never reaches the backend. A message the backend accepts starts the count
again. NOOP is still the backend's to answer (architecture.md says why), so the backend sees exactly the
junk commands the limit allows."""
import unittest

from fixtures.hardening import HardeningTestCase, code_runs, message


class JunkCommands(HardeningTestCase):
    def start(self, **limits):
        self.be = self.start_backend()
        self.mx = self.start_mxguard(self.config(self.be.port, limits=limits))

    def backend_verbs(self):
        return [l.split(b" ", 1)[0].upper() for l in self.be.commands()]

    def test_the_default_allows_a_hundred_and_the_next_gets_421_after_the_owed_replies(self):
        self.start()
        c = self.connect()
        c.send(b"NOOP\r\n" * 150)   # pipelined: the 100 replies owed come first, then the 421
        replies, closed = self.read_until_closed(c, timeout=10)
        self.assertEqual(code_runs(replies), [(250, 100), (421, 1)], f"{[r.raw for r in replies[-3:]]}\n{self.diag()}")
        self.assertReply(replies[-1], 421, "4.7.0", "too many junk commands")
        self.assertTrue(closed, "the session stayed open after its 421")
        self.be.wait_all_closed()
        self.assertEqual(self.backend_verbs(), [b"EHLO"] + [b"NOOP"] * 100, self.be.describe()[-2000:])
        self.assertLogged(r"too many junk commands")

    def test_noop_rset_vrfy_expn_help_and_etrn_count_together(self):
        self.start(max_junk_commands=6)
        c = self.connect()
        for command in ("NOOP", "RSET", "VRFY postmaster", "EXPN staff", "HELP", "ETRN example.test"):
            self.assertReply(c.command(command), 250)
        self.assertReply(c.command("NOOP"), 421, "4.7.0", "too many junk commands")
        self.assertClosed(c)
        self.be.wait_all_closed()
        self.assertEqual(self.backend_verbs(), [b"EHLO", b"NOOP", b"RSET", b"VRFY", b"EXPN", b"HELP", b"ETRN"])

    def test_an_accepted_message_starts_the_count_again(self):
        self.start(max_junk_commands=3)
        c = self.connect()
        for _ in range(3):
            self.assertReply(c.command("RSET"), 250)
        self.start_data(c)
        c.send(message("junk count") + b".\r\n")
        self.assertReply(c.read_reply(), 250)
        for _ in range(3):
            self.assertReply(c.command("RSET"), 250)
        self.assertReply(c.command("QUIT"), 221)
        self.assertClosed(c)

    def test_a_refused_message_does_not(self):
        self.be = self.start_backend(data_end_reply=b"550 5.7.1 no\r\n")
        self.mx = self.start_mxguard(self.config(self.be.port, limits={"max_junk_commands": 3}))
        c = self.connect()
        for _ in range(3):
            self.assertReply(c.command("NOOP"), 250)
        self.start_data(c)
        c.send(message("refused") + b".\r\n")
        self.assertReply(c.read_reply(), 550)
        self.assertReply(c.command("NOOP"), 421, "4.7.0", "too many junk commands")
        self.assertClosed(c)


if __name__ == "__main__":
    unittest.main()

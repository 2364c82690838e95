"""A client that pipelines recipients far past inbound.limits.max_recipients is bounded twice over:

- every `452 4.5.3` mxguard makes counts toward max_errors (as Postfix counts every 4xx/5xx reply), so the
  session ends with `421 4.7.0 ... too many errors` once the errors reach max_errors, and the backend never
  sees more than max_recipients RCPTs;
- the process log does not grow with the flood: repeated per-reply lines of one session are rate-limited,
  with a "suppressed N similar lines" summary.

max_recipients is 100 here, the lowest value the configuration accepts (RFC 5321 §4.5.3.1.8: a server must
take at least 100 recipients)."""
import re
import unittest

from fixtures.hardening import HardeningTestCase, code_runs

MAX_RECIPIENTS = 100


def flood(n):
    return b"MAIL FROM:<spammer@sender.example>\r\n" + b"".join(
        f"RCPT TO:<r{i}@example.test>\r\n".encode() for i in range(n))


def without_prefix(log_line):
    """A process-log line without its timestamp, level and session id."""
    return re.sub(r"^\S+ \S+ (\[\w+\] )?", "", log_line)


class RecipientFlood(HardeningTestCase):
    def start(self, max_errors):
        self.be = self.start_backend()
        self.mx = self.start_mxguard(self.config(self.be.port, limits={"max_recipients": MAX_RECIPIENTS,
                                                                       "max_errors": max_errors}))

    def backend_rcpts(self):
        return [l for l in self.be.commands() if l.upper().startswith(b"RCPT")]

    def test_refused_recipients_count_as_errors_and_end_the_session(self):
        self.start(max_errors=5)
        c = self.connect()
        c.send(flood(MAX_RECIPIENTS + 50))
        replies, closed = self.read_until_closed(c, timeout=10)
        self.assertEqual(code_runs(replies), [(250, 1 + MAX_RECIPIENTS), (452, 5), (421, 1)],
                         f"{len(replies)} replies; the first after the accepted recipients: "
                         f"{[r.raw for r in replies[MAX_RECIPIENTS + 1:MAX_RECIPIENTS + 8]]}\n{self.diag()}")
        for r in replies[MAX_RECIPIENTS + 1:-1]:
            self.assertReply(r, 452, "4.5.3")
        self.assertReply(replies[-1], 421, "4.7.0", "too many errors")
        self.assertTrue(closed, "the session stayed open after its 421")
        self.be.wait_all_closed()
        self.assertEqual(len(self.backend_rcpts()), MAX_RECIPIENTS, self.be.describe()[-2000:])

    def test_refusal_lines_in_the_log_are_rate_limited_per_session(self):
        self.start(max_errors=1000)   # enough for every refusal: the session lives through the flood
        c = self.connect()
        refused = 300
        c.send(flood(MAX_RECIPIENTS + refused) + b"QUIT\r\n")
        replies, closed = self.read_until_closed(c, timeout=20)
        self.assertEqual(code_runs(replies), [(250, 1 + MAX_RECIPIENTS), (452, refused), (221, 1)],
                         f"{len(replies)} replies\n{self.diag()}")
        self.assertTrue(closed)
        self.assertLogged(r"disconnect from")
        log = self.mx.log().splitlines()
        about_refusals = [l for l in log if re.search(r"\b452\b|4\.5\.3|too many recipients", without_prefix(l))]
        self.assertLessEqual(len(about_refusals), 5,
                             f"{len(about_refusals)} log lines about the {refused} refusals of one session, e.g.:\n"
                             + "\n".join(about_refusals[:8]))
        self.assertTrue(any(re.search(r"(?i)suppress", l) and re.search(r"\b\d+\b", without_prefix(l)) for l in log),
                        "no 'suppressed N similar lines' summary in the log:\n" + "\n".join(log[-10:]))
        self.assertLess(len(log), 40, f"{len(log)} log lines for one session")


if __name__ == "__main__":
    unittest.main()

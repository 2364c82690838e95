"""What the operator can rely on in mxguard's two logs:

- an audit log that cannot be written (`[audit] path = "/dev/full"`) does not stop mail, and the process
  log says so, once per streak of failures rather than once per event;
- the same on a filesystem that really fills up (a small tmpfs, fixtures.small_filesystem): the event
  that no longer fits leaves no half line behind, the metric counts each lost event, and once there is
  room again events are written without a restart;
- an audit file deleted while mxguard runs is noticed: the next event lands in a new file at the same path
  (SIGHUP reopens it too, but nobody may send one after an accidental `rm`);
- peer-supplied text (backend reply text, client addresses) never brings terminal controls into the
  process log: no C1 controls or bidi overrides as UTF-8 (`\\xc2\\x9b2J` clears a terminal, `\\xc2\\x85` is a
  line break for some viewers, `\\xe2\\x80\\xae` reverses the text shown), no byte below 0x20 but the newline
  that ends a line, nothing at or above 0x7f."""
import json
import os
import re
import unittest

from fixtures import ports, small_filesystem
from fixtures.hardening import HardeningTestCase, message
from fixtures.scrape import scrape

CSI = b"\xc2\x9b"          # U+009B, the 8-bit control sequence introducer: CSI 2 J clears the screen
NEL = b"\xc2\x85"          # U+0085 NEXT LINE
RLO = b"\xe2\x80\xae"      # U+202E RIGHT-TO-LEFT OVERRIDE


def send_one_message(test, subject):
    c = test.connect()
    test.start_data(c)
    c.send(message(subject) + b".\r\n")
    test.assertReply(c.read_reply(), 250)
    test.assertReply(c.command("QUIT"), 221)
    test.assertClosed(c)


def message_part(log_line):
    """The text of a process-log line without its timestamp and level."""
    return re.sub(r"^\S+ \S+ ", "", log_line)


class UnwritableAuditLog(HardeningTestCase):
    def setUp(self):
        super().setUp()
        self.be = self.start_backend()
        # Never call self.mx.audit_events() here: reading /dev/full never ends.
        self.mx = self.start_mxguard(self.config(self.be.port, audit={"path": "/dev/full"}))

    def test_mail_flows_and_the_failure_is_logged_once_per_streak(self):
        for i in range(3):   # three sessions, three audit events (starttls skipped), three failed writes
            send_one_message(self, f"audit on a full disk {i}")
        self.be.wait_all_closed()
        self.assertEqual(len(self.be.messages()), 3, self.be.describe()[-2000:])
        self.assertLogged(r"disconnect from")
        self.mx.stop()   # every session over, every event attempted
        failures = [l for l in self.mx.log().splitlines()
                    if re.search(r"(?i)audit", message_part(l))
                    and re.search(r"(?i)fail|error|cannot|could not|unable|no space", message_part(l))]
        self.assertEqual(len(failures), 1, "expected exactly one log line about the failing audit log for one "
                         "streak of failed writes, got:\n" + "\n".join(failures) + f"\n{self.diag()}")


class AuditLogOnAFullDisk(HardeningTestCase):
    MAX_SESSIONS = 100   # far more events than the slack of the file's last 4 KiB page holds

    def setUp(self):
        reason = small_filesystem.unavailable_reason()
        if reason:
            self.skipTest(reason)
        super().setUp()
        self.disk = small_filesystem.SmallFilesystem(os.path.join(self.tmp, "small"))
        self.be = self.start_backend()
        self.metrics_port = ports.free_port()
        cfg = self.config(self.be.port, audit={"path": os.path.join(self.disk.mountpoint, "audit.jsonl")},
                          metrics={"listen": f"127.0.0.1:{self.metrics_port}"})
        self.mx = self.start_mxguard(cfg, wrapper=self.disk.wrapper())
        self.disk.attach(self.mx.proc.pid)

    def lines(self):
        """The audit file as mxguard wrote it: (whole lines parsed, what follows the last newline)."""
        data = self.disk.read("audit.jsonl")
        *whole, rest = data.split(b"\n")
        return [json.loads(l) for l in whole], rest

    def lost(self):
        return scrape(self.metrics_port)["mxguard_audit_write_errors_total"]

    def failure_lines(self):
        return [l for l in self.mx.log().splitlines() if "audit log" in l and "write failed" in l]

    def test_mail_flows_no_half_line_is_left_and_events_are_written_again_once_there_is_room(self):
        send_one_message(self, "before the disk is full")
        ports.wait_until(lambda: len(self.lines()[0]) == 1, 10, lambda: f"the first event in {self.lines()}")
        self.disk.fill()
        # The file's last page still has room for a few lines; the one that does not fit is refused part-way.
        sent = 1
        while not self.failure_lines():
            self.assertLess(sent, self.MAX_SESSIONS, "the audit log never failed on a full disk\n" + self.diag())
            written = len(self.lines()[0])
            send_one_message(self, f"on a full disk {sent}")
            sent += 1
            ports.wait_until(lambda: len(self.lines()[0]) > written or self.failure_lines(), 10,
                             lambda: f"event {sent} written or refused\n{self.diag()}")
        for i in range(2):   # the streak goes on
            send_one_message(self, f"still full {i}")
            sent += 1
        ports.wait_until(lambda: self.lost() == 3, 10, lambda: f"three lost events counted, not {self.lost()}")
        events, rest = self.lines()
        self.assertEqual(rest, b"", "a half line was left at the end of the audit log")
        self.assertEqual(len(events) + 3, sent, events)
        line = self.failure_lines()
        self.assertEqual(len(line), 1, "one line per streak:\n" + "\n".join(line))
        self.assertIn(os.path.join(self.disk.mountpoint, "audit.jsonl"), line[0])
        self.assertIn("No space left on device", line[0])

        self.disk.free()
        send_one_message(self, "room again")
        sent += 1
        self.assertLogged(r"audit log \S+ is writable again; 3 event\(s\) were lost")
        ports.wait_until(lambda: len(self.lines()[0]) == sent - 3, 10, lambda: f"the new event in {self.lines()}")
        events, rest = self.lines()
        self.assertEqual(rest, b"")
        self.assertEqual([e["event"] for e in events], ["starttls"] * len(events))
        self.assertEqual(len(self.be.messages()), sent, "mail stopped while the audit log failed")
        self.assertEqual(self.lost(), 3)


class DeletedAuditFile(HardeningTestCase):
    def setUp(self):
        super().setUp()
        self.be = self.start_backend()
        self.mx = self.start_mxguard(self.config(self.be.port))

    def test_events_after_the_file_was_deleted_land_in_a_new_file_at_the_same_path(self):
        send_one_message(self, "before the rm")
        first = self.assertAudited(event="starttls", verdict="skipped")
        os.unlink(self.mx.audit_path)               # an operator's `rm`, or a logrotate without postrotate
        send_one_message(self, "after the rm")
        second = self.assertAudited(event="starttls", verdict="skipped")
        self.assertNotEqual(second["session"], first["session"], "the old event cannot be in the new file")
        self.assertTrue(os.path.exists(self.mx.audit_path))
        self.assertEqual([e["session"] for e in self.mx.audit_events()], [second["session"]], self.mx.audit_events())


class PeerTextInTheLog(HardeningTestCase):
    def setUp(self):
        super().setUp()
        rcpt_count = [0]

        def rcpt_reply(line):
            rcpt_count[0] += 1
            if rcpt_count[0] == 1:
                return b"250 2.1.5 Ok " + CSI + b"2J" + RLO + b"desrever\r\n"
            address = line.split(b":", 1)[1]   # like Postfix: the refused address echoed in the reply
            return b"550 5.1.1 " + address + b": Recipient address rejected\t" + NEL + CSI + b"2J " + RLO + b"\r\n"

        self.be = self.start_backend(replies={"RCPT": rcpt_reply},
                                     data_end_reply=b"250 2.0.0 Ok: queued " + NEL + b"as " + RLO + b"1234 " + CSI + b"2J\r\n")
        self.mx = self.start_mxguard(self.config(self.be.port))

    def test_no_control_or_non_ascii_bytes_reach_the_process_log_from_either_side(self):
        c = self.connect()
        self.assertReply(c.command(b"MAIL FROM:<" + RLO + b"evil" + CSI + b"2J@sender.example>"), 250)
        self.assertReply(c.command(b"RCPT TO:<bob" + NEL + b"@example.test>"), 250)
        self.assertReply(c.command(b"RCPT TO:<" + RLO + b"mallory" + CSI + b"2J\t@example.test>"), 550)
        self.assertReply(c.command("DATA"), 354)
        c.send(message("controls in the log") + b".\r\n")
        self.assertReply(c.read_reply(), 250)
        self.assertReply(c.command("QUIT"), 221)
        self.assertClosed(c)
        self.be.wait_all_closed()
        self.assertEqual(len(self.be.messages()), 1)
        self.assertLogged(r"disconnect from")
        self.assertLogged(r"backend said 250")   # the delivery line, with the backend's text, is there
        log = self.mx.log_bytes()
        bad = [line for line in log.split(b"\n")
               if any(b < 0x20 or b >= 0x7f for b in line) or CSI in line or NEL in line or RLO in line]
        self.assertEqual(bad, [], "process log lines with control or non-ASCII bytes from a peer")


if __name__ == "__main__":
    unittest.main()

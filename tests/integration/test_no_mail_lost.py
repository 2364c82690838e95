"""No mail lost under faults, both directions, with real Postfix on every side (issue 19): the CI variant of
fixtures/no_mail_lost.py (see there for the set-up and the rules), 100 messages per direction, every kind
of fault at least once on each of the three proxied hops, and while the mail flows mxguard is stopped twice
with SIGTERM (a drain), twice with SIGKILL, and restarted twice with SIGUSR2 (the listening sockets handed to
a new process). The full run: tests/soak/no_mail_lost.sh (1,000 per direction).

MXGUARD_NML_MESSAGES and MXGUARD_NML_SEED change the size and the dice of a run by hand.
"""
import os
import sys
import unittest

from fixtures.base import KEEP_TMP, make_tmp
from fixtures.no_mail_lost import DIRECTIONS, HOPS, Scenario, problems, summary


class NoMailLost(unittest.TestCase):
    def test_every_message_delivered_once_or_still_queued_under_faults_and_restarts(self):
        workdir = make_tmp("no-mail-lost")
        if not KEEP_TMP:
            import shutil
            self.addCleanup(shutil.rmtree, workdir, ignore_errors=True)
        seed = os.environ.get("MXGUARD_NML_SEED")
        scenario = Scenario(workdir, messages=int(os.environ.get("MXGUARD_NML_MESSAGES", "100")),
                            seed=int(seed) if seed else None,
                            log=lambda text: sys.stderr.write(text + "\n"))
        report = scenario.run()
        sys.stderr.write(summary(report) + "\n")
        self.assertEqual(problems(report), [], summary(report))
        for d in DIRECTIONS:
            r = report[d]
            # With the faults off and mxguard up, the senders' queues empty: nothing waits forever.
            self.assertEqual(r["queued"], 0, summary(report))
            self.assertEqual(r["messages"], scenario.messages, summary(report))
        for hop, (_direction, kinds, _at) in HOPS.items():
            injected = report["faults"][hop]["injected"]
            self.assertEqual([k for k in kinds if not injected.get(k)], [],
                             f"{hop}: fault kinds never reached\n{summary(report)}")
        self.assertEqual(report["restarts"], {"sigterm": 2, "sigkill": 2, "sigusr2": 2}, summary(report))


if __name__ == "__main__":
    unittest.main()

"""mxguard-fetch against a real nginx (tests/fixtures/https_server.py) on 127.0.0.1 and ::1, spoken to the
way mxguard does: a socketpair as its stdin, Request frames in, Answer frames out (fixtures/fetcher.py).
Every address is loopback; nothing is resolved by DNS (the request carries the addresses)."""
import os
import shutil
import statistics
import subprocess
import sys
import time
import unittest

from fixtures import ports, tools
from fixtures.base import IntegrationTestCase
from fixtures.fetch_protocol import (CERTIFICATE, CONNECT, FAILED, HTTP, MAX_BODY, TIMEOUT, TOO_LARGE, Answer,
                                     Request, encode_answer, frame)
from fixtures.fetcher import Fetcher, fetcher_bin
from fixtures.https_server import POLICY, MtaStsWebServer, Site, StallingTlsServer
from fixtures.testca import TestCA

PARALLEL = 20


class FetcherTestCase(IntegrationTestCase):
    """One nginx and one stalling TLS server for the class; a fresh mxguard-fetch per test."""
    fetcher_args = ()

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        ca = cls.class_ca()
        rogue = TestCA(cls.class_tmp(), name="rogue CA", subdir="rogue-ca")
        cls.rogue_ca = rogue
        parallel_leaf = ca.issue("web-parallel", "mta-sts.par0.test",
                                 [f"mta-sts.par{i}.test" for i in range(PARALLEL)])
        sites = [
            Site("ok.test"),
            Site("same.test"),
            Site("gone.test", status=404),
            Site("moved.test", redirect="https://mta-sts.target.test/.well-known/mta-sts.txt"),
            Site("target.test"),
            Site("html.test", content_type="text/html", body=b"<html>not a policy</html>"),
            Site("charset.test", content_type="text/plain; charset=utf-8"),
            Site("full.test", body=b"x" * MAX_BODY),
            Site("big.test", body=b"x" * (MAX_BODY + 1)),
            Site("bigchunked.test", body=b"y" * 70000, chunked=True),
            Site("rogue.test", certificate=rogue.issue("web-rogue", "mta-sts.rogue.test")),
            Site("wrongname.test", certificate=ca.issue("web-wrongname", "mta-sts.other.test")),
        ] + [Site(f"par{i}.test", body=POLICY + f"# par{i}\r\n".encode(), certificate=parallel_leaf)
             for i in range(PARALLEL)]
        cls.web = MtaStsWebServer(cls.class_tmp(), ca, sites)
        cls.addClassCleanup(cls.web.stop)
        cls.web.start()
        cls.stall = StallingTlsServer(ca.issue("web-stall", "mta-sts.stall.test")).start()
        cls.addClassCleanup(cls.stall.stop)

    def setUp(self):
        super().setUp()
        self.fetcher = self.start_fetcher(self.fetcher_args)

    def start_fetcher(self, args=(), name="fetch", wrapper=()):
        f = Fetcher(self.tmp, args=args, name=name, wrapper=wrapper).start()
        f.expected_exit = 0
        self.addCleanup(self._stop_fetcher, f)
        return f

    def _stop_fetcher(self, f):
        status = f.stop()
        failed = getattr(getattr(self, "_outcome", None), "success", True) is False
        if failed or os.environ.get("MXGUARD_TEST_VERBOSE"):
            sys.stderr.write(f"\n----- {self.id()}: mxguard-fetch log -----\n{f.log()[-8000:]}"
                             f"----- nginx errors -----\n{self.web.errors()}\n")
        reports = f.sanitizer_reports()
        if reports:
            raise AssertionError(f"mxguard-fetch's log has sanitizer reports {reports}:\n{f.log()[-20000:]}")
        if status != f.expected_exit:
            raise AssertionError(f"mxguard-fetch exited with {status}, expected {f.expected_exit}:\n{f.log()}")

    _next_id = 0

    def request(self, domain, addresses=("127.0.0.1",), port=None, ca_file=None, connect=3000, total=8000, id=None):
        if id is None:
            FetcherTestCase._next_id += 1
            id = FetcherTestCase._next_id
        return Request(id=id, domain=domain, port=self.web.port if port is None else port,
                       addresses=list(addresses), ca_file=ca_file or self.class_ca().cert,
                       connect_timeout_ms=connect, total_timeout_ms=total)

    def fetch(self, domain, **kwargs):
        return self.fetcher.fetch(self.request(domain, **kwargs))

    def new_requests(self, domain, action):
        """The access log lines of mta-sts.<domain> that appear while action() runs (the web server is
        shared by the tests of a class)."""
        before = len(self.web.requests(domain))
        action()
        return self.web.requests(domain)[before:]

    def assertOutcome(self, answer, outcome):
        self.assertEqual(answer.outcome_name, Answer(0, outcome).outcome_name,
                         f"answer {answer}\nfetcher log:\n{self.fetcher.log()}")


class Answers(FetcherTestCase):
    def test_policy_is_fetched_with_its_status_content_type_and_body(self):
        answers = []
        [line] = self.new_requests("ok.test", lambda: answers.append(self.fetch("ok.test")))
        a = answers[0]
        self.assertOutcome(a, HTTP)
        self.assertEqual((a.status, a.content_type, a.body, a.detail), (200, b"text/plain", POLICY, b""))
        self.assertIn('"GET /.well-known/mta-sts.txt HTTP/1.1" 200', line)
        self.assertRegex(line, r'"mxguard-fetch/\d+\.\d+\.\d+"$')

    def test_not_found_is_http_404(self):
        a = self.fetch("gone.test")
        self.assertOutcome(a, HTTP)
        self.assertEqual(a.status, 404)

    def test_redirect_is_answered_as_301_and_not_followed(self):
        answers = []
        followed = self.new_requests("target.test", lambda: answers.append(self.fetch("moved.test")))
        self.assertOutcome(answers[0], HTTP)
        self.assertEqual(answers[0].status, 301)
        self.assertEqual(followed, [], "the redirect target must never be asked")

    def test_content_type_is_passed_on_verbatim(self):
        html = self.fetch("html.test")
        self.assertOutcome(html, HTTP)
        self.assertEqual((html.status, html.content_type, html.body), (200, b"text/html", b"<html>not a policy</html>"))
        charset = self.fetch("charset.test")
        self.assertEqual((charset.status, charset.content_type), (200, b"text/plain; charset=utf-8"))

    def test_body_of_exactly_64_kib_is_answered_whole(self):
        a = self.fetch("full.test")
        self.assertOutcome(a, HTTP)
        self.assertEqual(a.body, b"x" * MAX_BODY)

    def test_body_over_64_kib_is_too_large_with_or_without_content_length(self):
        # With a Content-Length curl refuses before the body (CURLOPT_MAXFILESIZE); a chunked body is cut
        # by the fetcher's own cap as it arrives.
        for domain, detail in (("big.test", b"Maximum file size exceeded"),
                               ("bigchunked.test", b"the body is over 65536 bytes")):
            with self.subTest(domain=domain):
                a = self.fetch(domain)
                self.assertOutcome(a, TOO_LARGE)
                self.assertEqual((a.status, a.body, a.detail), (0, b"", detail))

    def test_certificate_from_another_ca_is_certificate(self):
        a = self.fetch("rogue.test")
        self.assertOutcome(a, CERTIFICATE)
        self.assertTrue(a.detail, "the detail says why")
        self.assertTrue(all(0x20 <= c < 0x7f for c in a.detail), a.detail)

    def test_certificate_for_another_name_is_certificate(self):
        a = self.fetch("wrongname.test")
        self.assertOutcome(a, CERTIFICATE)
        self.assertIn(b"mta-sts.wrongname.test", a.detail)

    def test_only_the_requests_ca_file_is_trusted(self):
        # ok.test's certificate is fine under the test CA: under another CA file it is not.
        a = self.fetch("ok.test", ca_file=self.rogue_ca.cert)
        self.assertOutcome(a, CERTIFICATE)

    def test_missing_ca_file_is_certificate(self):
        a = self.fetch("ok.test", ca_file=os.path.join(self.tmp, "no-such-ca.pem"))
        self.assertOutcome(a, CERTIFICATE)

    def test_nothing_listening_is_connect(self):
        a = self.fetch("ok.test", port=ports.free_port())
        self.assertOutcome(a, CONNECT)

    def test_next_address_is_tried_when_the_first_refuses(self):
        a = self.fetch("ok.test", addresses=["127.0.0.2", "127.0.0.1"])
        self.assertOutcome(a, HTTP)
        self.assertEqual(a.status, 200)

    def test_each_request_connects_only_to_its_own_addresses(self):
        # curl keeps CURLOPT_RESOLVE entries in the multi handle's DNS cache: a later request for the
        # same host must replace them, never reuse them (nginx listens on 127.0.0.1, not 127.0.0.2).
        self.assertOutcome(self.fetch("ok.test", addresses=["127.0.0.1"]), HTTP)
        self.assertOutcome(self.fetch("ok.test", addresses=["127.0.0.2"]), CONNECT)
        self.assertOutcome(self.fetch("ok.test", addresses=["127.0.0.1"]), HTTP)

    def test_ipv6_loopback_address_works(self):
        a = self.fetch("ok.test", addresses=["::1"])
        self.assertOutcome(a, HTTP)
        self.assertEqual((a.status, a.body), (200, POLICY))

    def test_stalled_server_is_timeout_within_the_total_timeout(self):
        start = time.monotonic()
        a = self.fetch("stall.test", port=self.stall.port, connect=1000, total=1500)
        elapsed = time.monotonic() - start
        self.assertOutcome(a, TIMEOUT)
        self.assertGreaterEqual(self.stall.handshakes, 1, "the handshake completed: the stall was in HTTP")
        self.assertGreater(elapsed, 1.4)
        self.assertLess(elapsed, 2.5)

    def test_no_addresses_is_failed_and_the_fetcher_goes_on(self):
        a = self.fetch("ok.test", addresses=[])
        self.assertOutcome(a, FAILED)
        self.assertIn(b"no addresses", a.detail)
        self.assertOutcome(self.fetch("ok.test"), HTTP)

    def test_domain_that_is_no_host_name_is_failed(self):
        for domain in ("ok.test:1/x", "ok.test,127.0.0.2", "bad domain.test"):
            with self.subTest(domain=domain):
                a = self.fetch(domain)
                self.assertOutcome(a, FAILED)
                self.assertIn(b"not a host name", a.detail)


class Concurrency(FetcherTestCase):
    def test_twenty_requests_in_parallel_are_all_answered(self):
        requests = [self.request(f"par{i}.test") for i in range(PARALLEL)]
        start = time.monotonic()
        self.fetcher.send(*requests)
        answers = self.fetcher.answers(PARALLEL)
        elapsed = time.monotonic() - start
        for i, q in enumerate(requests):
            a = answers[q.id]
            self.assertOutcome(a, HTTP)
            self.assertEqual(a.body, POLICY + f"# par{i}\r\n".encode())
        sys.stderr.write(f"\n[mta_sts_fetcher] {PARALLEL} parallel fetches answered in {elapsed * 1000:.0f} ms\n")

    def test_two_requests_for_one_domain_at_once_share_one_transfer(self):
        first, second = self.request("same.test"), self.request("same.test")
        answers = {}
        lines = self.new_requests("same.test", lambda: (self.fetcher.send(first, second),
                                                        answers.update(self.fetcher.answers(2))))
        self.assertEqual(sorted(answers), sorted([first.id, second.id]))
        for a in answers.values():
            self.assertOutcome(a, HTTP)
            self.assertEqual(a.body, POLICY)
        self.assertEqual(len(lines), 1, lines)

    def test_different_questions_for_one_domain_are_fetched_one_after_the_other(self):
        first, second = self.request("target.test"), self.request("target.test", total=7000)
        answers = {}
        lines = self.new_requests("target.test", lambda: (self.fetcher.send(first, second),
                                                          answers.update(self.fetcher.answers(2))))
        self.assertEqual(list(answers), [first.id, second.id])
        self.assertEqual([a.status for a in answers.values()], [200, 200])
        self.assertEqual(len(lines), 2, lines)

    def test_requests_beyond_max_transfers_wait_for_a_free_slot(self):
        f = self.start_fetcher(["--max-transfers", "1"], name="fetch-one")
        stalled = self.request("stall.test", port=self.stall.port, connect=1000, total=1200)
        ok = self.request("ok.test")
        start = time.monotonic()
        f.send(stalled, ok)
        answers = f.answers(2)
        elapsed = time.monotonic() - start
        self.assertEqual(list(answers), [stalled.id, ok.id], "ok.test waited for the stalled transfer")
        self.assertEqual([a.outcome for a in answers.values()], [TIMEOUT, HTTP])
        self.assertGreater(elapsed, 1.1)

    def test_fetch_latency_against_local_nginx(self):
        times = []
        for _ in range(20):
            start = time.monotonic()
            self.assertOutcome(self.fetch("ok.test"), HTTP)
            times.append((time.monotonic() - start) * 1000)
        median = statistics.median(times)
        sys.stderr.write(f"\n[mta_sts_fetcher] one fetch from local nginx: median {median:.1f} ms, "
                         f"min {min(times):.1f} ms, max {max(times):.1f} ms (20 sequential)\n")
        self.assertLess(median, 1000)


class Lifecycle(FetcherTestCase):
    def expect_exit(self, status, within=3):
        self.fetcher.expected_exit = status
        start = time.monotonic()
        self.assertEqual(self.fetcher.wait(within), status, self.fetcher.log())
        return time.monotonic() - start

    def test_protocol_garbage_exits_2(self):
        self.fetcher.send_raw(b"\x00\x00\x00\x00")
        self.expect_exit(2)
        self.assertIn("mxguard-fetch: protocol error:", self.fetcher.log())

    def test_oversize_frame_exits_2_before_its_payload(self):
        self.fetcher.send_raw(b"\x7f\xff\xff\xff")
        self.expect_exit(2)

    def test_answer_frame_from_mxguard_exits_2(self):
        self.fetcher.send_raw(encode_answer(Answer(id=1, outcome=HTTP, status=200)))
        self.expect_exit(2)
        self.assertIn("answer frame", self.fetcher.log())

    def test_unknown_frame_type_exits_2(self):
        self.fetcher.send_raw(frame(b"Z"))
        self.expect_exit(2)

    def test_request_with_an_address_that_is_no_ip_literal_exits_2(self):
        self.fetcher.send(self.request("ok.test", addresses=["127.0.0.1:80"]))
        self.expect_exit(2)
        self.assertIn("not an IP literal", self.fetcher.log())

    def test_request_with_an_id_in_flight_exits_2(self):
        q = self.request("stall.test", port=self.stall.port, total=5000)
        self.fetcher.send(q, self.request("ok.test", id=q.id))
        self.expect_exit(2)
        self.assertIn("already in flight", self.fetcher.log())

    def test_eof_exits_0_promptly_with_transfers_running(self):
        self.fetcher.send(*[self.request("stall.test", port=self.stall.port, total=20000) for _ in range(3)],
                          self.request("ok.test"))
        self.fetcher.answers(1)   # ok.test's answer: the stalled ones are running
        ports.wait_until(lambda: self.stall.handshakes >= 1, 5, "the stalled transfer's handshake")
        self.fetcher.close_socket()
        elapsed = self.expect_exit(0)
        self.assertLess(elapsed, 1.0)
        self.assertIn("mxguard closed the socket", self.fetcher.log())

    def test_eof_right_away_exits_0(self):
        self.fetcher.close_socket()
        self.expect_exit(0)

    # Like the rest of the integration tests these run as root (README.md): the fetcher's drop is tested
    # from root, and its "not root: stay as is" by starting it as another user with setpriv.
    def test_started_as_root_it_runs_as_nobody(self):
        self.assertOutcome(self.fetch("ok.test"), HTTP)   # started and answering
        self.assertEqual(self.fetcher.uid(), [65534] * 4)
        self.assertEqual(set(self.fetcher.capabilities().values()), {0})
        self.assertIn("uid 65534 gid 65534", self.fetcher.log())

    def test_user_option_names_the_user(self):
        f = self.start_fetcher(["--user", "daemon"], name="fetch-daemon")
        self.assertOutcome(f.fetch(self.request("ok.test")), HTTP)
        self.assertEqual(f.uid(), [1] * 4)

    def test_ca_file_only_root_can_read_is_certificate(self):
        # The CA file is opened by curl per request, after the drop: it must be readable to that user.
        private = os.path.join(self.tmp, "private-ca.pem")
        shutil.copy(self.class_ca().cert, private)
        os.chmod(private, 0o600)
        a = self.fetch("ok.test", ca_file=private)
        self.assertOutcome(a, CERTIFICATE)

    def test_unknown_user_exits_1_before_reading(self):
        f = self.start_fetcher(["--user", "no-such-user-mxguard"], name="fetch-nouser")
        f.expected_exit = 1
        self.assertEqual(f.wait(5), 1)
        self.assertIn("cannot drop root privileges", f.log())

    def test_started_as_another_user_it_stays_that_user_without_capabilities(self):
        # As mxguard's systemd unit starts it: an unprivileged user with CAP_NET_BIND_SERVICE as an
        # ambient capability, which an exec'd child inherits. The fetcher keeps the user, drops the capability.
        setpriv = tools.require("setpriv")
        f = self.start_fetcher(["--user", "nobody"], name="fetch-as-daemon",
                               wrapper=[setpriv, "--reuid=daemon", "--regid=daemon", "--clear-groups",
                                        "--inh-caps=+net_bind_service", "--ambient-caps=+net_bind_service"])
        self.assertOutcome(f.fetch(self.request("ok.test")), HTTP)
        self.assertEqual(f.uid(), [1] * 4)
        self.assertEqual(f.capabilities(), {"CapInh": 0, "CapPrm": 0, "CapEff": 0, "CapAmb": 0})
        self.assertIn("not started as root: --user nobody ignored", f.log())

    def test_version_and_help(self):
        out = subprocess.run([fetcher_bin(), "--version"], capture_output=True, text=True, timeout=10)
        self.assertEqual(out.returncode, 0)
        self.assertRegex(out.stdout, r"^mxguard-fetch \d+\.\d+\.\d+")
        out = subprocess.run([fetcher_bin(), "--help"], capture_output=True, text=True, timeout=10)
        self.assertEqual(out.returncode, 0)
        self.assertIn("--user", out.stdout)
        self.assertIn("--max-transfers", out.stdout)


if __name__ == "__main__":
    unittest.main()

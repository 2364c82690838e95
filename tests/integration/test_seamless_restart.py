"""Restarting without refusing mail (issue 19; deploy/README.md, "Restarting without refusing mail").

SIGTERM closes the listeners at once: while the old process drains and until a new one listens, senders
get "connection refused". Two ways around it, both keeping the listening sockets open across the restart:

- SIGUSR2: mxguard starts a new mxguard (same executable path, same configuration file) that inherits
  every listening socket; once the new one says it serves, the old one stops accepting and lets its
  sessions end on their own within shutdown_grace. Under load (client threads connecting continuously,
  each sending a message), two restarts in a row: no connection refused, none reset, every session greeted
  with 220 and its message accepted. A new process that fails (a broken configuration) changes nothing:
  the old one goes on.
- systemd socket activation (deploy/mxguard.socket): the sockets belong to systemd, mxguard takes them
  from LISTEN_FDS. Checked with systemd's own systemd-socket-activate, and with the test holding the
  socket across a plain SIGTERM stop and start: the connections made while no mxguard runs wait in the
  kernel's queue and are served by the next one; none is refused.
"""
import os
import signal
import smtplib
import socket
import threading
import time
import unittest

from fixtures import ports, tools
from fixtures.base import IntegrationTestCase
from fixtures.mxguard import process_gone, successors

MESSAGE = b"From: <alice@sender.example>\r\nTo: <bob@example.test>\r\nSubject: restart\r\n\r\nhello\r\n"


class ClientLoop:
    """`threads` clients, each connecting again and again (greeting, EHLO, one message, QUIT) until
    stopped; every outcome counted: ok, refused, reset (a connection dropped or closed under it), reply
    (any refusal code), timeout."""

    def __init__(self, port, threads=4):
        self.port = port
        self.outcomes = {"ok": 0, "refused": 0, "reset": 0, "timeout": 0}
        self.replies = []            # (code, text) of refusals
        self.errors = []             # what each non-ok outcome was, for the assertion message
        self.waiting = 0             # clients connected and waiting for a greeting right now
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._loop, daemon=True) for _ in range(threads)]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(timeout=60)

    def ok(self):
        with self.lock:
            return self.outcomes["ok"]

    def failures(self):
        with self.lock:
            return {k: v for k, v in self.outcomes.items() if k != "ok" and v} | (
                {"replies": list(self.replies)} if self.replies else {})

    def _count(self, what, detail=None):
        with self.lock:
            self.outcomes[what] = self.outcomes.get(what, 0) + 1
            if detail:
                self.errors.append(detail)

    def _loop(self):
        while not self.stopping.is_set():
            s = smtplib.SMTP(timeout=30)
            try:
                self._session(s)
            except ConnectionRefusedError as e:
                self._count("refused", repr(e))
            except (ConnectionResetError, BrokenPipeError, smtplib.SMTPServerDisconnected) as e:
                self._count("reset", repr(e))
            except smtplib.SMTPResponseException as e:
                with self.lock:
                    self.replies.append((e.smtp_code, e.smtp_error))
            except smtplib.SMTPRecipientsRefused as e:
                with self.lock:
                    self.replies += list(e.recipients.values())
            except (socket.timeout, TimeoutError) as e:
                self._count("timeout", repr(e))
            finally:
                s.close()

    def _session(self, s):
        with self.lock:
            self.waiting += 1
        try:
            code, text = s.connect("127.0.0.1", self.port)
        finally:
            with self.lock:
                self.waiting -= 1
        if code != 220:
            with self.lock:
                self.replies.append((code, text))
            return
        code, text = s.ehlo("client.test")
        if code != 250:   # smtplib would try again on a connection the server closed after its 421
            with self.lock:
                self.replies.append((code, text))
            return
        s.sendmail("alice@sender.example", ["bob@example.test"], MESSAGE)
        s.quit()
        self._count("ok")


class RestartTestCase(IntegrationTestCase):
    def setUp(self):
        super().setUp()
        self.be = self.start_backend()
        self.successors = []

    def restart_config(self, listen_port=None, workers=2):
        cfg = self.config(self.be.port, listen_port=listen_port)
        cfg["server"].update({"workers": workers, "shutdown_grace": 10})
        return cfg

    def kill_successors(self):
        """The processes our mxguard started on SIGUSR2 are not the fixture's children: stopped here, by pid."""
        for pid in self.successors:
            if not process_gone(pid):
                os.kill(pid, signal.SIGTERM)
        for pid in self.successors:
            ports.wait_until(lambda: process_gone(pid), 30, f"mxguard pid {pid} to exit")

    def sigusr2(self, mx, pid, restarts_so_far):
        """SIGUSR2 to `pid`; waits until the new process serves; returns its pid."""
        os.kill(pid, signal.SIGUSR2)
        ports.wait_until(lambda: len(successors(mx.log())) > restarts_so_far, 30,
                         lambda: f"restart {restarts_so_far + 1} (log:\n{mx.log()[-3000:]})")
        new = successors(mx.log())[restarts_so_far]
        self.successors.append(new)
        return new

    def wait_more_ok(self, loop, more, what):
        target = loop.ok() + more
        ports.wait_until(lambda: loop.ok() >= target, 60,
                         lambda: f"{more} more sessions {what} (have {loop.ok()}; failures {loop.failures()})")


class RestartOnSigusr2(RestartTestCase):
    def test_two_restarts_under_load_refuse_and_reset_nothing(self):
        mx = self.start_mxguard(self.restart_config())
        self.addCleanup(self.kill_successors)
        loop = ClientLoop(mx.listen_ports[0]).start()
        self.addCleanup(loop.stop)
        self.wait_more_ok(loop, 20, "before the restart")
        sockets = ports.listening_sockets(mx.listen_ports[0])
        self.assertEqual(len(sockets), 2, "one SO_REUSEPORT socket per worker")

        first = self.sigusr2(mx, mx.proc.pid, 0)
        self.assertEqual(mx.wait_exit(timeout=30), 0, mx.log()[-3000:])   # drained, then gone
        self.wait_more_ok(loop, 20, "served by the new process alone")
        second = self.sigusr2(mx, first, 1)       # a process that inherited its sockets hands them on
        ports.wait_until(lambda: process_gone(first), 30, f"the first successor (pid {first}) to exit")
        self.wait_more_ok(loop, 20, "served by the second successor")
        loop.stop()
        # The very sockets of the first process, never closed: no accept queue was dropped, no port was free.
        self.assertEqual(ports.listening_sockets(mx.listen_ports[0]), sockets)

        self.assertEqual(loop.failures(), {}, f"{loop.errors[:10]}\n{self.diag()}")
        self.assertEqual(len(self.be.messages()), loop.ok(), self.diag())
        mx.wait_log(r"(?s)(listening on 2 socket\(s\) inherited from the previous mxguard.*){2}")
        log = mx.log()
        self.assertIn("started a new mxguard", log)
        self.assertEqual(log.count("listening on 2 socket(s) inherited from the previous mxguard"), 2, log[-4000:])
        self.assertNotIn("Service shutting down", log)   # nobody was told 421: sessions ended on their own
        os.kill(second, signal.SIGTERM)
        ports.wait_until(lambda: process_gone(second), 30, "the last mxguard to exit")

    def test_a_successor_that_fails_leaves_the_old_one_serving(self):
        mx = self.start_mxguard(self.restart_config())
        self.addCleanup(self.kill_successors)
        with open(mx.config_path) as f:
            good = f.read()
        with open(mx.config_path, "w") as f:
            f.write("[server\nnot toml\n")
        mx.signal(signal.SIGUSR2)
        mx.wait_log(r"restart failed: the new process \(pid \d+\) exited with status 2; this mxguard goes on serving")
        with smtplib.SMTP("127.0.0.1", mx.listen_ports[0], timeout=20) as s:
            s.ehlo("client.test")
            self.assertEqual(s.sendmail("alice@sender.example", ["bob@example.test"], MESSAGE), {})
        self.assertTrue(mx.running())
        with open(mx.config_path, "w") as f:   # fixed: the next SIGUSR2 works
            f.write(good)
        self.successors.append(self.sigusr2(mx, mx.proc.pid, 0))
        self.assertEqual(mx.wait_exit(timeout=30), 0)


class SocketActivation(RestartTestCase):
    def test_systemd_socket_activate_hands_mxguard_its_socket(self):
        activate = tools.require("systemd-socket-activate")
        port = ports.free_port()
        mx = self.start_mxguard(self.restart_config(listen_port=port),
                                wrapper=[activate, "-l", f"127.0.0.1:{port}"])
        # systemd-socket-activate execs mxguard at the first connection: that one waits in the queue.
        with smtplib.SMTP("127.0.0.1", port, timeout=20) as s:
            s.ehlo("client.test")
            self.assertEqual(s.sendmail("alice@sender.example", ["bob@example.test"], MESSAGE), {})
        mx.wait_log(r"listening on 1 socket\(s\) inherited from systemd")   # logged once every worker runs
        self.assertEqual(len(ports.listening_sockets(port)), 1, "mxguard bound a socket of its own")

    def start_on_held_socket(self, sock, name):
        fd = sock.fileno()
        redirect = "" if fd == 3 else f"exec 3<&{fd} {fd}<&-; "
        wrapper = ["sh", "-c", redirect + 'LISTEN_FDS=1 LISTEN_PID=$$ exec "$@"', "sh"]
        port = sock.getsockname()[1]
        mx = self.start_mxguard(self.restart_config(listen_port=port), name=name, wrapper=wrapper,
                                pass_fds=(fd,))
        mx.wait_log(r"mxguard started")
        return mx

    def test_a_held_socket_refuses_nothing_across_a_stop_and_start(self):
        # The test plays systemd: it owns the listening socket, mxguard only ever gets a copy.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(sock.close)
        sock.bind(("127.0.0.1", 0))
        sock.listen(512)
        first = self.start_on_held_socket(sock, "first")
        loop = ClientLoop(sock.getsockname()[1]).start()
        self.addCleanup(loop.stop)
        self.wait_more_ok(loop, 20, "before the stop")
        first.signal(signal.SIGTERM)
        self.assertEqual(first.wait_exit(timeout=30), 0, first.log()[-3000:])
        # No mxguard now: clients still connect (the kernel completes the handshake) and wait for a greeting.
        ports.wait_until(lambda: loop.waiting >= 2, 30, "clients waiting in the accept queue")
        self.start_on_held_socket(sock, "second")
        self.wait_more_ok(loop, 20, "after the start")
        loop.stop()
        failures = loop.failures()
        # A SIGTERM drain may answer a session 421 at its next command: a temporary refusal, not a lost
        # connection. What must never happen is a refused or reset connection.
        failures.pop("replies", None)
        self.assertEqual(failures, {}, f"{loop.errors[:10]}\n{self.diag()}")
        self.assertTrue(all(code == 421 for code, _ in loop.replies), loop.replies)


if __name__ == "__main__":
    unittest.main()

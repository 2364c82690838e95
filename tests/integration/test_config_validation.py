"""`mxguard check-config` and the configuration errors of `mxguard run` (contract: CLI, 6, 8): a valid
file prints "FILE: OK" (exit 0) plus warnings (backend_protocol = "plain" is an open-relay risk); an
invalid one exits non-zero with "FILE:LINE: KEY: MESSAGE"; `run` with a bad file exits non-zero and
listens on nothing; SIGTERM and SIGINT stop a running mxguard with exit status 0."""
import os
import re
import signal
import subprocess
import time
import unittest

from fixtures import ports, tools
from fixtures.base import IntegrationTestCase
from fixtures.mxguard import run_cli


class ConfigValidation(IntegrationTestCase):
    def setUp(self):
        super().setUp()
        self.listen_port = ports.free_port()
        self.backend_port = ports.free_port()

    def write(self, lines, name="mxguard.toml"):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def lines(self, protocol="proxy-v2", extra_inbound=()):
        """A valid file; line numbers are fixed (1-based) so that tests can expect them."""
        return [
            "[server]",                                                   # 1
            'hostname = "mx.test"',                                       # 2
            "workers = 1",                                                # 3
            f'state_dir = "{self.tmp}/state"',                            # 4
            "",                                                           # 5
            "[inbound]",                                                  # 6
            f'listen = ["127.0.0.1:{self.listen_port}"]',                 # 7
            f'backend = "127.0.0.1:{self.backend_port}"',                 # 8
            f'backend_protocol = "{protocol}"',                           # 9
            *extra_inbound,                                               # 10...
            "",
            "[audit]",
            f'path = "{self.tmp}/audit.jsonl"',
        ]

    def assertConfigError(self, output, path, line, key):
        rx = re.escape(path) + f":{line}: " + re.escape(key) + r": \S"
        self.assertRegex(output, rx, f"expected '{path}:{line}: {key}: MESSAGE' in:\n{output}")

    # --- check-config ------------------------------------------------------------------------------
    def test_check_config_accepts_a_valid_file(self):
        path = self.write(self.lines())
        r = run_cli("check-config", "--config", path)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(f"{path}: OK", r.stdout + r.stderr)
        self.assertNotRegex(r.stdout + r.stderr, r"(?i)open relay", "proxy-v2 must not warn about open relays")

    def test_check_config_warns_that_plain_backend_protocol_risks_an_open_relay(self):
        path = self.write(self.lines(protocol="plain"))
        r = run_cli("check-config", "--config", path)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(f"{path}: OK", r.stdout + r.stderr)
        self.assertRegex(r.stdout + r.stderr, r"(?i)open relay")

    def test_check_config_reports_unknown_key_with_file_line_and_key(self):
        path = self.write(self.lines(extra_inbound=["bakend_timeout = 5"]))   # line 10
        r = run_cli("check-config", "--config", path)
        self.assertNotEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertConfigError(r.stderr, path, 10, "inbound.bakend_timeout")

    def test_check_config_reports_bad_backend_protocol_with_file_line_and_key(self):
        path = self.write(self.lines(protocol="proxy-v3"))                    # line 9
        r = run_cli("check-config", "--config", path)
        self.assertNotEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertConfigError(r.stderr, path, 9, "inbound.backend_protocol")

    def test_check_config_reports_wrong_type_with_file_line_and_key(self):
        lines = self.lines()
        lines[2] = 'workers = "two"'                                           # line 3
        path = self.write(lines)
        r = run_cli("check-config", "--config", path)
        self.assertNotEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertConfigError(r.stderr, path, 3, "server.workers")

    def test_check_config_reports_toml_syntax_error_with_file_and_line(self):
        lines = self.lines()
        lines[1] = 'hostname = "mx.test'                                       # line 2, unterminated
        path = self.write(lines)
        r = run_cli("check-config", "--config", path)
        self.assertNotEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(f"{path}:2:", r.stderr)

    def test_check_config_reports_missing_certificate_file(self):
        missing = os.path.join(self.tmp, "no-such-cert.pem")
        path = self.write(self.lines(extra_inbound=[
            "", "[[inbound.certificate]]", f'cert = "{missing}"', f'key = "{missing}"']))
        r = run_cli("check-config", "--config", path)
        self.assertNotEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(path, r.stderr)
        self.assertIn("inbound.certificate", r.stderr)

    def test_check_config_reports_unreadable_file(self):
        path = os.path.join(self.tmp, "does-not-exist.toml")
        r = run_cli("check-config", "--config", path)
        self.assertNotEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(path, r.stderr)

    # --- run ---------------------------------------------------------------------------------------
    def test_run_with_bad_config_exits_nonzero_and_listens_on_nothing(self):
        path = self.write(self.lines(protocol="proxy-v3"))
        proc = subprocess.Popen([tools.mxguard_bin(), "run", "--config", path], stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        listened = set()
        deadline = time.monotonic() + 20
        while proc.poll() is None and time.monotonic() < deadline:
            listened |= ports.process_listening_ports(proc.pid)
            time.sleep(0.005)
        self.assertIsNotNone(proc.poll(), "mxguard run with a bad config is still running after 20 s")
        out, err = proc.communicate(timeout=10)
        self.assertNotEqual(proc.returncode, 0, out + err)
        self.assertConfigError(err, path, 9, "inbound.backend_protocol")
        self.assertEqual(listened, set(), "mxguard listened although its configuration is invalid")
        self.assertFalse(ports.is_listening(self.listen_port))

    def test_run_with_plain_backend_protocol_logs_open_relay_warning(self):
        path = self.write(self.lines(protocol="plain"))
        with open(path) as f:
            mx = self.start_mxguard(f.read(), listen_ports=[self.listen_port])
        mx.wait_log(r"(?i)open relay")

    def test_sigterm_stops_mxguard_with_exit_status_0(self):
        mx = self.start_mxguard("\n".join(self.lines()) + "\n", listen_ports=[self.listen_port])
        mx.signal(signal.SIGTERM)
        self.assertEqual(mx.wait_exit(timeout=20), 0, mx.log())
        self.assertFalse(ports.is_listening(self.listen_port))

    def test_sigint_stops_mxguard_with_exit_status_0(self):
        mx = self.start_mxguard("\n".join(self.lines()) + "\n", listen_ports=[self.listen_port])
        mx.signal(signal.SIGINT)
        self.assertEqual(mx.wait_exit(timeout=20), 0, mx.log())

    def test_signals_arriving_as_soon_as_it_listens_are_handled(self):
        # A supervisor may signal mxguard the moment its port is open: SIGTERM/SIGINT must then still
        # stop it with status 0, and SIGHUP (reload) must not kill it.
        config = "\n".join(self.lines()) + "\n"
        results = {}
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            for i in range(15):
                mx = self.start_mxguard(config, name=f"{sig.name}-{i}", listen_ports=[self.listen_port],
                                        poll_interval=0)
                mx.expected_nonzero_exit = True   # judged below, all runs at once
                mx.signal(sig)
                if sig == signal.SIGHUP:
                    mx.signal(signal.SIGTERM)
                status = mx.wait_exit(timeout=20)
                results.setdefault(sig.name, []).append(status)
                mx.stop()
        self.assertEqual(results, {name: [0] * 15 for name in results},
                         "exit statuses (negative: killed by that signal) of mxguard signalled right after "
                         "its listener appeared")


if __name__ == "__main__":
    unittest.main()

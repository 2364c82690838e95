"""`mxguard audit`: the audit log turned into a summary, RFC 8460 TLS-RPT reports and an HTML report.

Golden audit files (proxy/audit/report/tests/golden/) go in; the summary's numbers, every TLS-RPT report
checked against RFC 8460's schema (written out here: required members, JSON types, the date range of a
UTC day, the result types of §4.3, the §5.1 file name) and field by field, the §5.3 emails (parsed with
Python's email package) and the HTML page rendered by a real browser (Debian's chromium, headless) come
out. One test makes a real audit log first: mxguard's outbound listener against scripted MX servers,
including a message that is itself a TLS report, and checks that the report counts those sessions.
"""
import email
import email.policy
import gzip
import json
import os
import re
import shutil
import struct
import subprocess
import unittest
import zlib
from datetime import datetime, timedelta, timezone

from fixtures import tools
from fixtures.hardening import message
from fixtures.mxguard import to_toml
from fixtures.outbound import OutboundTestCase, zone

GOLDEN_DIR = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "proxy", "audit", "report",
                                           "tests", "golden"))
GOLDEN = os.path.join(GOLDEN_DIR, "two_days.jsonl")
SUBMITTER = "mx.sender.example"

# RFC 8460 §4.3 (negotiation failures, then DANE's and MTA-STS's policy failures).
RESULT_TYPES = {"starttls-not-supported", "certificate-host-mismatch", "certificate-expired",
                "certificate-not-trusted", "validation-failure", "tlsa-invalid", "dnssec-invalid", "dane-required",
                "sts-policy-fetch-error", "sts-policy-invalid", "sts-webpki-invalid"}
RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
# RFC 8460 §5.1: sender "!" policy-domain "!" begin-timestamp "!" end-timestamp [ "!" unique-id ] "." extension
FILE_NAME = re.compile(r"^(?P<sender>[^!/]+)!(?P<domain>[^!/]+)!(?P<begin>\d+)!(?P<end>\d+)!(?P<id>[A-Za-z0-9]+)\.json\.gz$")
A_LABEL_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9_]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")


def run_audit(*args, expect_status=0):
    proc = subprocess.run([tools.mxguard_bin(), "audit", *args], capture_output=True, text=True, timeout=120)
    if expect_status is not None and proc.returncode != expect_status:
        raise AssertionError(f"mxguard audit {args} exited {proc.returncode}\nstdout:\n{proc.stdout}\n"
                             f"stderr:\n{proc.stderr}")
    return proc


def read_reports(directory):
    """{file name: report JSON} of every .json.gz in `directory`."""
    out = {}
    for name in sorted(os.listdir(directory)):
        if name.endswith(".json.gz"):
            with gzip.open(os.path.join(directory, name), "rb") as f:
                out[name] = json.loads(f.read())
    return out


class Rfc8460Schema:
    """RFC 8460 §4.4 written out as checks (a mixin for unittest.TestCase)."""

    def assertReportSchema(self, report, file_name):
        where = f"{file_name}: {json.dumps(report)[:400]}"
        self.assertEqual(list(report), ["organization-name", "date-range", "contact-info", "report-id", "policies"], where)
        for key in ("organization-name", "contact-info", "report-id"):
            self.assertIsInstance(report[key], str, where)
            self.assertTrue(report[key], f"{key} is empty: {where}")
        self.assertRegex(report["contact-info"], r"^[^@\s]+@[^@\s]+$", where)
        dr = report["date-range"]
        self.assertEqual(sorted(dr), ["end-datetime", "start-datetime"], where)
        for key in ("start-datetime", "end-datetime"):
            self.assertRegex(dr[key], RFC3339_UTC, where)
        start = datetime.strptime(dr["start-datetime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        end = datetime.strptime(dr["end-datetime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        # A whole UTC day (RFC 8460 §4.1: "from 00:00-24:00 UTC").
        self.assertEqual((start.hour, start.minute, start.second), (0, 0, 0), where)
        self.assertEqual(end - start, timedelta(seconds=86399), where)

        m = FILE_NAME.match(file_name)
        self.assertIsNotNone(m, f"file name {file_name} is not RFC 8460 §5.1's")
        self.assertEqual(int(m["begin"]), int(start.timestamp()), file_name)
        self.assertEqual(int(m["end"]), int(end.timestamp()), file_name)

        self.assertIsInstance(report["policies"], list, where)
        self.assertTrue(report["policies"], where)
        for entry in report["policies"]:
            self.assertEqual(set(entry) - {"failure-details"}, {"policy", "summary"}, where)
            policy = entry["policy"]
            self.assertIn(policy["policy-type"], ("sts", "tlsa", "no-policy-found"), where)
            self.assertIsInstance(policy["policy-domain"], str, where)
            self.assertRegex(policy["policy-domain"], A_LABEL_DOMAIN, where)
            self.assertEqual(policy["policy-domain"], m["domain"], where)
            self.assertLessEqual(set(policy), {"policy-type", "policy-string", "policy-domain", "mx-host"}, where)
            if policy["policy-type"] == "sts":
                self.assertIsInstance(policy["policy-string"], list, where)
                self.assertTrue(all(isinstance(l, str) and "\n" not in l for l in policy["policy-string"]), where)
                self.assertEqual(policy["policy-string"][0], "version: STSv1", where)
            if "mx-host" in policy:
                self.assertTrue(all(isinstance(h, str) for h in policy["mx-host"]), where)
            summary = entry["summary"]
            self.assertEqual(sorted(summary), ["total-failure-session-count", "total-successful-session-count"], where)
            for v in summary.values():
                self.assertIs(type(v), int, where)
                self.assertGreaterEqual(v, 0, where)
            details = entry.get("failure-details", [])
            self.assertIsInstance(details, list, where)
            for d in details:
                self.assertLessEqual(set(d), {"result-type", "sending-mta-ip", "receiving-mx-hostname",
                                              "receiving-mx-helo", "receiving-ip", "failed-session-count",
                                              "additional-information", "failure-reason-code"}, where)
                self.assertIn(d["result-type"], RESULT_TYPES, where)
                self.assertIs(type(d["failed-session-count"]), int, where)
                self.assertGreater(d["failed-session-count"], 0, where)
                for key in ("sending-mta-ip", "receiving-ip"):
                    if key in d:
                        self.assertRegex(d[key], r"^[0-9a-fA-F:.]+$", where)
            self.assertEqual(sum(d["failed-session-count"] for d in details),
                             summary["total-failure-session-count"], where)


class GoldenSummary(unittest.TestCase):
    def test_summary_numbers(self):
        s = json.loads(run_audit(GOLDEN, "--json").stdout)
        self.assertEqual((s["events"], s["lines"], s["bad_lines"]["count"]), (27, 32, 5))
        self.assertEqual([b["line"] for b in s["bad_lines"]["first"]], [9, 17, 25, 29, 30])
        self.assertEqual(s["inbound"]["sessions"], 6)
        self.assertAlmostEqual(s["inbound"]["encrypted_share"], 4 / 6)
        self.assertAlmostEqual(s["inbound"]["starttls_success_rate"], 4 / 5)
        self.assertEqual(s["inbound"]["failures_by_reason"], {"peer alert: handshake failure": 1})
        self.assertEqual((s["outbound"]["deliveries"], s["outbound"]["delivered_tls"]), (10, 7))
        self.assertAlmostEqual(s["outbound"]["starttls_success_rate"], 7 / 9)
        self.assertEqual(s["outbound"]["failures_by_reason"]["validation-failure"], 2)
        self.assertEqual((s["mta_sts"]["fetched"], s["mta_sts"]["failed"]), (2, 1))
        kinds = [d["kind"] for d in s["downgrades"]]
        self.assertEqual(kinds, ["plaintext-injection", "starttls-failed", "downgrade-attempt", "refused", "refused",
                                 "allowed-testing", "starttls-missing", "tls-failed"])
        refused = s["downgrades"][3]
        self.assertEqual((refused["ts"], refused["peer"], refused["domain"], refused["mx"], refused["reason"]),
                         ("2026-11-22T05:00:00.000Z", "127.0.0.1:50001", "example.com", "mx2.backup.example.com",
                          "certificate-expired"))

    def test_gzip_input_gives_the_same_summary(self):
        tmp = self.enterContext(_TempDir())
        gz = os.path.join(tmp, "audit.jsonl.1.gz")
        with open(GOLDEN, "rb") as f, gzip.open(gz, "wb") as out:
            out.write(f.read())
        plain = json.loads(run_audit(GOLDEN, "--json").stdout)
        packed = json.loads(run_audit(gz, "--json").stdout)
        for b in plain["bad_lines"]["first"] + packed["bad_lines"]["first"]:
            b.pop("file")
        self.assertEqual(plain, packed)

    def test_text_names_bad_lines_with_file_and_line(self):
        out = run_audit(GOLDEN).stdout
        self.assertIn(f"{GOLDEN}:9: not JSON", out)
        self.assertIn(f"{GOLDEN}:30: \"transaction\" is not an integer", out)
        self.assertRegex(out, r"STARTTLS success rate: +80\.0 % \(4 of 5\)")

    def test_filters(self):
        day = json.loads(run_audit(GOLDEN, "--json", "--since", "2026-11-22", "--until", "2026-11-22").stdout)
        self.assertEqual(day["inbound"]["sessions"], 4)
        out = json.loads(run_audit(GOLDEN, "--json", "--direction", "outbound", "--domain", "Example.COM").stdout)
        self.assertEqual((out["inbound"]["sessions"], out["outbound"]["decisions"]), (0, 7))
        t = json.loads(run_audit(GOLDEN, "--json", "--since", "2026-11-22T05:00:00Z", "--until",
                                 "2026-11-22T05:00:00.500Z").stdout)
        self.assertEqual(t["outbound"]["decisions"], 1)

    def test_usage_errors_exit_2(self):
        self.assertIn("--since", run_audit(GOLDEN, "--since", "last week", expect_status=2).stderr)
        self.assertIn("cannot open", run_audit("/nonexistent/audit.jsonl", expect_status=2).stderr)
        run_audit(GOLDEN, "--direction", "sideways", expect_status=None)


class GoldenTlsrpt(OutboundTestCase, Rfc8460Schema):
    """The golden file's reports, with a real DNS server publishing _smtp._tls for some domains."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.start_class_dns(
            zone("example.com", '_smtp._tls TXT "v=TLSRPTv1; rua=mailto:tlsrpt@example.com,https://rua.example.com/v1/tlsrpt"'),
            zone("testing.org", '_smtp._tls TXT "v=TLSRPTv1; rua=tlsrpt@testing.org"'),   # no scheme: malformed
            zone("plain.net", "@ MX 10 mx"),
        )

    def audit_config(self):
        cfg = self.outbound_config(self.class_dns)
        cfg["server"]["hostname"] = SUBMITTER
        path = os.path.join(self.tmp, "audit.toml")
        with open(path, "w") as f:
            f.write(to_toml(cfg) + "\n")
        return path

    def test_reports_match_the_schema_and_the_events(self):
        out_dir = os.path.join(self.tmp, "tlsrpt")
        proc = run_audit("--tlsrpt", out_dir, "--config", self.audit_config(), "--organization", "Sender Example",
                         "--contact", "tls-reports@sender.example", GOLDEN)
        reports = read_reports(out_dir)
        self.assertEqual(len(reports), 4, proc.stdout)
        for name, report in reports.items():
            self.assertReportSchema(report, name)
            self.assertTrue(name.startswith(SUBMITTER + "!"), name)
            self.assertEqual(report["organization-name"], "Sender Example")
            self.assertEqual(report["contact-info"], "tls-reports@sender.example")
        by_key = {(r["date-range"]["start-datetime"][:10], r["policies"][0]["policy"]["policy-domain"]): r
                  for r in reports.values()}
        self.assertEqual(sorted(by_key), [("2026-11-22", "example.com"), ("2026-11-22", "plain.net"),
                                          ("2026-11-22", "testing.org"), ("2026-11-23", "example.com")])
        ex = by_key[("2026-11-22", "example.com")]
        self.assertEqual(ex["report-id"], f"2026-11-22.example.com@{SUBMITTER}")
        (policy,) = ex["policies"]
        self.assertEqual(policy["policy"], {
            "policy-type": "sts",
            "policy-string": ["version: STSv1", "mode: enforce", "mx: mx1.example.com", "mx: *.backup.example.com",
                              "max_age: 604800"],
            "policy-domain": "example.com",
            "mx-host": ["mx1.example.com", "*.backup.example.com"],
        })
        # Four deliveries that day, one of which carried a TLS report: not counted.
        self.assertEqual(policy["summary"], {"total-successful-session-count": 3, "total-failure-session-count": 2})
        self.assertEqual(policy["failure-details"], [
            {"result-type": "certificate-expired", "sending-mta-ip": "192.0.2.10",
             "receiving-mx-hostname": "mx2.backup.example.com", "receiving-ip": "198.51.100.2", "failed-session-count": 1},
            {"result-type": "validation-failure", "receiving-mx-hostname": "evil.example.net", "failed-session-count": 1},
        ])
        plain = by_key[("2026-11-22", "plain.net")]["policies"][0]
        self.assertEqual(plain["policy"], {"policy-type": "no-policy-found", "policy-domain": "plain.net"})
        self.assertEqual(plain["summary"]["total-failure-session-count"], 2)
        testing = by_key[("2026-11-22", "testing.org")]["policies"][0]
        self.assertEqual(testing["policy"]["policy-string"][1], "mode: testing")
        self.assertEqual(testing["failure-details"][0]["result-type"], "certificate-host-mismatch")

        # DNS: example.com publishes mailto and https, testing.org a malformed rua, plain.net nothing.
        self.assertIn("_smtp._tls.testing.org is malformed", proc.stdout)
        self.assertIn("no _smtp._tls record", proc.stdout)
        emails = [n for n in os.listdir(out_dir) if n.endswith(".eml")]
        self.assertEqual(len(emails), 2, os.listdir(out_dir))   # example.com, both days
        https = [n for n in os.listdir(out_dir) if n.endswith(".https")]
        self.assertEqual(len(https), 2)
        with open(os.path.join(out_dir, https[0])) as f:
            self.assertEqual(f.read(), "https://rua.example.com/v1/tlsrpt\n")
        ex_name = next(n for n, r in reports.items() if r is ex)
        self.assertEmail(os.path.join(out_dir, ex_name[:-len(".json.gz")] + ".eml"), ex_name, ex)

    def assertEmail(self, path, attachment_name, report):
        with open(path, "rb") as f:
            raw = f.read()
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        self.assertEqual(msg["To"], "tlsrpt@example.com")
        self.assertEqual(msg["From"], "tls-reports@sender.example")
        self.assertEqual(msg["TLS-Report-Domain"], "example.com")
        self.assertEqual(msg["TLS-Report-Submitter"], SUBMITTER)
        self.assertEqual(msg["TLS-Required"], "No")
        self.assertEqual(str(msg["Subject"]),
                         f"Report Domain: example.com Submitter: {SUBMITTER} Report-ID: <{report['report-id']}>")
        self.assertEqual(msg.get_content_type(), "multipart/report")
        self.assertEqual(msg.get_param("report-type"), "tlsrpt")
        parts = list(msg.iter_parts())
        self.assertEqual([p.get_content_type() for p in parts], ["text/plain", "application/tlsrpt+gzip"])
        self.assertEqual(parts[1].get_filename(), attachment_name)
        self.assertEqual(json.loads(gzip.decompress(parts[1].get_content())), report)
        self.assertIn("example.com", parts[0].get_content())

    def test_unfinished_days_and_json_listing(self):
        out_dir = os.path.join(self.tmp, "tlsrpt")
        today = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        log = os.path.join(self.tmp, "today.jsonl")
        with open(log, "w") as f:
            f.write(json.dumps({"ts": today, "event": "tls-policy", "direction": "outbound", "session": "x",
                                "peer": "127.0.0.1:1", "domain": "example.com", "policy": "may",
                                "policy_source": "default", "verdict": "delivered", "tls_version": "TLSv1.3"}) + "\n")
        listing = json.loads(run_audit("--tlsrpt", out_dir, "--submitter", SUBMITTER, "--no-dns", "--json", log).stdout)
        self.assertEqual(listing["reports"], [])
        self.assertEqual(listing["unfinished_days"], [today[:10]])
        self.assertEqual(read_reports(out_dir), {})

    def test_no_submitter_is_a_usage_error(self):
        proc = run_audit("--tlsrpt", os.path.join(self.tmp, "x"), "--config", "/nonexistent.toml", GOLDEN,
                         expect_status=2)
        self.assertTrue(proc.stderr, proc)


class RealOutboundSessions(OutboundTestCase, Rfc8460Schema):
    """An audit log made by mxguard itself, then read back."""

    def test_report_counts_the_sessions_mxguard_made(self):
        dns = self.start_dns(zone("example.test", "@ MX 10 mx", "mx A 127.0.0.2"),
                             zone("expired.test", "@ MX 10 mx", "mx A 127.0.0.3"))
        good = self.start_scripted_mx("127.0.0.2", leaf=self.leaf("mx.example.test"))
        self.start_scripted_mx("127.0.0.3", leaf=self.expired_leaf("mx.expired.test"))
        cfg = self.outbound_config(dns, domains={"example.test": {"level": "verify"},
                                                 "expired.test": {"level": "verify"}})
        self.start_outbound(cfg)
        c = self.connect_outbound()
        for i in range(2):
            self.assertReply(self.send_message(c, message(f"mail {i}", to="bob@example.test")), 250)
        # A TLS report for example.test, as `mxguard audit --tlsrpt` writes them (RFC 8460 §5.3 fields).
        report = (b"From: tlsrpt@sender.test\r\nTo: tlsrpt@example.test\r\nSubject: Report Domain: example.test "
                  b"Submitter: sender.test Report-ID: <1@sender.test>\r\nTLS-Report-Domain: example.test\r\n"
                  b"TLS-Report-Submitter: sender.test\r\n\r\nreport\r\n")
        self.assertReply(self.send_message(c, report, rcpts=("tlsrpt@example.test",)), 250)
        self.assertReply(c.command("MAIL FROM:<alice@sender.test>"), 250)
        self.assertPolicyRefusal(c.command("RCPT TO:<bob@expired.test>"), "4.7.5", "expired.test", "mx.expired.test")
        self.assertReply(c.command("QUIT"), 221)
        self.ob.wait_audit(event="tls-report-relayed", domain="example.test")
        self.wait_tls_event(domain="expired.test", verdict="refused")

        events = self.ob.audit_events()
        delivered = [e for e in events if e.get("event") == "tls-policy" and e.get("domain") == "example.test"]
        self.assertEqual([e["transaction"] for e in delivered], [1, 2, 3])
        for e in delivered:
            self.assertEqual(e["sending_ip"], "127.0.0.1", e)
            self.assertEqual(e["mx_address"], f"127.0.0.2:{self.mx_port}", e)
        relayed = self.ob.wait_audit(event="tls-report-relayed")
        self.assertEqual((relayed["transaction"], relayed["report_domain"], relayed["verdict"]), (3, "example.test", "delivered"))

        summary = json.loads(run_audit(self.ob.audit_path, "--json").stdout)
        self.assertEqual(summary["outbound"]["decisions"], 4)
        self.assertEqual(summary["outbound"]["delivered_tls"], 3)
        self.assertEqual(summary["outbound"]["refused"], 1)
        self.assertEqual(summary["outbound"]["reports_relayed"], 1)
        self.assertEqual(summary["bad_lines"]["count"], 0)

        # A report covers a whole UTC day that is over: the log is moved to yesterday, nothing else changed.
        yesterday = os.path.join(self.tmp, "yesterday.jsonl")
        with open(self.ob.audit_path) as f, open(yesterday, "w") as out:
            for line in f:
                e = json.loads(line)
                ts = datetime.strptime(e["ts"], "%Y-%m-%dT%H:%M:%S.%fZ") - timedelta(days=1)
                e["ts"] = ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"
                out.write(json.dumps(e) + "\n")
        out_dir = os.path.join(self.tmp, "tlsrpt")
        run_audit("--tlsrpt", out_dir, "--submitter", "mxguard.sender.test", "--no-dns", yesterday)
        reports = read_reports(out_dir)
        by_domain = {}
        for name, r in reports.items():
            self.assertReportSchema(r, name)
            by_domain[r["policies"][0]["policy"]["policy-domain"]] = r
        self.assertEqual(sorted(by_domain), ["example.test", "expired.test"])
        ok = by_domain["example.test"]["policies"][0]
        self.assertEqual(ok["policy"], {"policy-type": "no-policy-found", "policy-domain": "example.test"})
        self.assertEqual(ok["summary"], {"total-successful-session-count": 2, "total-failure-session-count": 0})
        bad = by_domain["expired.test"]["policies"][0]
        self.assertEqual(bad["summary"], {"total-successful-session-count": 0, "total-failure-session-count": 1})
        self.assertEqual(bad["failure-details"], [{"result-type": "certificate-expired", "sending-mta-ip": "127.0.0.1",
                                                   "receiving-mx-hostname": "mx.expired.test",
                                                   "receiving-ip": "127.0.0.3", "failed-session-count": 1}])


def png_pixels(path):
    """(width, height, rows of RGB(A) bytes) of an 8-bit RGB or RGBA PNG, decoded with zlib alone."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise AssertionError(f"{path} is not a PNG")
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
        pos += 12 + length
    width, height, depth, color, _, _, interlace = header
    if depth != 8 or color not in (2, 6) or interlace != 0:
        raise AssertionError(f"unexpected PNG format {header}")
    bpp = 3 if color == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, bpp, rows


class HtmlInABrowser(unittest.TestCase):
    WIDTH, HEIGHT = 1000, 1600

    def test_chromium_renders_the_report(self):
        chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        if not chromium:
            self.skipTest("chromium is not installed (Debian's chromium package; scripts/install-deps.sh installs it)")
        tmp = self.enterContext(_TempDir())
        page = os.path.join(tmp, "report.html")
        self.assertIn("wrote", run_audit("--html", page, GOLDEN).stdout)
        with open(page) as f:
            html = f.read()
        self.assertNotIn("<script", html)
        self.assertNotRegex(html, r"(src|href)=")
        shot = os.path.join(tmp, "report.png")
        subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        f"--user-data-dir={tmp}/profile", f"--screenshot={shot}",
                        f"--window-size={self.WIDTH},{self.HEIGHT}", "file://" + page],
                       capture_output=True, timeout=120, check=True)
        width, height, bpp, rows = png_pixels(shot)
        self.assertEqual((width, height), (self.WIDTH, self.HEIGHT))
        # The page's background is #fafafa and the charts' #ffffff: count what is drawn on them.
        ink = colored = 0
        for row in rows[::2]:
            for x in range(0, width * bpp, bpp * 2):
                r, g, b = row[x], row[x + 1], row[x + 2]
                if max(r, g, b) < 200:
                    ink += 1
                if max(r, g, b) - min(r, g, b) > 80:
                    colored += 1   # the lines and bars (blue, orange, red, purple), not grey text
        self.assertGreater(ink, 2000, "hardly anything dark on the page: text did not render")
        self.assertGreater(colored, 2000, "no coloured chart pixels: the SVG charts did not render")


class _TempDir:
    def __enter__(self):
        import tempfile
        self.path = tempfile.mkdtemp(prefix="mxguard-audit-")
        return self.path

    def __exit__(self, *exc):
        shutil.rmtree(self.path, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()

"""`mxguard policy DOMAIN --config FILE` (issue 14): the effective policy of a recipient domain, its source,
the domain's entry with expiry and reason ("LAPSED on D" once it has run out), the mx patterns and the
static next hop; exit 0. A bad configuration gives the loader's FILE:LINE: KEY: MESSAGE and exit 2. The
MX hosts need the DNS resolver: until it is in the build the command says so and prints no hosts."""
import datetime
import os
import re
import unittest

from fixtures.base import IntegrationTestCase
from fixtures.mxguard import SANITIZER_MARKERS, run_cli


def utc_today():
    return datetime.datetime.now(datetime.timezone.utc).date()


class PolicyCommand(IntegrationTestCase):
    def write(self, text, name="mxguard.toml"):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def config_text(self, policy="", outbound="", extra=""):
        return (
            "[server]\nhostname = \"mx.test\"\n"
            "[inbound]\nbackend = \"127.0.0.1:2525\"\nbackend_protocol = \"proxy-v2\"\n"
            f"[outbound]\nlisten = [\"127.0.0.1:10025\"]\n{outbound}\n"
            f"[policy]\ndefault = \"encrypt\"\n{policy}\n{extra}"
            # A resolver on a closed loopback port: lookups fail at once, and nothing leaves the machine.
            "[dns]\nservers = [\"127.0.0.1:9\"]\n"
        )

    def run_policy(self, domain, path, expect_status=0):
        r = run_cli("policy", domain, "--config", path)
        for marker in SANITIZER_MARKERS:
            self.assertNotIn(marker, r.stderr, r.stderr)
        self.assertEqual(r.returncode, expect_status, f"stdout:\n{r.stdout}\nstderr:\n{r.stderr}")
        return r

    def report(self, domain, path):
        """The report as a dict of its "key: value" lines, plus the raw text."""
        r = self.run_policy(domain, path)
        fields = {}
        for line in r.stdout.splitlines():
            key, sep, value = line.partition(":")
            self.assertTrue(sep, f"not a 'key: value' line: {line!r}\n{r.stdout}")
            self.assertNotIn(key, fields, f"{key} twice:\n{r.stdout}")
            fields[key] = value.strip()
        return fields, r.stdout

    def report_for_today(self, domain, config_for):
        """Writes config_for(today) and reports on `domain`, again if the UTC day turned meanwhile (the
        test compares with that day). Returns (fields, text, today)."""
        for _ in range(2):
            today = utc_today()
            path = self.write(config_for(today))
            fields, text = self.report(domain, path)
            if utc_today() == today:
                return fields, text, today
        self.fail("the UTC day changed twice during one test")

    # --- the effective policy ----------------------------------------------------------------------
    def test_domain_without_entry_gets_the_default(self):
        path = self.write(self.config_text())
        fields, text = self.report("other.example", path)
        self.assertEqual(fields["domain"], "other.example")
        self.assertEqual(fields["level"], "encrypt")
        self.assertEqual(fields["source"], "default")
        self.assertRegex(fields["entry"], r"^none\b")
        self.assertNotIn("expires", fields)
        self.assertEqual(fields["mx patterns"], "any")
        self.assertEqual(fields["next hop"], "the MX hosts of other.example, port 25")

    def test_entry_gives_level_mx_patterns_and_source_config(self):
        path = self.write(self.config_text(
            policy='[policy.domain."Example.ORG"]\nlevel = "verify"\nmx = ["*.example.org", "mx.backup.example"]\n'))
        fields, _ = self.report("example.org", path)
        self.assertEqual(fields["level"], "verify")
        self.assertEqual(fields["source"], "config")
        self.assertEqual(fields["entry"], '[policy.domain."example.org"] level verify')
        self.assertEqual(fields["expires"], "never")
        self.assertNotIn("reason", fields)
        self.assertEqual(fields["mx patterns"], "*.example.org, mx.backup.example")

    def test_domain_case_and_trailing_dot_do_not_matter(self):
        path = self.write(self.config_text(policy='[policy.domain."example.org"]\nlevel = "verify"\n'))
        fields, _ = self.report("EXAMPLE.Org.", path)
        self.assertEqual(fields["domain"], "example.org")
        self.assertEqual(fields["source"], "config")

    def test_subdomains_do_not_inherit_an_entry(self):
        path = self.write(self.config_text(policy='[policy.domain."example.org"]\nlevel = "verify"\n'))
        fields, _ = self.report("mail.example.org", path)
        self.assertEqual(fields["source"], "default")
        self.assertEqual(fields["level"], "encrypt")

    # --- exceptions that lapse ---------------------------------------------------------------------
    def exception(self, domain, expires, reason="their MX certificate expired, ticket 4711"):
        return f'[policy.domain."{domain}"]\nlevel = "may"\nexpires = {expires.isoformat()}\nreason = "{reason}"\n'

    def test_exception_in_force_through_its_expiry_day_shows_expiry_and_reason(self):
        fields, text, today = self.report_for_today(
            "partner.example", lambda today: self.config_text(policy=self.exception("partner.example", today)))
        self.assertEqual(fields["level"], "may", text)
        self.assertEqual(fields["source"], "config")
        self.assertEqual(fields["expires"], f"{today.isoformat()} (in force through that day, UTC)")
        self.assertEqual(fields["reason"], "their MX certificate expired, ticket 4711")
        self.assertNotIn("LAPSED", text)

    def test_exception_lapses_the_day_after_expires(self):
        def lapsed_yesterday(today):
            return self.config_text(policy=self.exception("partner.example", today - datetime.timedelta(days=1)))
        fields, text, today = self.report_for_today("partner.example", lapsed_yesterday)
        yesterday = today - datetime.timedelta(days=1)
        self.assertEqual(fields["level"], "encrypt", "a lapsed exception falls back to the default\n" + text)
        self.assertEqual(fields["source"], "default")
        self.assertEqual(fields["entry"], '[policy.domain."partner.example"] level may')
        self.assertEqual(fields["expires"],
                         f"{yesterday.isoformat()}: LAPSED on {today.isoformat()}, the entry no longer applies")
        self.assertEqual(fields["reason"], "their MX certificate expired, ticket 4711")

    def test_long_lapsed_exception_names_its_lapse_day_and_notes_the_warning(self):
        path = self.write(self.config_text(policy=self.exception("old.example", datetime.date(2001, 1, 31), "broken")))
        r = self.run_policy("old.example", path)
        self.assertIn("expires:     2001-01-31: LAPSED on 2001-02-01, the entry no longer applies\n", r.stdout)
        self.assertIn("level:       encrypt\n", r.stdout)
        self.assertRegex(r.stderr, r"has 1 warning\(s\): see mxguard check-config")
        self.assertNotIn("warning", r.stdout, "stdout is the report alone")

    # --- next hop, MTA-STS, MX lookup --------------------------------------------------------------
    def test_routed_domain_shows_its_static_next_hop_and_no_mx_lookup(self):
        path = self.write(self.config_text(outbound='[outbound.route]\n"partner.example" = "mx.partner.example:2525"\n'))
        fields, text = self.report("Partner.Example", path)
        self.assertEqual(fields["next hop"], "mx.partner.example:2525 ([outbound.route]; MX records are not used)")
        self.assertNotIn("MX lookup", fields, text)
        # the policy still applies to a routed domain
        self.assertEqual(fields["level"], "encrypt")

    def test_a_failed_mx_lookup_is_temporary_and_invents_no_hosts(self):
        path = self.write(self.config_text())
        fields, out = self.report("example.org", path)
        self.assertIn("failed for now", fields["mx lookup"], out)
        self.assertIn("451 4.4.3", fields["mx lookup"], out)
        self.assertNotIn("mx 1", fields, out)

    def test_transparent_mode_names_the_original_destination_as_next_hop(self):
        path = self.write(self.config_text(outbound='mode = "transparent"\n'))
        fields, _ = self.report("example.org", path)
        self.assertEqual(fields["next hop"],
                         "the address each redirected connection was going to (transparent mode), named after the "
                         "MX host of example.org that has it, else the address itself; a connection that was not "
                         "redirected: the MX hosts of example.org, port 25")
        r = self.run_policy("example.org", path)
        self.assertNotIn("warning", r.stderr, "transparent mode is no longer a warning")

    def test_relay_port_is_shown(self):
        path = self.write(self.config_text(outbound="port = 2525\n"))
        fields, _ = self.report("example.org", path)
        self.assertEqual(fields["next hop"], "the MX hosts of example.org, port 2525")

    def test_mta_sts_says_when_nothing_is_cached(self):
        fields, _ = self.report("example.org", self.write(self.config_text()))
        self.assertRegex(fields["mta-sts"], r"^no cached policy")
        disabled = self.write(self.config_text(extra="[mta_sts]\nenabled = false\n"), name="off.toml")
        fields, _ = self.report("example.org", disabled)
        self.assertEqual(fields["mta-sts"], "disabled ([mta_sts] enabled = false)")

    # --- errors ------------------------------------------------------------------------------------
    def test_bad_config_gives_file_line_key_and_exit_2(self):
        text = self.config_text(policy='[policy.domain."example.org"]\nlevel = "verfy"\n')
        line = text.splitlines().index('level = "verfy"') + 1
        path = self.write(text)
        r = self.run_policy("example.org", path, expect_status=2)
        self.assertRegex(r.stderr, "^" + re.escape(f'{path}:{line}: policy.domain."example.org".level: ') + r"\S")
        self.assertEqual(r.stdout, "")

    def test_unknown_key_gives_file_line_key_and_exit_2(self):
        path = self.write(self.config_text(outbound="alow = []\n"))
        r = self.run_policy("example.org", path, expect_status=2)
        self.assertRegex(r.stderr, re.escape(path) + r":\d+: outbound\.alow: ")
        self.assertEqual(r.stdout, "")

    def test_unreadable_config_exits_2(self):
        path = os.path.join(self.tmp, "missing.toml")
        r = self.run_policy("example.org", path, expect_status=2)
        self.assertIn(path, r.stderr)

    def test_a_domain_that_is_not_one_exits_2(self):
        path = self.write(self.config_text())
        for bad, why in (("192.0.2.1", "looks like an IP address"), ("a..b", "empty label"),
                         ("bad domain", "is not a domain name")):
            r = self.run_policy(bad, path, expect_status=2)
            self.assertIn(why, r.stderr)
            self.assertEqual(r.stdout, "")


if __name__ == "__main__":
    unittest.main()

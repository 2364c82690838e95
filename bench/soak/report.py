#!/usr/bin/env python3
"""The soak's figures and verdict (bench/soak.sh writes the run directory, this reads it).

Reads samples.csv (one row per 10 s: RSS and descriptors of mxguard and its mxguard-fetch children), the
load generators' and the soak clients' JSON reports, the sinks' counters, mxguard's audit log, the
policy host's request log and the shell's own checks (exit status, sanitizer reports, the state at
rest), prints the table and the verdict, and exits 1 when anything failed: a session, a cross-check of
counts, growth beyond the tolerance after the warm-up, a leak report, a crash.
"""
import argparse
import csv
import json
import math
import os
import sys


def fit_per_10_min(points):
    """Least-squares slope of (t seconds, value) in value per 600 s and its standard error (from the
    residuals: how much the samples scatter around the line); (None, None) with fewer than 3 points."""
    if len(points) < 3:
        return None, None
    n = len(points)
    mt = sum(t for t, _ in points) / n
    mv = sum(v for _, v in points) / n
    sxx = sum((t - mt) ** 2 for t, _ in points)
    if sxx == 0:
        return None, None
    b = sum((t - mt) * (v - mv) for t, v in points) / sxx
    residuals = sum((v - mv - b * (t - mt)) ** 2 for t, v in points)
    return b * 600, math.sqrt(residuals / (n - 2) / sxx) * 600


def slope_per_10_min(points):
    return fit_per_10_min(points)[0]


class Checks:
    def __init__(self):
        self.failed = []

    def require(self, ok, what):
        if not ok:
            self.failed.append(what)
        return ok


def load_json(path, checks):
    """The report in `path`, or None (a failed check) when a process died before writing it."""
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        checks.require(False, f"{os.path.basename(path)}: {e}")
        return None


def audit_events(path):
    events = []
    with open(path) as f:
        for line in f:
            if line.strip():
                events.append(json.loads(line))
    return events




def cross_checks(args, d, lg, cl, drain, sinks, checks):
    """What the sinks received and the audit log says against what the clients did."""
    inbound_msgs = sum(r["messages"] for k, r in lg.items() if k.startswith("inbound"))
    outbound_msgs = sum(r["messages"] for k, r in lg.items() if k.startswith("outbound"))
    drained_in = drain["kinds"]["drain-inbound"]["ok"]
    drained_out = drain["kinds"]["drain-outbound"]["ok"]
    injected_ok = cl["kinds"]["injection"]["ok"]
    refused_ok = cl["kinds"]["refused"]["ok"]
    events = audit_events(os.path.join(d, "audit.jsonl"))
    by = {}
    for e in events:
        by.setdefault(e.get("event"), []).append(e)
    starttls = {}
    for e in by.get("starttls", []):
        starttls[e.get("verdict")] = starttls.get(e.get("verdict"), 0) + 1
    print("\nserver side:")
    expected_in = inbound_msgs + injected_ok + drained_in
    print(f"  backend (plaintext sink): {sinks['backend']['messages']} messages (expected {expected_in}: "
          f"{inbound_msgs} from the load generators, {injected_ok} after an injection, {drained_in} in the drain)")
    checks.require(sinks["backend"]["messages"] == expected_in,
                   f"the backend has {sinks['backend']['messages']} messages, {expected_in} expected")
    expected_out = outbound_msgs + drained_out
    print(f"  MX (STARTTLS sink): {sinks['mx']['messages']} messages (expected {expected_out}: {outbound_msgs} "
          f"from the load generators, {drained_out} in the drain), {sinks['mx']['connections']} connections, "
          f"TLS: {sinks['mx'].get('tls', {})}")
    checks.require(sinks["mx"]["messages"] == expected_out,
                   f"the MX has {sinks['mx']['messages']} messages, {expected_out} expected")
    print(f"  MX without STARTTLS ({args.refused_domain}): {sinks['plain-mx']['connections']} connections, "
          f"{sinks['plain-mx']['messages']} messages (expected none)")
    checks.require(sinks["plain-mx"]["messages"] == 0, "mail reached the MX without STARTTLS")
    print(f"  audit, inbound starttls: {', '.join(f'{v} {n}' for v, n in sorted(starttls.items()))}")
    inj = len(by.get("plaintext-injection", []))
    print(f"  audit, plaintext-injection: {inj} (expected {injected_ok})")
    checks.require(inj == injected_ok, f"{inj} plaintext-injection events, {injected_ok} expected")
    policy = {}
    for e in by.get("tls-policy", []):
        key = (e.get("domain"), e.get("policy_source"), e.get("verdict"), e.get("reason", ""))
        policy[key] = policy.get(key, 0) + 1
    for (domain, source, verdict, reason), n in sorted(policy.items()):
        print(f"  audit, tls-policy {domain} ({source}): {n} {verdict}{' ' + reason if reason else ''}")
    refused = sum(n for (dom, _, v, _r), n in policy.items() if dom == args.refused_domain and v == "refused")
    checks.require(refused == refused_ok, f"{refused} refusals of {args.refused_domain} audited, {refused_ok} expected")
    wrong = [k for k in policy if (k[0] == args.refused_domain) != (k[2] == "refused")]
    checks.require(not wrong, f"unexpected tls-policy verdicts: {wrong}")
    if args.sts_domain:
        checks.require(all(k[1] == "mta-sts" for k in policy if k[0] == args.sts_domain),
                       f"{args.sts_domain} was not decided by its MTA-STS policy every time")
        fetches = by.get("mta-sts-fetch", [])
        ok = sum(1 for e in fetches if e.get("verdict") == "fetched")
        with open(os.path.join(d, "policy-server.log")) as f:
            gets = sum(1 for line in f if line.startswith("GET /.well-known/mta-sts.txt"))
        print(f"  audit, mta-sts-fetch: {ok} fetched, {len(fetches) - ok} failed; the policy host served {gets}")
        checks.require(ok > 0 and ok == len(fetches), f"MTA-STS fetches: {ok} of {len(fetches)} fetched")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dir", required=True, help="the run directory")
    ap.add_argument("--warmup-s", type=float, required=True)
    ap.add_argument("--rss-tolerance-kib", type=float, required=True,
                    help="mxguard's RssAnon slope allowed, KiB per 10 min")
    ap.add_argument("--fetch-rss-tolerance-kib", type=float, required=True,
                    help="each mxguard-fetch's RssAnon slope allowed, KiB per 10 min")
    ap.add_argument("--fd-tolerance", type=float, required=True, help="descriptor slope allowed, per 10 min")
    ap.add_argument("--no-growth-verdict", action="store_true", help="a short run: report the slopes, judge none")
    ap.add_argument("--control", action="store_true", help="mxguard without sanitizers: growth only, no leak check")
    ap.add_argument("--sts-domain", default="", help="the MTA-STS domain, when the DNS part ran")
    ap.add_argument("--refused-domain", required=True)
    ap.add_argument("--workers", type=int, default=2, help="mxguard's worker loops")
    args = ap.parse_args()
    d = args.dir
    checks = Checks()

    # --- memory and descriptors --------------------------------------------------------------------------
    with open(os.path.join(d, "samples.csv")) as f:
        rows = [r for r in csv.DictReader(f)]
    traffic = [r for r in rows if r["phase"] == "traffic"]
    after = [r for r in traffic if float(r["t_s"]) >= args.warmup_s]
    before = [r for r in traffic if float(r["t_s"]) < args.warmup_s]
    print(f"samples: {len(traffic)} under traffic every 10 s, {len(before)} in the warm-up "
          f"(first {args.warmup_s:.0f} s), {len(after)} after it; * = judged")
    print(f"{'':46}{'warm-up end':>12}{'min':>10}{'max':>10}{'last':>10}{'slope/10 min':>14}{'+-':>8}")
    growth = []   # (what, slope, tolerance, unit)

    def row(label, samples, key, tolerance=None, unit="", warm="-"):
        values = [float(r[key]) for r in samples]
        s, se = fit_per_10_min([(float(r["t_s"]), float(r[key])) for r in samples])
        print(f"{label:46}{warm:>12}{min(values):>10.0f}{max(values):>10.0f}{values[-1]:>10.0f}"
              f"{'-' if s is None else f'{s:+.1f}':>14}{'-' if se is None else f'{se:.1f}':>8}")
        if tolerance is not None:
            growth.append((label.strip(" *"), s, tolerance, unit))

    if after:
        warm = before[-1] if before else {}
        for label, key, tol, unit in (("mxguard: VmRSS KiB", "mxguard_rss_kib", None, ""),
                                      ("* mxguard: RssAnon KiB (heap, shadow, stacks)", "mxguard_anon_kib",
                                       args.rss_tolerance_kib, "KiB"),
                                      ("* mxguard: descriptors", "mxguard_fds", args.fd_tolerance, "descriptors")):
            row(label, after, key, tol, unit, warm.get(key, "-"))
        # Each mxguard-fetch on its own samples after the warm-up, its first minute left out (its first
        # fetch fills its quarantine): a fetcher that starts late is a new process, not growth.
        with open(os.path.join(d, "fetch-samples.csv")) as f:
            fetch_rows = [r for r in csv.DictReader(f) if r["phase"] == "traffic"]
        for pid in sorted({r["pid"] for r in fetch_rows}, key=int):
            mine = [r for r in fetch_rows if r["pid"] == pid]
            born = float(mine[0]["t_s"])
            judged = [r for r in mine if float(r["t_s"]) >= max(args.warmup_s, born + 60)]
            if len(judged) < 6:
                print(f"  mxguard-fetch {pid}: {len(judged)} samples after its first minute and the warm-up: "
                      "not judged")
                continue
            row(f"* mxguard-fetch {pid}: RssAnon KiB", judged, "anon_kib", args.fetch_rss_tolerance_kib, "KiB")
            row(f"* mxguard-fetch {pid}: descriptors", judged, "fds", args.fd_tolerance, "descriptors")
        for label, key in (("mxguard + mxguard-fetch: VmRSS KiB", "rss_kib"),
                           ("mxguard + mxguard-fetch: descriptors", "fds"), ("mxguard-fetch processes", "fetch_procs"),
                           ("sessions active (metrics)", "sessions_active")):
            if all(r[key] != "-" for r in after):
                row(label, after, key, None, "", warm.get(key, "-"))
    if len(traffic) >= 2:
        span = float(traffic[-1]["t_s"]) - float(traffic[0]["t_s"])
        cpu = float(traffic[-1]["cpu_s"]) - float(traffic[0]["cpu_s"])
        loads = [float(r["load1"]) for r in traffic]
        print(f"mxguard's CPU time under traffic: {cpu / span * 100 if span else 0:.1f}% of one core; 1-minute load "
              f"average over the samples {min(loads):.2f} to {max(loads):.2f}")
    rest = {r["phase"]: r for r in rows if r["phase"].startswith("rest")}
    if "rest-before" in rest and "rest-after" in rest:
        b, a = rest["rest-before"], rest["rest-after"]
        for name, r in (("before", b), ("after", a)):
            print(f"at rest {name} the traffic: VmRSS {r['rss_kib']} KiB, {r['fds']} descriptors "
                  f"({r['mxguard_fds']} of mxguard's own, {r['mxguard_null_fds']} of them /dev/null; "
                  f"{r['fetch_procs']} fetcher(s)), {r['sessions_active']} sessions active")
        # Each mxguard-fetch child started meanwhile is one end of a socketpair in mxguard, and libuv opens
        # /dev/null once per loop, at the loop's first TCP handle (its reserve for EMFILE): a worker that
        # had no connection before the traffic has one after it. Nothing else may stay open.
        extra = max(int(a["fetch_procs"]) - int(b["fetch_procs"]), 0)
        other = ((int(a["mxguard_fds"]) - int(a["mxguard_null_fds"]))
                 - (int(b["mxguard_fds"]) - int(b["mxguard_null_fds"])))
        nulls = int(a["mxguard_null_fds"]) - int(b["mxguard_null_fds"])
        checks.require(other <= extra, f"mxguard holds {other} more descriptors (other than /dev/null) at rest "
                       f"after the traffic than before ({extra} new fetcher(s) account for {extra})")
        checks.require(nulls <= args.workers, f"mxguard holds {nulls} more /dev/null descriptors at rest after the "
                       f"traffic than before (libuv's reserve: at most one per worker loop, {args.workers})")
        checks.require(a["sessions_active"] in ("0", "-"), f"{a['sessions_active']} sessions active at rest")
    else:
        checks.require(False, "no samples at rest before and after the traffic")

    # --- sessions ----------------------------------------------------------------------------------------
    print("\nsessions (client side):")
    lg = {}
    for name in sorted(os.listdir(d)):
        if name.startswith("loadgen-") and name.endswith(".json") and name != "loadgen-idle.json":
            r = load_json(os.path.join(d, name), checks)
            if r is None:
                continue
            lg[name[len("loadgen-"):-len(".json")]] = r
            skipped = r.get("open_loop", {}).get("skipped_at_cap", 0)
            print(f"  {r['label']:44} {r['completed']:>7} completed {r['failed']:>4} failed "
                  f"{r['messages']:>7} messages   p50 {r['latency']['p50_ms']:.1f} ms  p99 "
                  f"{r['latency']['p99_ms']:.1f} ms"
                  + (f"  ({skipped} arrivals skipped at the cap)" if skipped else ""))
            checks.require(r["completed"] > 0 and r["failed"] == 0,
                           f"{r['label']}: {r['completed']} completed, {r['failed']} failed: {r['failures']}")
    cl = load_json(os.path.join(d, "clients.json"), checks)
    if cl:
        for kind, s in cl["kinds"].items():
            points = ", ".join(f"{p} {n}" for p, n in sorted(s["points"].items()))
            print(f"  {kind:44} {s['ok']:>7} ok        {s['failed']:>4} failed   ({points})")
            checks.require(s["ok"] > 0, f"no {kind} session succeeded")
        checks.require(not cl["failures"], f"soak clients failed: {cl['failures']}")
    idle = load_json(os.path.join(d, "loadgen-idle.json"), checks)
    if idle:
        print(f"  {'idle STARTTLS sessions held through SIGTERM':44} {idle['idle']['established']:>7} set up, "
              f"{idle['idle']['dropped']} ended by mxguard's drain")
        checks.require(idle["idle"]["established"] > 0, "no idle session to drain")

    drain = load_json(os.path.join(d, "drain.json"), checks)
    if drain:
        for kind, s in drain["kinds"].items():
            print(f"  {kind + ', mid-message at SIGTERM':44} {s['ok']:>7} ok        {s['failed']:>4} failed")
            checks.require(s["ok"] > 0, f"no {kind} session delivered its message during the drain")
        checks.require(not drain["failures"], f"sessions held through the drain failed: {drain['failures']}")

    # --- the far sides and the audit log agree with the clients ------------------------------------------
    sinks = {n: load_json(os.path.join(d, f"sink-{n}.json"), checks) for n in ("backend", "mx", "plain-mx")}
    if cl and drain and all(sinks.values()):
        cross_checks(args, d, lg, cl, drain, sinks, checks)

    # --- the shell's own checks: exit, sanitizers ----------------------------------------------------------
    with open(os.path.join(d, "checks.txt")) as f:
        for line in f:
            status, _, what = line.rstrip("\n").partition(" ")
            print(f"  {what}: {'ok' if status == 'ok' else 'FAILED'}")
            checks.require(status == "ok", what)

    # --- what the tolerance means at this run's rate ----------------------------------------------------
    if traffic and cl and all(sinks.values()):
        span = float(traffic[-1]["t_s"])
        total = (sum(r["completed"] + r["failed"] for r in lg.values()) + cl["sessions"]
                 + sinks["mx"]["connections"] + sinks["plain-mx"]["connections"])
        per_10 = total / span * 600 if span else 0
        print(f"\n{total} sessions in all (client sessions of both listeners and mxguard's MX connections), "
              f"{per_10:.0f} per 10 min: mxguard's tolerance of {args.rss_tolerance_kib:g} KiB per 10 min is "
              f"{args.rss_tolerance_kib * 1024 / per_10 if per_10 else 0:.0f} bytes kept per session")
        log = os.path.join(d, "policy-server.log")
        if os.path.exists(log):
            with open(log) as f:
                fetches = sum(1 for line in f if line.startswith("GET /.well-known/mta-sts.txt"))
            per_10 = fetches / span * 600 if span else 0
            if per_10:
                print(f"{fetches} policy fetches, {per_10:.1f} per 10 min: each mxguard-fetch's tolerance of "
                      f"{args.fetch_rss_tolerance_kib:g} KiB per 10 min is {args.fetch_rss_tolerance_kib / per_10:.0f}"
                      f" KiB kept per fetch (or less: the fetches are shared between the fetchers)")

    # --- growth ----------------------------------------------------------------------------------------
    if args.no_growth_verdict:
        print(f"\ngrowth: not judged (a short run); tolerances would be {args.rss_tolerance_kib:g} KiB (mxguard), "
              f"{args.fetch_rss_tolerance_kib:g} KiB (each mxguard-fetch) and {args.fd_tolerance:g} descriptors "
              f"per 10 min")
    elif not growth:
        checks.require(False, "too few samples after the warm-up to judge growth")
    else:
        for what, s, tol, unit in growth:
            if s is None:
                checks.require(False, f"{what}: too few samples after the warm-up for a slope")
            else:
                checks.require(s <= tol,
                               f"{what} grows {s:+.1f} {unit} per 10 min after the warm-up (tolerance {tol:g})")
    print()
    if checks.failed:
        for what in checks.failed:
            print(f"FAILED: {what}")
        print("verdict: FAILED")
        return 1
    print("verdict: ok (" + ("a control without sanitizers, no leak check" if args.control else "no leak report")
          + ", clean exit, every session as expected"
          + ("" if args.no_growth_verdict else ", no growth beyond the tolerance after the warm-up") + ")")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Whether one mxguard-fetch's memory levels off or grows without bound over many fetches.

Starts a real nginx on 127.0.0.1 with the test CA (tests/fixtures/https_server.py) and one mxguard-fetch
the way mxguard does (tests/fixtures/fetcher.py), sends it --fetches requests one after the other (each
as soon as the last was answered) and prints /proc/PID/status RssAnon every --sample-every fetches, for
each scenario asked for:

  same-ok         one policy host, HTTP 200 every time
  distinct-ok     --hosts distinct policy hosts (mta-sts.dN.grow.test, one certificate for all) in turn, 200
  same-404        one policy host, HTTP 404
  refused         one policy host on a closed port: connection refused
  tls-fail        one policy host whose certificate names another host: a certificate failure
  distinct-fail   a new policy host name for every fetch (nginx answers with a certificate for another
                  name): what months of different domains do to every per-name cache

Figures only, no verdict: docs/benchmarks.md, "Soak" ("mxguard-fetch over 20,000 fetches").

  bench/fetch_growth.py                                   # every scenario, 20,000 fetches each
  bench/fetch_growth.py --scenario same-ok --scenario distinct-fail --fetches 5000 --csv /tmp/g.csv
  bench/fetch_growth.py --fetcher build-bench/proxy/app/mxguard-fetch --wrapper "heaptrack -o /tmp/ht"

--fetcher defaults to build/proxy/app/mxguard-fetch (build it without sanitizers: their allocator
would be what is measured). Needs nginx and openssl (scripts/install-deps.sh).
"""
import argparse
import os
import shlex
import shutil
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))

from fixtures import ports, procfs  # noqa: E402
from fixtures.fetch_protocol import CERTIFICATE, CONNECT, HTTP, OUTCOME_NAMES, Request  # noqa: E402
from fixtures.fetcher import Fetcher  # noqa: E402
from fixtures.https_server import MtaStsWebServer, Site  # noqa: E402
from fixtures.testca import TestCA  # noqa: E402

SCENARIOS = ["same-ok", "distinct-ok", "same-404", "refused", "tls-fail", "distinct-fail"]


def rss_anon_kib(pid):
    return procfs.status_kib(pid, "RssAnon")


class Bench:
    def __init__(self, directory, hosts):
        self.dir = directory
        self.ca = TestCA(directory)
        shared = self.ca.issue("web-distinct", "mta-sts.d0.grow.test",
                               [f"mta-sts.d{i}.grow.test" for i in range(hosts)])
        sites = [Site("grow.test"), Site("gone.test", status=404),
                 Site("wrongname.test", certificate=self.ca.issue("web-wrong", "mta-sts.other.test"))]
        sites += [Site(f"d{i}.grow.test", certificate=shared) for i in range(hosts)]
        self.hosts = hosts
        self.web = MtaStsWebServer(directory, self.ca, sites).start()
        self.closed_port = ports.free_port()

    def request(self, scenario, n):
        port = self.web.port
        if scenario in ("same-ok", "refused"):
            domain = "grow.test"
            if scenario == "refused":
                port = self.closed_port
        elif scenario == "distinct-ok":
            domain = f"d{n % self.hosts}.grow.test"
        elif scenario == "same-404":
            domain = "gone.test"
        elif scenario == "tls-fail":
            domain = "wrongname.test"
        elif scenario == "distinct-fail":
            domain = f"n{n}.fail.test"   # no server block: nginx's first one answers, with its certificate
        else:
            raise ValueError(scenario)
        return Request(id=n + 1, domain=domain, port=port, addresses=["127.0.0.1"], ca_file=self.ca.cert,
                       connect_timeout_ms=3000, total_timeout_ms=8000)

    def expected(self, scenario):
        return {"same-ok": (HTTP, 200), "distinct-ok": (HTTP, 200), "same-404": (HTTP, 404),
                "refused": (CONNECT, 0), "tls-fail": (CERTIFICATE, 0), "distinct-fail": (CERTIFICATE, 0)}[scenario]

    def run(self, scenario, fetches, sample_every, wrapper, log_dir):
        fetcher = Fetcher(log_dir, name=f"fetch-{scenario}", wrapper=wrapper).start()
        samples = []
        want = self.expected(scenario)
        started = time.monotonic()
        try:
            # The first sample once the fetcher has started (its own log line), before any fetch.
            ports.wait_until(lambda: "started" in fetcher.log(), 30, "mxguard-fetch's start line")
            samples.append((0, rss_anon_kib(fetcher.proc.pid)))
            for n in range(fetches):
                answer = fetcher.fetch(self.request(scenario, n), timeout=30)
                got = (answer.outcome, answer.status)
                if got != want:
                    raise AssertionError(f"{scenario} fetch {n + 1}: {OUTCOME_NAMES.get(answer.outcome)} "
                                         f"{answer.status} {answer.detail!r}, expected {want}")
                fetcher.received.pop(answer.id)   # the driver's own memory stays flat too
                if (n + 1) % sample_every == 0:
                    samples.append((n + 1, rss_anon_kib(fetcher.proc.pid)))
        finally:
            status = fetcher.stop()
        elapsed = time.monotonic() - started
        if status != 0:
            raise AssertionError(f"mxguard-fetch exited with {status}:\n{fetcher.log()[-4000:]}")
        return samples, elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fetcher", default=os.path.join(ROOT, "build", "proxy", "app", "mxguard-fetch"))
    parser.add_argument("--scenario", action="append", choices=SCENARIOS, help="(repeatable) default: all")
    parser.add_argument("--fetches", type=int, default=20000)
    parser.add_argument("--sample-every", type=int, default=1000)
    parser.add_argument("--hosts", type=int, default=500, help="policy hosts of distinct-ok (one certificate)")
    parser.add_argument("--wrapper", default="", help="command line to start mxguard-fetch under, e.g. heaptrack")
    parser.add_argument("--csv", help="also write scenario,fetches,rss_anon_kib rows here")
    parser.add_argument("--keep", action="store_true", help="keep the run directory (logs, nginx files)")
    args = parser.parse_args()
    if not os.access(args.fetcher, os.X_OK):
        sys.exit(f"{args.fetcher}: not an executable (cmake --build build --target mxguard-fetch)")
    os.environ["MXGUARD_FETCH_BIN"] = args.fetcher

    directory = tempfile.mkdtemp(prefix="mxguard-fetch-growth-")
    os.chmod(directory, 0o755)   # nginx's workers (nobody, when run as root) read the site files
    bench = None
    rows = []
    try:
        bench = Bench(directory, args.hosts)
        for scenario in args.scenario or SCENARIOS:
            samples, elapsed = bench.run(scenario, args.fetches, args.sample_every, shlex.split(args.wrapper),
                                         directory)
            first_after_warmup = samples[1][1] if len(samples) > 1 else samples[0][1]
            growth = samples[-1][1] - first_after_warmup
            print(f"{scenario}: {args.fetches} fetches in {elapsed:.1f} s; RssAnon KiB at "
                  + " ".join(f"{n}:{kib}" for n, kib in samples)
                  + f"; {growth:+d} KiB from fetch {samples[1][0] if len(samples) > 1 else 0} to the end",
                  flush=True)
            rows += [(scenario, n, kib) for n, kib in samples]
    finally:
        if bench:
            bench.web.stop()
        if args.keep:
            print(f"run directory: {directory}")
        else:
            shutil.rmtree(directory, ignore_errors=True)
    if args.csv:
        with open(args.csv, "w") as f:
            f.write("scenario,fetches,rss_anon_kib\n")
            f.writelines(f"{s},{n},{k}\n" for s, n, k in rows)


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# mxguard's soak: one mxguard built with AddressSanitizer (LeakSanitizer included) under mixed traffic in
# both directions for a long time, the RSS and descriptors of it and its mxguard-fetch children sampled
# every 10 s; at the end it is stopped with SIGTERM while sessions are held (the drain) and LeakSanitizer's
# report at exit is read. It fails on a leak report, a sanitizer error, an unclean exit or a crash, a
# session that did not go as expected, counts that do not add up, or growth beyond the tolerance after
# the warm-up (least squares over the samples; judged on RssAnon, the process's own memory, not on the
# code pages a new path maps in). Everything is on 127.0.0.1.
# Method and results: docs/benchmarks.md, "Soak".
#
#   bench/soak.sh                  build mxguard with ASan in build-soak/, 30 minutes of traffic, figures
#   bench/soak.sh --smoke          45 s, no growth verdict: no leak, no crash, sessions as expected (ctest)
#
# The traffic, all at once for the whole run (each load generator at --rate sessions/s):
#   inbound   STARTTLS sessions and plaintext pipelined sessions (loadgen) to the plaintext sink backend;
#             plaintext pipelined after STARTTLS, and resets at random points (bench/soak/clients.py)
#   outbound  messages to bench.test (route to the STARTTLS sink, level verify) and, with unbound, to
#             sts.bench.test (the MX by name through unbound, its MTA-STS policy fetched over HTTPS by
#             mxguard-fetch from bench/soak/policy_server.py, again every minute: max_age 60); messages
#             to plain.bench.test, whose MX (a sink without STARTTLS) must be refused under level
#             encrypt (451 4.7.x, audited); resets mid-command, after RCPT, mid-DATA (clients.py)
#
# Options: --minutes N (30; fractions allowed), --warmup-minutes N (a sixth of the run), --rate R (2),
#   --rss-tolerance KIB (mxguard: 1024 per 10 min), --fetch-rss-tolerance KIB (each mxguard-fetch: 512),
#   --fd-tolerance N (1 per 10 min), --no-dns, --out DIR, --no-asan (a control: an mxguard without
#   sanitizers, e.g. build-bench's, to tell ASan's own growth from mxguard's; no leak check then),
#   --mxguard BIN --loadgen BIN --sink BIN (instead of building; mxguard-fetch next to mxguard).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")

# shellcheck source=bench/lib.sh
. "$here/lib.sh"

workers=2 use_dns=1 sanitized=1 minutes=30 warmup_minutes="" rate=2
rss_tolerance=1024 fetch_rss_tolerance=512 fd_tolerance=1
while [ $# -gt 0 ]; do
  case $1 in
    --concurrency|--repeat) unknown_option "$1" ;;   # the benchmarks' options: nothing to repeat here
  esac
  if shared_option "$@"; then shift "$took"; continue; fi
  case $1 in
    --no-dns) use_dns=0 ;;
    --no-asan) sanitized=0 ;;
    --minutes) minutes=$2; shift ;;
    --warmup-minutes) warmup_minutes=$2; shift ;;
    --rate) rate=$2; shift ;;
    --rss-tolerance) rss_tolerance=$2; shift ;;
    --fetch-rss-tolerance) fetch_rss_tolerance=$2; shift ;;
    --fd-tolerance) fd_tolerance=$2; shift ;;
    *) unknown_option "$1" ;;
  esac
  shift
done

if [ $mode = smoke ]; then
  duration_s=45 warmup_s=15
else
  duration_s=$(calc "$minutes * 60" 0)
  warmup_s=$(calc "${warmup_minutes:-$minutes / 6} * 60" 0)
fi
[ "$duration_s" -ge 30 ] || die "--minutes: at least half a minute"
[ "$warmup_s" -lt "$duration_s" ] || die "--warmup-minutes: must be shorter than the run"
unbound_bin=$(command -v unbound || echo /usr/sbin/unbound)
if [ $use_dns = 1 ] && [ ! -x "$unbound_bin" ]; then
  [ $mode = smoke ] || die "unbound is missing (use --no-dns)"
  log "no unbound: no DNS and no MTA-STS in this run"
  use_dns=0
fi

# --- binaries: mxguard with AddressSanitizer ---------------------------------------------------------------
if [ -z "$mxguard_bin" ] || [ -z "$loadgen_bin" ] || [ -z "$sink_bin" ]; then
  build=$root/build-soak
  command -v ccache >/dev/null && export CMAKE_CXX_COMPILER_LAUNCHER=${CMAKE_CXX_COMPILER_LAUNCHER:-ccache}
  log "building mxguard, mxguard-fetch, loadgen and sink with AddressSanitizer in $build"
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMXGUARD_SANITIZE=ON -DMXGUARD_TESTS=OFF \
    -DMXGUARD_BENCH=ON >/dev/null
  cmake --build "$build" -j"$(nproc)" --target mxguard mxguard-fetch loadgen sink >/dev/null
  mxguard_bin=${mxguard_bin:-$build/proxy/app/mxguard}
  loadgen_bin=${loadgen_bin:-$build/bench/loadgen}
  sink_bin=${sink_bin:-$build/bench/sink}
fi
for b in "$mxguard_bin" "$(dirname "$mxguard_bin")/mxguard-fetch" "$loadgen_bin" "$sink_bin"; do
  [ -x "$b" ] || die "not an executable: $b"
done
if [ $sanitized = 1 ]; then
  ldd "$mxguard_bin" | grep -q libasan ||
    die "$mxguard_bin is not built with AddressSanitizer (-DMXGUARD_SANITIZE=ON): the leak check needs it" \
      "(or --no-asan)"
fi

# --- the scene -------------------------------------------------------------------------------------------
make_workdir /tmp/mxguard-soak.XXXXXX
chmod 755 "$work"   # mxguard-fetch runs as nobody and reads the CA file
: >"$work/checks.txt"
# The quarantine (freed memory ASan holds back to catch use-after-free) is 256 MiB by default, and filling
# it looks like growth: at 16 MiB mxguard's fills in seconds, but an mxguard-fetch frees about 1 MiB per
# policy fetch, and with a fetch a minute shared by two fetchers theirs were still filling after 30
# minutes. 1 MiB fills at the first fetch (SOAK_ASAN_OPTIONS replaces all of these but log_path). Ten
# frames per allocation stack (not 30) keep the stack depot, which stores every distinct one, small and
# quick to saturate; a leak report still names the allocating function and its callers. Every sanitized
# process of the run writes its reports to asan/asan.PID (world-writable: mxguard-fetch runs as nobody),
# and atexit=1 adds the allocator's statistics at a normal exit, the proof that the exit handlers, among
# them LeakSanitizer's scan, ran. A leak makes the process exit non-zero (abort_on_error).
mkdir -p "$work/asan"
chmod 1777 "$work/asan"
asan_options=detect_leaks=1:abort_on_error=1:quarantine_size_mb=1:thread_local_quarantine_size_kb=64
asan_options+=:malloc_context_size=10:atexit=1
export ASAN_OPTIONS=${SOAK_ASAN_OPTIONS:-$asan_options}:log_path=$work/asan/asan
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
check() { if [ "$1" = ok ]; then echo "ok $2"; else echo "failed $2"; fi >>"$work/checks.txt"; }

ca=$work/ca
# One CA for the run and one leaf for everything that serves TLS: mxguard's inbound listener, the STARTTLS
# sink as MX (mx.bench.test, 127.0.0.1, which the routes name) and the MTA-STS policy host.
make_bench_pki "$ca" leaf "DNS:mx.bench.test,DNS:mta-sts.sts.bench.test,IP:127.0.0.1"

backend_port=$(pick_port) mx_port=$(pick_port) plain_mx_port=$(pick_port) in_port=$(pick_port)
ob_port=$(pick_port) metrics_port=$(pick_port)

sink() {   # NAME PORT [SINK-ARGS...]: a sink with its counters in sink-NAME.json on SIGUSR1
  local name=$1 port=$2; shift 2
  "$sink_bin" --listen "127.0.0.1:$port" --stats "$work/sink-$name.json" "$@" >"$work/sink-$name.log" 2>&1 &
  sink_pid[$name]=$!; started+=("$!")
  wait_listening "$port" "$!" "sink-$name"
}
declare -A sink_pid
sink backend "$backend_port"
sink mx "$mx_port" --tls-chain "$ca/leaf.chain.crt" --tls-key "$ca/leaf.key"
sink plain-mx "$plain_mx_port"   # an MX that offers no STARTTLS

if [ $use_dns = 1 ]; then
  dns_port=$(pick_port) https_port=$(pick_port)
  write_unbound_conf "$work/unbound" "$dns_port" "mta-sts.sts.bench.test. 300 IN A 127.0.0.1" \
    '_mta-sts.sts.bench.test. 300 IN TXT "v=STSv1; id=soak1"'
  "$unbound_bin" -d -c "$work/unbound/unbound.conf" >"$work/unbound.log" 2>&1 &
  dns_pid=$!; started+=("$dns_pid")
  wait_listening "$dns_port" "$dns_pid" unbound
  # max_age 60: the cache refreshes the policy from 45 s on, so mxguard-fetch works throughout the run.
  python3 "$here/soak/policy_server.py" --listen "127.0.0.1:$https_port" --cert "$ca/leaf.chain.crt" \
    --key "$ca/leaf.key" --policy 'version: STSv1\nmode: enforce\nmx: mx.bench.test\nmax_age: 60\n' \
    >"$work/policy-server.log" 2>"$work/policy-server.err" &
  policy_pid=$!; started+=("$policy_pid")
  wait_listening "$https_port" "$policy_pid" policy-server "$work/policy-server.err"
fi

mkdir -p "$work/state"
{
  cat <<TOML
# Written by bench/soak.sh: both directions in one mxguard, two workers, limits out of the way.
[server]
hostname = "mx.bench.test"
workers = $workers
state_dir = "$work/state"
log_level = "warn"
shutdown_grace = "5s"

[inbound]
listen = ["127.0.0.1:$in_port"]
backend = "127.0.0.1:$backend_port"

[[inbound.certificate]]
cert = "$ca/leaf.chain.crt"
key = "$ca/leaf.key"

[inbound.limits]
max_connections = 4000
max_connections_per_ip = 4000

[outbound]
listen = ["127.0.0.1:$ob_port"]
ca_file = "$ca/ca.crt"

[outbound.limits]
max_connections = 4000
max_connections_per_ip = 4000

[outbound.route]
"bench.test" = "127.0.0.1:$mx_port"
"plain.bench.test" = "127.0.0.1:$plain_mx_port"
TOML
  if [ $use_dns = 1 ]; then echo "\"sts.bench.test\" = \"mx.bench.test:$mx_port\""; fi
  cat <<TOML

[policy]
default = "verify"

[policy.domain."bench.test"]
level = "verify"

[policy.domain."plain.bench.test"]
level = "encrypt"

[metrics]
listen = "127.0.0.1:$metrics_port"

[audit]
path = "$work/audit.jsonl"

[mta_sts]
cache_file = "$work/state/mta-sts.cache"
ca_file = "$ca/ca.crt"
TOML
  if [ $use_dns = 1 ]; then
    printf 'https_port = %s\nfetch_timeout = 10\n\n[dns]\nservers = ["127.0.0.1:%s"]\n' "$https_port" "$dns_port"
  else
    echo "enabled = false"
  fi
} >"$work/mxguard.toml"
"$mxguard_bin" check-config --config "$work/mxguard.toml" >"$work/check-config.log" 2>&1 ||
  die "mxguard check-config refused $work/mxguard.toml: $(cat "$work/check-config.log")"
"$mxguard_bin" run --config "$work/mxguard.toml" >"$work/mxguard.log" 2>&1 &
mx_pid=$!; started+=("$mx_pid")
for p in "$in_port" "$ob_port" "$metrics_port"; do wait_listening "$p" "$mx_pid" mxguard; done

# --- sampling --------------------------------------------------------------------------------------------
# VmRSS, and its anonymous part (RssAnon: heap, ASan's shadow and bookkeeping, stacks) apart from the
# file-backed pages of the executable and its libraries, which grow as code runs for the first time and
# can never exceed the files. Every figure of a process is read without failing: a fetcher may exit.
proc_figures() {   # PID: "VmRSS-kB RssAnon-kB descriptors /dev/null-descriptors", zeros when it is gone
  local k v _ rss=0 anon=0 fds null
  { while read -r k v _; do
      case $k in VmRSS:) rss=$v ;; RssAnon:) anon=$v ;; esac
    done <"/proc/$1/status"; } 2>/dev/null || true
  fds=$(find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l) || true
  null=$(find "/proc/$1/fd" -mindepth 1 -maxdepth 1 -lname /dev/null 2>/dev/null | wc -l) || true
  echo "$rss $anon ${fds:-0} ${null:-0}"
}
sessions_active() {
  curl -s --max-time 5 "http://127.0.0.1:$metrics_port/metrics" 2>/dev/null |
    awk '/^mxguard_sessions_active/ { s += $2; f = 1 } END { if (f) print s; else print "-" }' || echo -
}
{ printf 'phase,t_s,mxguard_rss_kib,mxguard_anon_kib,mxguard_fds,mxguard_null_fds,'
  echo 'fetch_procs,fetch_rss_kib,fetch_anon_kib,fetch_fds,rss_kib,fds,sessions_active,cpu_s,load1'; } >"$work/samples.csv"
echo "phase,t_s,pid,rss_kib,anon_kib,fds" >"$work/fetch-samples.csv"
: >"$work/fetch-pids"
sample() {   # PHASE T: one row for mxguard and its mxguard-fetch children together, one per child
  local rss anon fds null frss=0 fanon=0 ffds=0 n=0 c r a f _
  read -r rss anon fds null < <(proc_figures "$mx_pid")
  for c in $(ps -o pid= --ppid "$mx_pid" 2>/dev/null || true); do
    read -r r a f _ < <(proc_figures "$c")
    echo "$1,$2,$c,$r,$a,$f" >>"$work/fetch-samples.csv"
    frss=$((frss + r)) fanon=$((fanon + a)) ffds=$((ffds + f)) n=$((n + 1))
    grep -qx "$c" "$work/fetch-pids" || echo "$c" >>"$work/fetch-pids"
  done
  echo "$1,$2,$rss,$anon,$fds,$null,$n,$frss,$fanon,$ffds,$((rss + frss)),$((fds + ffds)),$(sessions_active)," \
    "$(calc "$(cpu_ticks "$mx_pid") / $hz" 2),$(cut -d' ' -f1 /proc/loadavg)" | tr -d ' ' >>"$work/samples.csv"
}

# --- the traffic -----------------------------------------------------------------------------------------
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)
log "results and logs in $work; $duration_s s of traffic, warm-up $warmup_s s; load average $load_at_start"
sleep 1
sample rest-before 0

generators=()
loadgen() {   # LABEL LOADGEN-ARGS...
  local label=$1; shift
  "$loadgen_bin" --label "$label" --json -d "$duration_s" --rate "$rate" -c 8 "$@" \
    >"$work/loadgen-$label.json" 2>"$work/loadgen-$label.err" &
  generators+=("$!"); started+=("$!")
}
loadgen inbound-starttls --target "127.0.0.1:$in_port"
loadgen inbound-plain-pipelined --target "127.0.0.1:$in_port" --plain --pipelining
loadgen outbound-verify-bench.test --target "127.0.0.1:$ob_port" --plain --pipelining -m 2 --rcpt-domain bench.test
if [ $use_dns = 1 ]; then
  loadgen outbound-mta-sts-sts.bench.test --target "127.0.0.1:$ob_port" --plain --pipelining -m 2 \
    --rcpt-domain sts.bench.test
fi
python3 "$here/soak/clients.py" --inbound "127.0.0.1:$in_port" --outbound "127.0.0.1:$ob_port" \
  --refused-domain plain.bench.test --duration "$duration_s" --rate "$rate" --json "$work/clients.json" \
  >"$work/clients.log" 2>&1 &
generators+=("$!"); started+=("$!")

t0=$(date +%s%N) next=10 crashed=0
while :; do
  alive=0
  for p in "${generators[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
  [ $alive = 1 ] || break
  if ! kill -0 "$mx_pid" 2>/dev/null; then
    crashed=1
    for p in "${generators[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    break
  fi
  t=$(( ($(date +%s%N) - t0) / 1000000000 ))
  if [ "$t" -ge "$next" ]; then
    sample traffic "$t"
    next=$((next + 10))
    if [ $((next % 300)) = 0 ]; then log "$t s: $(tail -1 "$work/samples.csv")"; fi
  fi
  sleep 1
done
for p in "${generators[@]}"; do wait "$p" || true; forget "$p"; done
if [ $crashed = 1 ] || ! kill -0 "$mx_pid" 2>/dev/null; then
  check failed "mxguard alive throughout the traffic (it died; see $work/mxguard.log)"
  rc=0; wait "$mx_pid" || rc=$?
  check failed "mxguard exit status $rc"
else
  check ok "mxguard alive throughout the traffic"
  sleep 3   # the last sessions' connections close (MX connections after their QUIT)
  sample rest-after "$(( ($(date +%s%N) - t0) / 1000000000 ))"

  # --- the drain: SIGTERM while sessions are held ------------------------------------------------------------
  # Idle TLS sessions (mxguard ends them at once), and sessions halfway through a message in both
  # directions, which finish it during shutdown_grace (5 s): their messages must arrive all the same.
  "$loadgen_bin" --target "127.0.0.1:$in_port" --label idle --json --idle 10 -c 10 --ready-file "$work/idle.ready" \
    >"$work/loadgen-idle.json" 2>"$work/loadgen-idle.err" &
  idle_pid=$!; started+=("$idle_pid")
  python3 "$here/soak/clients.py" --inbound "127.0.0.1:$in_port" --outbound "127.0.0.1:$ob_port" --drain 3 \
    --ready-file "$work/drain.ready" --json "$work/drain.json" >"$work/drain.log" 2>&1 &
  drain_pid=$!; started+=("$drain_pid")
  for _ in $(seq 300); do
    { [ -f "$work/idle.ready" ] || ! kill -0 $idle_pid 2>/dev/null; } &&
      { [ -f "$work/drain.ready" ] || ! kill -0 $drain_pid 2>/dev/null; } && break
    sleep 0.1
  done
  stop_start=$(date +%s)
  kill -TERM "$mx_pid"
  sleep 1
  kill -USR1 "$drain_pid" 2>/dev/null || true
  # The held messages end, then LeakSanitizer scans the heap at exit.
  for _ in $(seq 600); do kill -0 "$mx_pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$mx_pid" 2>/dev/null; then
    kill -KILL "$mx_pid"
    check failed "mxguard exits within 60 s of SIGTERM"
  fi
  rc=0; wait "$mx_pid" || rc=$?
  forget "$mx_pid"
  check "$([ $rc = 0 ] && echo ok || echo failed)" \
    "mxguard exit status 0 after SIGTERM and the drain (got $rc, in $(( $(date +%s) - stop_start )) s)"
  kill -TERM "$idle_pid" 2>/dev/null || true
  wait "$idle_pid" || true
  forget "$idle_pid"
  wait "$drain_pid" || true
  forget "$drain_pid"
fi

# The sinks' counters, then their own clean exit.
for name in "${!sink_pid[@]}"; do
  rm -f "$work/sink-$name.json"
  kill -USR1 "${sink_pid[$name]}"
  for _ in $(seq 200); do [ -f "$work/sink-$name.json" ] && break; sleep 0.05; done
  kill -TERM "${sink_pid[$name]}"
  rc=0; wait "${sink_pid[$name]}" || rc=$?
  forget "${sink_pid[$name]}"
  check "$([ $rc = 0 ] && echo ok || echo failed)" "sink $name exit status 0 (got $rc)"
done
cleanup   # unbound and the policy host
started=()

# Sanitizer reports anywhere (UBSan's go to stderr), LeakSanitizer unable to run at all (it needs ptrace),
# which would make its silence mean nothing, and mxguard's exit statistics, without which it did not scan.
sanitizer_error='ERROR: (Address|Leak)Sanitizer|runtime error:|LeakSanitizer has encountered|Sanitizer CHECK failed'
reports=$(grep -lE "$sanitizer_error" \
  "$work"/*.log "$work"/*.err "$work"/asan/asan.* 2>/dev/null || true)
check "$([ -z "$reports" ] && echo ok || echo failed)" "no sanitizer report${reports:+ (see: $reports)}"
for p in "$mx_pid" $(cat "$work/fetch-pids"); do
  [ $sanitized = 1 ] || break
  name=mxguard; [ "$p" = "$mx_pid" ] || name="mxguard-fetch $p"
  if grep -q 'AddressSanitizer exit stats' "$work/asan/asan.$p" 2>/dev/null; then
    check ok "$name completed its exit handlers (LeakSanitizer's scan among them)"
  else
    check failed "$name completed its exit handlers (no exit statistics in $work/asan/asan.$p)"
  fi
done

load_at_end=$(cut -d' ' -f1-3 /proc/loadavg)
verdict=0
{
  echo "mxguard soak, $(date -u +%Y-%m-%dT%H:%MZ): $(nproc) CPUs ($(cpu_model)), Linux $(uname -r)," \
    "shared with other work: load average at the start $load_at_start, at the end $load_at_end"
  if [ $sanitized = 1 ]; then
    echo "$duration_s s of traffic at $rate sessions/s per generator (warm-up: the first $warmup_s s)," \
      "$mxguard_bin (AddressSanitizer), ASAN_OPTIONS=$ASAN_OPTIONS"
  else
    echo "$duration_s s of traffic at $rate sessions/s per generator (warm-up: the first $warmup_s s)," \
      "$mxguard_bin WITHOUT sanitizers (--no-asan): a control for the growth figures, no leak check"
  fi
  sts_args=()
  [ $use_dns = 1 ] && sts_args=(--sts-domain sts.bench.test)
  growth_args=()
  [ $mode = smoke ] && growth_args=(--no-growth-verdict)
  [ $sanitized = 1 ] || growth_args+=(--control)
  python3 "$here/soak/report.py" --dir "$work" --warmup-s "$warmup_s" --rss-tolerance-kib "$rss_tolerance" \
    --fetch-rss-tolerance-kib "$fetch_rss_tolerance" \
    --fd-tolerance "$fd_tolerance" --refused-domain plain.bench.test --workers "$workers" \
    "${sts_args[@]}" "${growth_args[@]}"
} | tee "$work/summary.txt" || verdict=$?
log "summary in $work/summary.txt, samples in $work/samples.csv"
if [ "$verdict" -eq 0 ] && [ $mode = smoke ] && [ -z "$out" ]; then rm -rf "$work"; fi
exit "$verdict"

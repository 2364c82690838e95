#!/usr/bin/env bash
# mxguard's outbound benchmark (bench/run.sh --outbound runs it): the load generator, as the legacy MTA,
# hands plaintext mail to a relay that must deliver it with STARTTLS and a verified certificate (level
# verify) to the MX, which is bench/sink with STARTTLS. The relays: mxguard's outbound listener (one
# worker) and a private Postfix configured as the same relay (bench/postfix-relay.sh). Each relay is pinned
# to CPU 0; the load generator, the sink and the DNS server run on CPU 1. Everything is on 127.0.0.0/8.
# Method and results: docs/benchmarks.md, "Outbound".
#
#   bench/outbound.sh            build in Release, measure, print figures (about 4 minutes)
#   bench/outbound.sh --smoke    a few dozen messages through each relay and policy variant, no figures
#
# The domains (mxguard's [outbound.route], Postfix's transport_maps), all to the one MX:
#   bench.test       route to the address 127.0.0.1:MX, [policy.domain] level verify: mxguard and Postfix
#   dns.bench.test   route to mx.bench.test:MX (an A lookup per message), level verify pinned    (mxguard)
#   sts.bench.test   the same route, no [policy.domain] entry: an MTA-STS policy in enforce mode from a
#                    warm cache (written before mxguard starts) decides                       (mxguard)
#
# Options: --mxguard BIN --loadgen BIN --sink BIN (instead of building), --no-postfix, --no-dns,
#   --messages N (per throughput run), --concurrency N, --per-session N (messages per client session),
#   --size BYTES, --repeat N (runs per relay and variant, alternating; medians are shown), --out DIR.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")

# shellcheck source=bench/lib.sh
. "$here/lib.sh"
# shellcheck source=bench/postfix-relay.sh
. "$here/postfix-relay.sh"

use_postfix=1 use_dns=1
messages=5000 concurrency=50 per_session=10 size=4096 repeat=3
latency_messages=400 latency_concurrency=4 syscall_messages=1000 profile_messages=3000
while [ $# -gt 0 ]; do
  if shared_option "$@"; then shift "$took"; continue; fi
  case $1 in
    --no-postfix) use_postfix=0 ;;
    --no-dns) use_dns=0 ;;
    --messages) messages=$2; shift ;;
    --per-session) per_session=$2; shift ;;
    --size) size=$2; shift ;;
    *) unknown_option "$1" ;;
  esac
  shift
done

# --- packages --------------------------------------------------------------------------------------------
[ $mode = full ] && install_bench_tools   # postfix and unbound are among the test dependencies
if [ $use_postfix = 1 ] && { [ "$(id -u)" -ne 0 ] || ! command -v postfix >/dev/null; }; then
  [ $mode = smoke ] || die "Postfix needs root and the postfix package (use --no-postfix)"
  log "no Postfix (or not root): smoke-testing mxguard only"
  use_postfix=0
fi
unbound_bin=$(command -v unbound || echo /usr/sbin/unbound)
if [ $use_dns = 1 ] && [ ! -x "$unbound_bin" ]; then
  [ $mode = smoke ] || die "unbound is missing (use --no-dns)"
  log "no unbound: smoke-testing the route to an address only"
  use_dns=0
fi

# --- binaries --------------------------------------------------------------------------------------------
build_binaries mxguard mxguard-fetch loadgen sink

# --- the scene -------------------------------------------------------------------------------------------
make_workdir /tmp/mxguard-bench-out.XXXXXX
chmod 755 "$work"   # Postfix's daemons (user postfix) walk into it
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

pin_cpus
# This script's own polling (and every helper it runs) stays off the relay's CPU too.
[ ${#client_pin[@]} -gt 0 ] && taskset -cp 1 $$ >/dev/null

# The benchmark's CA and the MX's certificate (ECDSA P-256, as the inbound benchmark's): for the host name
# the routes use and for the address bench.test's route names.
ca=$work/ca
make_bench_pki "$ca" mx "DNS:mx.bench.test,IP:127.0.0.1"

mx_port=$(pick_port) ob_port=$(pick_port) pf_port=$(pick_port)
dns_port=""
domains=(bench.test)

"${client_pin[@]}" "$sink_bin" --listen "127.0.0.1:$mx_port" --tls-chain "$ca/mx.chain.crt" --tls-key "$ca/mx.key" \
  --stamps --stats "$work/sink-stats.json" >"$work/sink.log" 2>&1 &
sink_pid=$!; started+=("$sink_pid")
wait_listening "$mx_port" "$sink_pid" sink

client_pids=("$sink_pid")   # the client side's processes, whose CPU time says who the bottleneck was
if [ $use_dns = 1 ]; then
  dns_port=$(pick_port)
  write_unbound_conf "$work/unbound" "$dns_port" '_mta-sts.sts.bench.test. 300 IN TXT "v=STSv1; id=bench1"'
  "${client_pin[@]}" "$unbound_bin" -d -c "$work/unbound/unbound.conf" >"$work/unbound.log" 2>&1 &
  dns_pid=$!; started+=("$dns_pid")
  wait_listening "$dns_port" "$dns_pid" unbound
  client_pids+=("$dns_pid")
  domains+=(dns.bench.test sts.bench.test)
fi

# mxguard: outbound only, one worker, limits out of the way, its audit log on (one line per message).
mkdir -p "$work/state"
now=$(date +%s)
# The warm MTA-STS cache: fetched a moment ago, enforce, the MX the route names; the TXT record's id is
# the same, so mxguard never fetches during the run (the audit log would show an mta-sts-fetch event).
python3 - "$work/state/mta-sts.cache" "$now" <<'PY'
import json, sys
policy = "version: STSv1\r\nmode: enforce\r\nmx: mx.bench.test\r\nmax_age: 604800\r\n"
entry = {"domain": "sts.bench.test", "id": "bench1", "fetched_at": int(sys.argv[2]), "policy": policy}
with open(sys.argv[1], "w") as f:
    json.dump({"format": "mxguard-mta-sts-cache", "version": 1, "entries": [entry]}, f, indent=2)
PY
chmod 600 "$work/state/mta-sts.cache"
{
  cat <<TOML
# Written by bench/outbound.sh: mxguard as the TLS-enforcing relay, one worker thread.
[server]
hostname = "relay.bench.test"
workers = 1
state_dir = "$work/state"
log_level = "warn"
shutdown_grace = "5s"

[inbound]
enabled = false

[outbound]
listen = ["127.0.0.1:$ob_port"]
ca_file = "$ca/ca.crt"

[outbound.limits]
max_connections = 100000
max_connections_per_ip = 100000

[outbound.route]
"bench.test" = "127.0.0.1:$mx_port"
TOML
  if [ $use_dns = 1 ]; then
    echo "\"dns.bench.test\" = \"mx.bench.test:$mx_port\""
    echo "\"sts.bench.test\" = \"mx.bench.test:$mx_port\""
  fi
  cat <<TOML

[policy]
default = "verify"

[policy.domain."bench.test"]
level = "verify"
TOML
  if [ $use_dns = 1 ]; then
    printf '\n[policy.domain."dns.bench.test"]\nlevel = "verify"\n\n[dns]\nservers = ["127.0.0.1:%s"]\n' "$dns_port"
  fi
  cat <<TOML

[mta_sts]
cache_file = "$work/state/mta-sts.cache"
ca_file = "$ca/ca.crt"

[audit]
path = "$work/audit.jsonl"
TOML
} >"$work/mxguard.toml"
"$mxguard_bin" check-config --config "$work/mxguard.toml" >"$work/check-config.log" 2>&1 ||
  die "mxguard check-config refused $work/mxguard.toml: $(cat "$work/check-config.log")"
"${server_pin[@]}" "$mxguard_bin" run --config "$work/mxguard.toml" >"$work/mxguard.log" 2>&1 &
mx_pid=$!; started+=("$mx_pid")
wait_listening "$ob_port" "$mx_pid" mxguard

relays=(mxguard)
declare -A relay_port=([mxguard]=$ob_port) relay_pid=([mxguard]=$mx_pid)
pf_dir=$work/postfix
if [ $use_postfix = 1 ]; then
  postfix_relay_setup "$pf_dir" "$pf_port" "$mx_port" "$ca/ca.crt" mx.bench.test "$concurrency" bench.test \
    >"$work/postfix-check.log" 2>&1 || die "postfix check failed: $(cat "$work/postfix-check.log")"
  postfix_relay_start "$pf_dir" "${server_pin[@]}" || die "Postfix did not start"
  wait_listening "$pf_port" "$(postfix_relay_master_pid "$pf_dir")" postfix "$pf_dir/maillog"
  relays+=(postfix)
  relay_port[postfix]=$pf_port relay_pid[postfix]=$(postfix_relay_master_pid "$pf_dir")
fi

# --- measuring -------------------------------------------------------------------------------------------
sink_report() {   # the sink's counters and latency window, freshly written to $work/sink-stats.json
  rm -f "$work/sink-stats.json"
  kill -USR1 "$sink_pid"
  for _ in $(seq 200); do [ -f "$work/sink-stats.json" ] && return 0; sleep 0.01; done
  die "the sink wrote no report"
}
sink_window_messages() { sink_report; python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["window"]["messages"])' "$work/sink-stats.json"; }
client_ticks() { local t=0 p; for p in "${client_pids[@]}"; do t=$((t + $(cpu_ticks "$p"))); done; echo "$t"; }

# NAME RELAY DOMAIN LOADGEN-ARGS...: one loadgen run through RELAY, and its end: every accepted message at
# the MX and (Postfix) nothing left in the relay's queue. The relay's CPU time spans the whole of it, so a
# queueing relay's deliveries after the client heard 250 are counted. Sets R_* variables.
run() {
  local name=$1 relay=$2 domain=$3; shift 3
  local pid=${relay_pid[$relay]} port=${relay_port[$relay]} before after cb ca t0 t1 c0b c0s c0b2 c0s2 rc=0 got=0 waited=0
  kill -USR2 "$sink_pid"   # a new latency window
  sleep 0.2
  read -r c0b c0s < <(cpu_stat 0)
  before=$(cpu_ticks "$pid") cb=$(client_ticks) t0=$(date +%s%N)
  "${client_pin[@]}" "$loadgen_bin" --target "127.0.0.1:$port" --label "$name" --json --plain --pipelining --stamp \
    --rcpt-domain "$domain" -m "$per_session" --message-size "$size" "$@" >"$work/$name.json" 2>"$work/$name.err" || rc=$?
  [ -s "$work/$name.json" ] || die "loadgen $name produced no report (exit $rc): $(cat "$work/$name.err")"
  R_accepted=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["messages"])' "$work/$name.json")
  # Every message the relay accepted must reach the MX; a queueing relay may take a while.
  while :; do
    got=$(sink_window_messages)
    if [ "$got" -ge "$R_accepted" ] && { [ "$relay" != postfix ] || [ "$(postfix_relay_queued "$pf_dir")" -eq 0 ]; }; then break; fi
    [ "$waited" -ge 1200 ] && { log "$name: the MX has $got of $R_accepted accepted messages after 120 s"; break; }
    sleep 0.1; waited=$((waited + 1))
  done
  after=$(cpu_ticks "$pid") ca=$(client_ticks) t1=$(date +%s%N)
  read -r c0b2 c0s2 < <(cpu_stat 0)
  read -r _ R_failed R_msgs R_client_rate R_client_p50 R_client_p99 _ R_e2e_rate R_e2e_p50 R_e2e_p99 \
    R_mx_msgs R_loadgen_s < <(python3 - "$work/$name.json" "$work/sink-stats.json" <<'PY'
import json, sys
lg = json.load(open(sys.argv[1])); sk = json.load(open(sys.argv[2]))
w = sk["window"]
e2e = (w["last_ns"] - lg["start_ns"]) / 1e9 if w["messages"] and w["last_ns"] > lg["start_ns"] else 0
print(lg["completed"], lg["failed"], lg["messages"], "%.1f" % lg["messages_per_s"], lg["message_latency"]["p50_ms"],
      lg["message_latency"]["p99_ms"], "%.3f" % e2e, "%.1f" % (lg["messages"] / e2e if e2e else 0),
      w["latency"]["p50_ms"], w["latency"]["p99_ms"], w["messages"], lg["cpu_s"])
PY
)
  cp "$work/sink-stats.json" "$work/$name.sink.json"
  R_ticks=$((after - before))
  R_cpu_us=$( [ "$R_msgs" -gt 0 ] && calc "$R_ticks * 1000000 / $hz / $R_msgs" || echo -)
  # Busy shares over the span the CPU times were taken over (the run, and the wait for its last message).
  local wall; wall=$(calc "($t1 - $t0) / 1e9" 6)
  R_busy=$(calc "$R_ticks / $hz / $wall * 100" 0)
  R_client_busy=$(calc "($R_loadgen_s + ($ca - $cb) / $hz) / $wall * 100" 0)
  # What the rest of the machine took of the relay's CPU meanwhile (other engineers' builds and tests on a
  # shared machine), and what the hypervisor stole from it: the load average cannot say, because the
  # benchmark's own processes (Postfix's hundred) are in it.
  R_others=$(others_pct "$c0b" "$c0b2" "$R_ticks" "$wall")
  R_steal=$(calc "($c0s2 - $c0s) / $hz / $wall * 100" 0)
  if [ "$R_failed" -gt 0 ] || [ $rc -ne 0 ] || [ "$R_mx_msgs" -lt "$R_msgs" ]; then
    log "$name: $R_failed session(s) failed, the MX got $R_mx_msgs of $R_msgs messages: $(failures_of "$work/$name.json")"
    [ $mode = smoke ] && die "$name failed; see $work"
  fi
  return 0
}

# Sessions for N messages ($per_session per session, at least one).
sessions_for() { echo $(( ($1 + per_session - 1) / per_session )); }

# The system calls counted by name. perf needs a descriptor per event and process, and Postfix has a
# hundred or more processes (descriptors are limited to $(ulimit -Hn) here), so not all 360-odd: these,
# and raw_syscalls:sys_enter for the total (the rest shows as "other").
named_syscalls=(read write readv writev pread64 pwrite64 recvfrom sendto recvmsg sendmsg sendmmsg epoll_wait
  epoll_pwait epoll_ctl poll ppoll select pselect6 accept accept4 connect socket shutdown close setsockopt
  getsockopt getsockname getpeername openat newfstatat fstat lseek fcntl ioctl fsync fdatasync rename unlink
  flock getrandom futex clone clone3 wait4 exit_group mmap munmap mprotect madvise brk rt_sigprocmask
  rt_sigaction kill getpid gettid time)
syscall_events() {
  local events=raw_syscalls:sys_enter n dir
  dir=$( [ -d /sys/kernel/tracing/events/syscalls ] && echo /sys/kernel/tracing/events/syscalls ||
    echo /sys/kernel/debug/tracing/events/syscalls)
  for n in "${named_syscalls[@]}"; do [ ! -d "$dir" ] || [ -d "$dir/sys_enter_$n" ] && events+=",syscalls:sys_enter_$n"; done
  echo "$events"
}

# NAME RELAY DOMAIN: system calls per message (perf's syscall tracepoints on the relay's process tree, its
# children forked meanwhile included; else strace -c -f). Sets S_*.
syscalls() {
  local name=$1 relay=$2 domain=$3
  syscalls_start "$name" "${relay_pid[$relay]}" "$(syscall_events)"
  run "$name" "$relay" "$domain" -n "$(sessions_for "$syscall_messages")" -c "$concurrency"
  syscalls_stop "$name" "$R_msgs" 12
}

# NAME RELAY DOMAIN MESSAGES HZ: where the relay's CPU time goes (perf record on the software clock), by
# program and library (P_top), and the share of samples in mxguard's MTA-STS code (P_sts: the agent, the
# shared cache, the overlay; its own instructions only, not the malloc and copies it calls).
profile() {
  local name=$1 relay=$2 domain=$3 n=$4 freq=$5 rec pids
  P_top="(perf not available)" P_sts=-
  command -v perf >/dev/null && perf_works || return 0
  pids=$(tree "${relay_pid[$relay]}" | paste -sd, -)
  perf record -q -e cpu-clock -F "$freq" -p "$pids" -o "$work/$name.perf" >/dev/null 2>&1 &
  rec=$!; started+=("$rec")
  sleep 1
  run "$name" "$relay" "$domain" -n "$(sessions_for "$n")" -c "$concurrency"
  kill -INT $rec 2>/dev/null || true
  wait $rec 2>/dev/null || true
  forget "$rec"
  perf report -i "$work/$name.perf" --stdio --sort comm,dso 2>/dev/null | grep -E '^ +[0-9.]+%' >"$work/$name.profile" || true
  perf report -i "$work/$name.perf" --stdio --sort sym 2>/dev/null | grep -E '^ +[0-9.]+%' >"$work/$name.symbols" || true
  P_top=$(awk 'NR <= 8 { printf "%s%s %s %s", (NR > 1 ? ", " : ""), $1, $2, $3 }' "$work/$name.profile")
  P_sts=$(awk '/mta_sts|MtaSts|SharedCache/ { sub(/%/, "", $1); t += $1 } END { printf "%.2f", t }' "$work/$name.symbols")
}

# The audit log must show every message delivered over TLS under the policy we meant, and no fetch.
check_audit() {   # DOMAIN POLICY-SOURCE MIN-EVENTS
  python3 - "$work/audit.jsonl" "$@" <<'PY'
import json, sys
path, domain, source, least = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
events = [json.loads(l) for l in open(path) if l.strip()]
mine = [e for e in events if e.get("event") == "tls-policy" and e.get("domain") == domain]
bad = [e for e in mine if e.get("verdict") != "delivered" or e.get("policy_source") != source
       or not str(e.get("tls_version", "")).startswith("TLSv1.")]
fetches = [e for e in events if e.get("event") == "mta-sts-fetch"]
if len(mine) < least or bad or fetches:
    sys.exit(f"{domain}: {len(mine)} tls-policy events (expected {least}+ delivered with source {source}); "
             f"first unexpected: {(bad or fetches or [None])[0]}")
PY
}

if [ $mode = smoke ]; then
  smoke_sessions=6 per_session=4   # 24 messages per relay and variant
  for d in "${domains[@]}"; do
    run "mxguard-$d" mxguard "$d" -n $smoke_sessions -c 2
    source=config; [ "$d" = sts.bench.test ] && source=mta-sts
    check_audit "$d" "$source" "$R_msgs" || die "mxguard's audit log for $d is not as expected"
    echo "smoke outbound mxguard $d: $R_msgs messages delivered over TLS (policy from $source)"
  done
  if [ $use_postfix = 1 ]; then
    run postfix-bench.test postfix bench.test -n $smoke_sessions -c 2
    grep -q "status=sent" "$pf_dir/maillog" || die "Postfix logged no delivery; see $pf_dir/maillog"
    echo "smoke outbound postfix bench.test: $R_msgs messages delivered over TLS"
  fi
  stop_cleanly "$mx_pid" "$sink_pid"
  echo "smoke outbound: ok (${relays[*]}; ${domains[*]})"
  cleanup
  stoppers=() started=()
  rm -rf "$work"
  exit 0
fi

load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)
log "results and logs in $work; load average at the start: $load_at_start"
log "warming up"
run mxguard-warmup mxguard bench.test -n 30 -c 10
[ $use_postfix = 1 ] && run postfix-warmup postfix bench.test -n 30 -c 10

# The cases: relay:domain. The relays and variants take turns, $repeat times, so that a change in the
# machine's other load hits all of them.
cases=(mxguard:bench.test)
[ $use_postfix = 1 ] && cases+=(postfix:bench.test)
[ $use_dns = 1 ] && cases+=(mxguard:dns.bench.test mxguard:sts.bench.test)
declare -A cpu e2e_rate client_rate busy client others loads tls lat sys sys_top prof
for ((i = 1; i <= repeat; i++)); do
  for c in "${cases[@]}"; do
    relay=${c%%:*} domain=${c#*:}
    log "$relay $domain: throughput, run $i of $repeat (load average $(cut -d' ' -f1 /proc/loadavg))"
    run "$relay-$domain-$i" "$relay" "$domain" -n "$(sessions_for "$messages")" -c "$concurrency"
    cpu[$c]+="$R_cpu_us " e2e_rate[$c]+="$R_e2e_rate " client_rate[$c]+="$R_client_rate "
    busy[$c]+="$R_busy " client[$c]+="$R_client_busy " others[$c]+="$R_others+$R_steal "
    loads[$c]+="$(cut -d' ' -f1 /proc/loadavg) "
    lat[$c,load50]=$R_e2e_p50 lat[$c,load99]=$R_e2e_p99
  done
done
for c in "${cases[@]}"; do
  relay=${c%%:*} domain=${c#*:}
  log "$relay $domain: latency, system calls"
  run "$relay-$domain-latency" "$relay" "$domain" -n "$(sessions_for "$latency_messages")" -c "$latency_concurrency"
  lat[$c,client50]=$R_client_p50 lat[$c,client99]=$R_client_p99 lat[$c,e2e50]=$R_e2e_p50 lat[$c,e2e99]=$R_e2e_p99
  tls[$c]=$(python3 -c 'import json,sys; print("; ".join(f"{n} x {k}" for k, n in json.load(open(sys.argv[1]))["tls"].items()))' "$work/$relay-$domain-latency.sink.json")
  sleep 1
  syscalls "$relay-$domain-syscalls" "$relay" "$domain"
  sys[$c]=$S_per sys_top[$c]=$S_top
done
for c in mxguard:bench.test postfix:bench.test; do
  [ -n "${relay_port[${c%%:*}]:-}" ] || continue
  log "${c%%:*}: profile"
  profile "${c%%:*}-profile" "${c%%:*}" bench.test "$profile_messages" 2000
  prof[$c]=$P_top
done
if [ $use_dns = 1 ]; then
  log "mxguard sts.bench.test: profile"
  profile mxguard-sts-profile mxguard sts.bench.test $((profile_messages * 2)) 4000
  sts_share=$P_sts sts_cpu=$R_cpu_us
fi
if [ $use_dns = 1 ]; then
  check_audit sts.bench.test mta-sts 1 || die "the MTA-STS variant did not run as meant"
  check_audit dns.bench.test config 1 || die "the pinned variant did not run as meant"
fi
check_audit bench.test config 1 || die "the address-route variant did not run as meant"

# --- the figures -----------------------------------------------------------------------------------------
load_at_end=$(cut -d' ' -f1-3 /proc/loadavg)
{
  echo "mxguard outbound benchmark, $(date -u +%Y-%m-%dT%H:%MZ): $ncpu CPUs ($(cpu_model)), Linux $(uname -r)"
  echo "load average at the start $load_at_start, at the end $load_at_end (the benchmark's own processes count in it)"
  echo "1-minute load average after each throughput run: $(for c in "${cases[@]}"; do printf '%s %s; ' "$c" "$(list ${loads[$c]})"; done)"
  if [ ${#server_pin[@]} -gt 0 ]; then echo "relays pinned to CPU 0, load generator, sink (the MX) and DNS server to CPU 1"
  else echo "no CPU pinning (fewer than 2 CPUs): figures mix relay and client work"; fi
  echo "throughput runs: $messages messages at concurrency $concurrency; latency runs: $latency_messages at" \
    "concurrency $latency_concurrency; $per_session messages per client session, pipelined, $size bytes, 1 recipient;" \
    "plaintext to the relay, STARTTLS with verify to the MX, one MX connection per message"
  echo
  cols=(mxguard)
  [ $use_postfix = 1 ] && cols+=(postfix "mxguard/postfix")
  printf '%-56s' "route to 127.0.0.1 (bench.test)"; printf '%16s' "${cols[@]}"; echo
  row() { table_row 56 "$use_postfix" "$@"; }   # LABEL MXGUARD-VALUE POSTFIX-VALUE [- = no ratio]
  m=mxguard:bench.test p=postfix:bench.test
  mc=$(median ${cpu[$m]}) pc=$( [ $use_postfix = 1 ] && median ${cpu[$p]} || echo -)
  row "CPU us per message, relay's process tree" "$mc" "$pc"
  row "  spread over the $repeat runs" "$(spread ${cpu[$m]})" "$(spread ${cpu[$p]:-})" -
  row "  messages/s per core from that CPU time" "$(calc "1000000 / $mc" 0)" \
    "$( [ "$pc" != - ] && calc "1000000 / $pc" 0 || echo -)"
  row "messages/s end to end (the MX has them)" "$(median ${e2e_rate[$m]})" "$(median ${e2e_rate[$p]:-0})"
  row "messages/s the client saw (250 to end of data)" "$(median ${client_rate[$m]})" "$(median ${client_rate[$p]:-0})"
  row "  relay CPU busy % (each run)" "$(list ${busy[$m]})" "$(list ${busy[$p]:-})" -
  row "  load generator + sink + DNS CPU busy %" "$(list ${client[$m]})" "$(list ${client[$p]:-})" -
  row "  CPU 0 taken by other processes + stolen %" "$(list ${others[$m]})" "$(list ${others[$p]:-})" -
  row "latency p50 ms, client: MAIL -> 250 (c=$latency_concurrency)" "${lat[$m,client50]}" "${lat[$p,client50]:-}"
  row "latency p99 ms, client: MAIL -> 250 (c=$latency_concurrency)" "${lat[$m,client99]}" "${lat[$p,client99]:-}"
  row "latency p50 ms, end to end: MAIL -> at the MX (c=$latency_concurrency)" "${lat[$m,e2e50]}" "${lat[$p,e2e50]:-}"
  row "latency p99 ms, end to end: MAIL -> at the MX (c=$latency_concurrency)" "${lat[$m,e2e99]}" "${lat[$p,e2e99]:-}"
  row "latency p50 ms, end to end, last run (c=$concurrency)" "${lat[$m,load50]}" "${lat[$p,load50]:-}"
  row "latency p99 ms, end to end, last run (c=$concurrency)" "${lat[$m,load99]}" "${lat[$p,load99]:-}"
  row "system calls per message ($S_tool)" "${sys[$m]}" "${sys[$p]:-}"
  echo "  mxguard, per message: ${sys_top[$m]}"
  [ $use_postfix = 1 ] && echo "  postfix, per message: ${sys_top[$p]}"
  echo "  TLS to the MX, mxguard: ${tls[$m]}"
  [ $use_postfix = 1 ] && echo "  TLS to the MX, postfix: ${tls[$p]}"
  echo "  profile, mxguard (share of samples: program, library): ${prof[$m]:-}"
  [ $use_postfix = 1 ] && echo "  profile, postfix (share of samples: program, library): ${prof[$p]:-}"
  if [ $use_dns = 1 ]; then
    a=mxguard:bench.test d=mxguard:dns.bench.test s=mxguard:sts.bench.test
    echo
    echo "mxguard, the policy's cost: the route to 127.0.0.1 (level verify pinned), the route to mx.bench.test"
    echo "through the DNS server (verify pinned), and the same route with no [policy.domain] entry, the"
    echo "domain's MTA-STS policy (enforce, mx: mx.bench.test) in the warm cache"
    printf '%-44s%20s%20s%20s\n' "" "address, pinned" "DNS name, pinned" "DNS name, MTA-STS"
    printf '%-44s%20s%20s%20s\n' "CPU us per message" "$(median ${cpu[$a]})" "$(median ${cpu[$d]})" "$(median ${cpu[$s]})"
    printf '%-44s%20s%20s%20s\n' "  spread over the $repeat runs" "$(spread ${cpu[$a]})" "$(spread ${cpu[$d]})" "$(spread ${cpu[$s]})"
    # The difference of each run with its neighbour in the same round, then the median of those.
    diffs() { paste -d' ' <(printf '%s\n' $1) <(printf '%s\n' $2) | awk '{ printf "%.1f\n", $1 - $2 }'; }
    # shellcheck disable=SC2046  # one number per line, split on purpose
    dd=$(median $(diffs "${cpu[$d]}" "${cpu[$a]}")) sd=$(median $(diffs "${cpu[$s]}" "${cpu[$d]}"))
    printf '%-44s%20s%20s%20s\n' "  difference per message, median of rounds" "" "$dd vs address" "$sd vs pinned"
    span() { printf '%s\n' "$@" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%s to %s", lo, hi }'; }
    # shellcheck disable=SC2046
    printf '%-44s%20s%20s%20s\n' "  range of those differences" "" "$(span $(diffs "${cpu[$d]}" "${cpu[$a]}"))" \
      "$(span $(diffs "${cpu[$s]}" "${cpu[$d]}"))"
    printf '%-44s%20s%20s%20s\n' "  CPU 0 taken by others + stolen % (runs)" "$(list ${others[$a]})" "$(list ${others[$d]})" "$(list ${others[$s]})"
    printf '%-44s%20s%20s%20s\n' "messages/s end to end" "$(median ${e2e_rate[$a]})" "$(median ${e2e_rate[$d]})" "$(median ${e2e_rate[$s]})"
    printf '%-44s%20s%20s%20s\n' "latency p50 ms, client (c=$latency_concurrency)" "${lat[$a,client50]}" "${lat[$d,client50]}" "${lat[$s,client50]}"
    printf '%-44s%20s%20s%20s\n' "latency p99 ms, client (c=$latency_concurrency)" "${lat[$a,client99]}" "${lat[$d,client99]}" "${lat[$s,client99]}"
    printf '%-44s%20s%20s%20s\n' "system calls per message ($S_tool)" "${sys[$a]}" "${sys[$d]}" "${sys[$s]}"
    echo "  MTA-STS code's own share of mxguard's CPU samples (perf, $((profile_messages * 2)) messages): $sts_share%," \
      "about $(calc "$sts_share / 100 * $sts_cpu" 2) us per message"
    echo "  DNS name, pinned, per message: ${sys_top[$d]}"
    echo "  DNS name, MTA-STS, per message: ${sys_top[$s]}"
  fi
} | tee "$work/summary.txt"
log "summary in $work/summary.txt"

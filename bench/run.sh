#!/usr/bin/env bash
# mxguard's benchmark: mxguard and nginx's mail proxy side by side, in front of the same sink backend, with
# the same ECDSA P-256 certificate, each pinned to CPU 0 while the load generator and the sink run on CPU 1.
# Everything listens on and connects to 127.0.0.1 only. Method and results: docs/benchmarks.md.
#
#   bench/run.sh            install what is missing (Debian), build mxguard in Release, measure, print figures
#   bench/run.sh --flood    also: a fresh session's latency while each hostile-client flood runs
#   bench/run.sh --flood-only   only that (about 1 minute): to repeat a flood measurement on a busy machine
#   bench/run.sh --capacity [N] only this (about 1 minute): N idle TLS sessions (default 9000) held with
#                           the servers' descriptor limit at 20,000, a fresh session's latency meanwhile, the
#                           memory and descriptors they take; pass if every one was held to the end
#   bench/run.sh --rate [R] only this (under a minute): R new STARTTLS sessions a second (default 2500)
#                           arriving on a schedule (open loop) for --rate-seconds S (10): failed sessions,
#                           the rate achieved, latency, server CPU, and whether the load generator kept up
#   bench/run.sh --smoke    a few hundred sessions through each server and the capacity and rate modes in
#                           miniature, no figures (the ctest `bench.smoke`), then a few dozen messages
#                           through the outbound path (bench/outbound.sh --smoke)
#   bench/run.sh --outbound the outbound benchmark instead: mxguard and Postfix as TLS-enforcing relays, and
#                           the cost of an MTA-STS policy lookup (bench/outbound.sh, which takes the options)
#
# --capacity, --rate and --flood combine (each runs its own part once). Options: --mxguard BIN
#   --loadgen BIN --sink BIN (use these binaries instead of building), --crypto-cost BIN (default: beside
#   the load generator), --no-nginx, --sessions N (STARTTLS sessions per throughput run; plaintext runs
#   twice as many), --concurrency N, --repeat N (throughput runs
#   per server, alternating; medians are shown), --idle N (idle TLS sessions held for the memory figure),
#   --log-level LEVEL (mxguard's [server] log_level; warn by default, info is what a deployment runs),
#   --abuse-penalty DURATION (mxguard's [inbound.limits] abuse_penalty; off by default, as in the product),
#   --out DIR (where logs and JSON reports go).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")

for a in "$@"; do
  if [ "$a" = --outbound ]; then
    rest=()
    for b in "$@"; do [ "$b" = --outbound ] || rest+=("$b"); done
    exec "$here/outbound.sh" "${rest[@]}"
  fi
done

# shellcheck source=bench/lib.sh
. "$here/lib.sh"
# shellcheck source=bench/capacity.sh
. "$here/capacity.sh"
# shellcheck source=bench/rate.sh
. "$here/rate.sh"

flood=0 standard=1 capacity_mode=0 rate_mode=0 use_nginx=1
tls_sessions=6000 concurrency=50 idle_sessions=2000 repeat=3
latency_sessions=400 latency_concurrency=4 syscall_sessions=1000
flood_seconds=10 flood_connections=100 flood_concurrency=4
capacity_n=9000 capacity_nofile=20000 capacity_settle=2 capacity_fresh_seconds=10
rate_per_s=2500 rate_seconds=10 rate_cap=4000 rate_timeout=10
mx_log_level=warn mx_abuse_penalty=0s
while [ $# -gt 0 ]; do
  if shared_option "$@"; then shift "$took"; continue; fi
  case $1 in
    --flood) flood=1 ;;
    --flood-only) flood=1 standard=0 ;;
    --capacity) capacity_mode=1 standard=0; if [[ ${2:-} =~ ^[0-9]+$ ]]; then capacity_n=$2; shift; fi ;;
    --rate) rate_mode=1 standard=0; if [[ ${2:-} =~ ^[0-9]+([.][0-9]+)?$ ]]; then rate_per_s=$2; shift; fi ;;
    --rate-seconds) rate_seconds=$2; shift ;;
    --no-nginx) use_nginx=0 ;;
    --sessions) tls_sessions=$2; shift ;;
    --idle) idle_sessions=$2; shift ;;
    --log-level) mx_log_level=$2; shift ;;
    --abuse-penalty) mx_abuse_penalty=$2; shift ;;
    *) unknown_option "$1" ;;
  esac
  shift
done

# --- packages --------------------------------------------------------------------------------------------
if [ $mode = smoke ]; then
  # The smoke test must not hang on a slow mirror: nginx is a bonus there.
  [ $use_nginx = 1 ] && { timeout 50 bash -c "$(declare -f log installed apt_install); apt_install nginx libnginx-mod-mail" || true; }
else
  install_bench_tools
  [ $use_nginx = 1 ] && { apt_install nginx libnginx-mod-mail || die "cannot install nginx (use --no-nginx)"; }
fi
if [ $use_nginx = 1 ] && ! { command -v nginx >/dev/null && [ -f /usr/lib/nginx/modules/ngx_mail_module.so ]; }; then
  [ $mode = smoke ] || die "nginx or its mail module is missing (use --no-nginx)"
  log "nginx with its mail module is not available: smoke-testing mxguard only"
  use_nginx=0
fi

# --- binaries --------------------------------------------------------------------------------------------
build_binaries mxguard loadgen sink crypto_cost

# --- the scene -------------------------------------------------------------------------------------------
make_workdir /tmp/mxguard-bench.XXXXXX
# Descriptors: 2,000 idle sessions are 4,000+ in one process. The capacity mode gives the servers exactly
# $capacity_nofile (the machine of the issue), raising the hard limit if it is lower and we may.
[ $capacity_mode = 1 ] && [ "$(ulimit -Hn)" -lt $capacity_nofile ] && { ulimit -n $capacity_nofile 2>/dev/null ||
  log "the hard descriptor limit is $(ulimit -Hn), below $capacity_nofile, and cannot be raised: the servers get $(ulimit -Hn)"; }
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
server_nofile=$(ulimit -n)
[ $capacity_mode = 1 ] && [ "$server_nofile" -gt $capacity_nofile ] && server_nofile=$capacity_nofile
limited() { ulimit -n "$server_nofile"; exec "$@"; }   # COMMAND...: run with the servers' descriptor limit

# mxguard's max_connections: out of the way, or in the capacity mode what the held sessions, the fresh
# ones beside them and the rate mode's cap ask for (mxguard logs it if its descriptors allow fewer).
mx_max_connections=100000
if [ $capacity_mode = 1 ]; then
  mx_max_connections=$((capacity_n + 64))
  [ $rate_mode = 1 ] && [ $((rate_cap + 64)) -gt $mx_max_connections ] && mx_max_connections=$((rate_cap + 64))
fi

pin_cpus

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=mx.bench.test \
  -addext subjectAltName=DNS:mx.bench.test -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
sink_port=$(pick_port) mx_port=$(pick_port) ng_port=$(pick_port) auth_port=$(pick_port)

"${client_pin[@]}" "$sink_bin" --listen "127.0.0.1:$sink_port" >"$work/sink.log" 2>&1 &
sink_pid=$!; started+=("$sink_pid")
wait_listening "$sink_port" "$sink_pid" sink

mkdir -p "$work/state"
cat >"$work/mxguard.toml" <<TOML
# Written by bench/run.sh: one worker thread, plaintext to the sink, limits out of the way.
[server]
hostname = "mx.bench.test"
workers = 1
state_dir = "$work/state"
log_level = "$mx_log_level"
shutdown_grace = "5s"

[inbound]
listen = ["127.0.0.1:$mx_port"]
backend = "127.0.0.1:$sink_port"
backend_protocol = "plain"

[[inbound.certificate]]
cert = "$work/cert.pem"
key = "$work/key.pem"

[inbound.limits]
max_connections = $mx_max_connections
max_connections_per_ip = $mx_max_connections
abuse_penalty = "$mx_abuse_penalty"

[audit]
path = "$work/audit.jsonl"
TOML
limited "${server_pin[@]}" "$mxguard_bin" run --config "$work/mxguard.toml" >"$work/mxguard.log" 2>&1 &
mx_pid=$!; started+=("$mx_pid")
wait_listening "$mx_port" "$mx_pid" mxguard
[ $capacity_mode = 0 ] || grep -h "file descriptor limit" "$work/mxguard.log" >&2 || true

ng_pid=""
if [ $use_nginx = 1 ]; then
  mkdir -p "$work/nginx"
  # nginx's mail proxy as an STARTTLS front for the same sink. Its auth_http request is answered by its own
  # http block. The 64k buffers give it its best showing: with the default 4k, a message that arrives in
  # two reads leaves in two writes, and Nagle holds the second until the backend's delayed ACK (~40 ms).
  cat >"$work/nginx.conf" <<NGINX
load_module /usr/lib/nginx/modules/ngx_mail_module.so;
worker_processes 1;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx-error.log warn;
worker_rlimit_nofile $server_nofile;
events { worker_connections $server_nofile; }
http {
  access_log off;
  client_body_temp_path $work/nginx; proxy_temp_path $work/nginx; fastcgi_temp_path $work/nginx;
  uwsgi_temp_path $work/nginx; scgi_temp_path $work/nginx;
  server {
    listen 127.0.0.1:$auth_port;
    location = /auth {
      add_header Auth-Status OK;
      add_header Auth-Server 127.0.0.1;
      add_header Auth-Port $sink_port;
      return 204;
    }
  }
}
mail {
  server_name mx.bench.test;
  auth_http 127.0.0.1:$auth_port/auth;
  xclient off;
  timeout 5m;
  smtp_client_buffer 64k;
  proxy_buffer 64k;
  smtp_capabilities PIPELINING "SIZE 52428800" 8BITMIME ENHANCEDSTATUSCODES;
  ssl_certificate $work/cert.pem;
  ssl_certificate_key $work/key.pem;
  server {
    listen 127.0.0.1:$ng_port backlog=1024;
    protocol smtp;
    starttls on;
    smtp_auth none;
    proxy on;
  }
}
NGINX
  limited "${server_pin[@]}" nginx -c "$work/nginx.conf" -p "$work/nginx" >"$work/nginx.log" 2>&1 &
  ng_pid=$!; started+=("$ng_pid")
  wait_listening "$ng_port" "$ng_pid" nginx
fi

# --- measuring -------------------------------------------------------------------------------------------
# Reads a loadgen JSON report: completed failed sessions/s p50 p99 elapsed idle-established loadgen-CPU-s
# flood-MiB-sent flood-connections-ended-by-the-server max
report_fields() {
  python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
f = d.get("flood", {})
print(d["completed"], d["failed"], "%.1f" % d["sessions_per_s"], d["latency"]["p50_ms"], d["latency"]["p99_ms"],
      d["elapsed_s"], d.get("idle", {}).get("established", 0), d["cpu_s"],
      "%.1f" % (f.get("bytes_sent", 0) / 1048576), f.get("closed_by_server", 0), d["latency"]["max_ms"])' "$1"
}

# NAME PORT PID LOADGEN-ARGS...: one loadgen run with the server's CPU time around it, and the client side's
# (the load generator's own and the sink's), which tells who the bottleneck was. Sets R_* variables.
run() {
  local name=$1 port=$2 pid=$3; shift 3
  local before after sink_before sink_after rc=0
  before=$(cpu_ticks "$pid") sink_before=$(cpu_ticks "$sink_pid")
  "${client_pin[@]}" "$loadgen_bin" --target "127.0.0.1:$port" --label "$name" --json "$@" \
    >"$work/$name.json" 2>"$work/$name.err" || rc=$?
  after=$(cpu_ticks "$pid") sink_after=$(cpu_ticks "$sink_pid")
  [ -s "$work/$name.json" ] || die "loadgen $name produced no report (exit $rc): $(cat "$work/$name.err")"
  read -r R_done R_failed R_rate R_p50 R_p99 R_elapsed _ R_client_s R_flood_mib R_flood_ended R_max \
    < <(report_fields "$work/$name.json")
  R_ticks=$((after - before))
  R_cpu_us=$( [ "$R_done" -gt 0 ] && calc "$R_ticks * 1000000 / $hz / $R_done" || echo -)
  local wall; wall=$(calc "$R_elapsed > 0 ? $R_elapsed : 1" 6)
  R_busy=$(calc "$R_ticks / $hz / $wall * 100" 0)
  R_client_busy=$(calc "($R_client_s + ($sink_after - $sink_before) / $hz) / $wall * 100" 0)
  if [ "$R_failed" -gt 0 ] || [ $rc -ne 0 ]; then
    log "$name: $R_failed session(s) failed: $(failures_of "$work/$name.json")"
    [ $mode = smoke ] && die "$name failed"
  fi
  return 0
}

# NAME PORT N [SETUP-CONCURRENCY]: a load generator that sets up N idle TLS sessions (STARTTLS and the
# post-TLS EHLO, 50 at a time) and holds them until release_idle; returns once every one is set up or has
# failed. Sets H_pid and H_setup_s (how long that took).
hold_idle() {
  local name=$1 port=$2 n=$3 t0
  rm -f "$work/$name.ready"
  t0=$(date +%s%N)
  "${client_pin[@]}" "$loadgen_bin" --target "127.0.0.1:$port" --label "$name" --json --idle "$n" \
    -c "${4:-50}" --ready-file "$work/$name.ready" >"$work/$name.json" 2>"$work/$name.err" &
  H_pid=$!; started+=("$H_pid")
  for _ in $(seq 1200); do [ -f "$work/$name.ready" ] || ! kill -0 $H_pid 2>/dev/null && break; sleep 0.1; done
  H_setup_s=$(calc "($(date +%s%N) - $t0) / 1e9" 1)
}
# NAME: lets hold_idle's sessions go. Sets I_n (set up), I_failed (not set up), I_dropped (ended by the
# server while held).
release_idle() {
  kill -TERM "$H_pid" 2>/dev/null || true
  wait "$H_pid" || true
  forget "$H_pid"
  [ -s "$work/$1.json" ] || die "loadgen $1 produced no report: $(cat "$work/$1.err")"
  read -r I_n I_failed I_dropped < <(python3 -c 'import json,sys
d = json.load(open(sys.argv[1])); i = d.get("idle", {})
print(i.get("established", 0), d["failed"], i.get("dropped", 0))' "$work/$1.json")
}

# NAME PORT PID: KiB of PSS and descriptors per idle TLS session. Sets I_* variables.
idle_memory() {
  local name=$1 port=$2 pid=$3 base base_fds full full_fds
  base=$(memory_kib Pss "$pid") base_fds=$(fds "$pid")
  hold_idle "$name" "$port" "$idle_sessions"
  sleep 1   # let the last handshakes' garbage settle
  full=$(memory_kib Pss "$pid") full_fds=$(fds "$pid")
  release_idle "$name"
  I_kib=$( [ "$I_n" -gt 0 ] && calc "($full - $base) / $I_n" || echo -)
  I_fds=$( [ "$I_n" -gt 0 ] && calc "($full_fds - $base_fds) / $I_n" || echo -)
  [ $mode = smoke ] && { [ "$I_n" -gt 0 ] && [ "$I_failed" -eq 0 ] || die "$name: idle sessions failed"; }
  return 0
}

# NAME PORT PID [LOADGEN-ARGS...]: system calls per STARTTLS session (perf's syscall tracepoints, else
# strace -c). Sets S_*.
syscalls() {
  local name=$1 port=$2 pid=$3
  shift 3
  syscalls_start "$name" "$pid" 'syscalls:sys_enter_*'
  run "$name" "$port" "$pid" -n "$syscall_sessions" -c "$concurrency" "$@"
  syscalls_stop "$name" "$R_done" 8
}

servers=(mxguard)
declare -A port=([mxguard]=$mx_port) pid=([mxguard]=$mx_pid)
if [ $use_nginx = 1 ]; then servers+=(nginx); port[nginx]=$ng_port; pid[nginx]=$ng_pid; fi

if [ $mode = smoke ]; then
  capacity_settle=0.5
  for s in "${servers[@]}"; do
    run "$s-tls" "${port[$s]}" "${pid[$s]}" -n 200 -c 10
    echo "smoke $s: STARTTLS $R_done sessions ok ($R_rate sessions/s)"
    run "$s-plain-pipelined" "${port[$s]}" "${pid[$s]}" -n 200 -c 10 --plain --pipelining
    echo "smoke $s: plaintext pipelined $R_done sessions ok"
    idle_sessions=50 idle_memory "$s-idle" "${port[$s]}" "${pid[$s]}"
    echo "smoke $s: $I_n idle TLS sessions held"
    run "$s-flood" "${port[$s]}" "${pid[$s]}" -n 20 -c 2 --flood handshake --flood-connections 5 --flood-warmup 0.2
    echo "smoke $s: 20 sessions beside 5 stalled handshakes ok"
    # The capacity and rate modes in miniature (a few seconds), so that their scripts never rot either.
    capacity_measure "$s" "${port[$s]}" "${pid[$s]}" 100 -n 20 -c 2
    [ "${capv[$s,pass]}" = pass ] || die "$s: capacity: ${capv[$s,held]} of 100 held to the end"
    echo "smoke $s: capacity: 100 idle TLS sessions held, ${capv[$s,fresh]} fresh sessions beside them ok"
    rate_measure "$s" "${port[$s]}" "${pid[$s]}" 200 1 50
    [ "${ratev[$s,skipped]}" -eq 0 ] || die "$s: open loop: ${ratev[$s,skipped]} arrivals skipped at the cap"
    echo "smoke $s: open loop at 200/s: ${ratev[$s,done]} STARTTLS sessions ok"
  done
  [ -x "$crypto_cost_bin" ] || die "not an executable: $crypto_cost_bin (--crypto-cost BIN)"
  "$crypto_cost_bin" --cert "$work/cert.pem" --key "$work/key.pem" --sessions 20 --rounds 1 \
    >"$work/crypto_cost.json" || die "crypto_cost failed"
  echo "smoke: crypto_cost ok"
  stop_cleanly "$mx_pid" "$sink_pid"
  # The outbound mode, so that it never rots either: mxguard (and Postfix, where it can run) as relays.
  "$here/outbound.sh" --smoke --mxguard "$mxguard_bin" --loadgen "$loadgen_bin" --sink "$sink_bin" ||
    die "the outbound smoke run failed"
  echo "smoke: ok (${servers[*]})"
  rm -rf "$work"
  exit 0
fi

load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)
log "results and logs in $work; load average at the start: $load_at_start"
log "warming up"
for s in "${servers[@]}"; do run "$s-warmup" "${port[$s]}" "${pid[$s]}" -n 300 -c 10; done

# Throughput: the servers take turns, $repeat times, so that a change in the machine's other load hits both.
declare -A cpu rate busy client lat idle_kib idle_fds sys sys_top sys_pipe sys_pipe_top
[ $standard = 0 ] && repeat=0
for ((i = 1; i <= repeat; i++)); do
  for m in tls plain; do
    for s in "${servers[@]}"; do
      log "$s: throughput, $m, run $i of $repeat"
      if [ $m = tls ]; then run "$s-tls-$i" "${port[$s]}" "${pid[$s]}" -n "$tls_sessions" -c "$concurrency"
      else run "$s-plain-$i" "${port[$s]}" "${pid[$s]}" -n $((tls_sessions * 2)) -c "$concurrency" --plain; fi
      cpu[$s,$m]+="$R_cpu_us " rate[$s,$m]+="$R_rate " busy[$s,$m]+="$R_busy " client[$s,$m]+="$R_client_busy "
    done
  done
done
for s in "${servers[@]}"; do
  [ $standard = 0 ] && break
  log "$s: latency, idle memory, system calls"
  for m in tls plain tls-pipelined; do
    args=(-n "$latency_sessions" -c "$latency_concurrency")
    case $m in plain) args+=(--plain) ;; tls-pipelined) args+=(--pipelining) ;; esac
    run "$s-latency-$m" "${port[$s]}" "${pid[$s]}" "${args[@]}"
    lat[$s,$m,50]=$R_p50 lat[$s,$m,99]=$R_p99
  done
  idle_memory "$s-idle" "${port[$s]}" "${pid[$s]}"
  idle_kib[$s]=$I_kib idle_fds[$s]=$I_fds idle_n=$I_n
  sleep 1
  syscalls "$s-syscalls" "${port[$s]}" "${pid[$s]}"
  sys[$s]=$S_per sys_top[$s]=$S_top
  # As a pipelining MTA (Postfix's smtp client) sends it: MAIL+RCPT+DATA in one write, content+QUIT in one.
  syscalls "$s-syscalls-pipelined" "${port[$s]}" "${pid[$s]}" --pipelining
  sys_pipe[$s]=$S_per sys_pipe_top[$s]=$S_top
done

# The TLS library's own cost per session, for the floor under the CPU figures: BoringSSL's in process
# (bench/crypto_cost, built beside the load generator), and OpenSSL 3's public-key operations (nginx's
# library) from `openssl speed`. Pinned where the servers run.
crypto_bin=$crypto_cost_bin crypto=() crypto_note=
if [ $standard = 1 ]; then
  log "the TLS libraries' own cost per handshake"
  if [ -x "$crypto_bin" ] &&
     "${server_pin[@]}" "$crypto_bin" --cert "$work/cert.pem" --key "$work/key.pem" >"$work/crypto_cost.json" 2>"$work/crypto_cost.err"; then
    read -r -a crypto < <(python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
print(" ".join("%.1f" % d[k] for k in ("ecdsa_p256_sign_us", "x25519_shared_us", "x25519_keypair_us",
                                        "public_key_us", "server_session_us")))' "$work/crypto_cost.json") ||
      crypto=()
    [ ${#crypto[@]} -eq 5 ] || crypto_note="not measured: $work/crypto_cost.json could not be read"
  else
    crypto_note="not measured: $crypto_bin $( [ -x "$crypto_bin" ] && head -1 "$work/crypto_cost.err" || echo "is not built")"
  fi
  # openssl speed -mr: "+F4:...:bits:sign/s:verify/s" for ECDSA, "+F5:...:bits:op/s:..." for ECDH;
  # -elapsed: wall clock, as crypto_cost measures (by default it divides by CPU user time).
  read -r ossl_sign ossl_shared < <("${server_pin[@]}" openssl speed -elapsed -mr -seconds 1 ecdsap256 ecdhx25519 2>/dev/null |
    awk -F: '$1 == "+F4" { s = sprintf("%.1f", 1e6 / $4) } $1 == "+F5" { d = sprintf("%.1f", 1e6 / $4) }
             END { print (s == "" ? "-" : s), (d == "" ? "-" : d) }') || true
fi

if [ $capacity_mode = 1 ]; then
  for s in "${servers[@]}"; do
    log "$s: capacity, $capacity_n idle TLS sessions (load average $(cut -d' ' -f1 /proc/loadavg))"
    capacity_measure "$s" "${port[$s]}" "${pid[$s]}" "$capacity_n" -d "$capacity_fresh_seconds" -c "$latency_concurrency"
    sleep 2   # the held sessions' connections close before the next server's turn
  done
fi
if [ $rate_mode = 1 ]; then
  for s in "${servers[@]}"; do
    log "$s: open loop, $rate_per_s STARTTLS sessions/s for ${rate_seconds}s (load average $(cut -d' ' -f1 /proc/loadavg))"
    rate_measure "$s" "${port[$s]}" "${pid[$s]}" "$rate_per_s" "$rate_seconds" "$rate_cap"
    sleep 2
  done
fi

if [ $flood = 1 ]; then
  declare -A fl
  # Each flood comes from an address of its own, as an attacker is another client than the measured
  # sessions (and an abuse penalty one flood earned does not meet the next).
  declare -A flood_source=([rcpt]=127.0.0.2 [noop]=127.0.0.3 [drip]=127.0.0.4 [handshake]=127.0.0.5)
  for s in "${servers[@]}"; do
    for kind in none rcpt noop drip handshake; do
      log "$s: latency of fresh sessions, flood: $kind"
      args=(-d "$flood_seconds" -c "$flood_concurrency")
      [ $kind = none ] || args+=(--flood "$kind" --flood-connections "$flood_connections" --drip-interval-ms 100
                                 --flood-source "${flood_source[$kind]}")
      run "$s-flood-$kind" "${port[$s]}" "${pid[$s]}" "${args[@]}"
      fl[$s,$kind]="$R_p50 $R_p99 $R_rate $R_failed $R_busy $R_client_busy $R_flood_mib $R_flood_ended"
      sleep 2   # the server closes the flood's connections before the next run
    done
  done
fi

# --- the figures -----------------------------------------------------------------------------------------
row() { table_row 44 "$use_nginx" "$@"; }   # LABEL VALUE-MXGUARD [VALUE-NGINX [- = no ratio]]
columns() {   # the table's heading
  local cols=("${servers[@]}")
  [ $use_nginx = 1 ] && cols+=("mxguard/nginx")
  printf '%-44s' ""; printf '%16s' "${cols[@]}"; echo
}
load_at_end=$(cut -d' ' -f1-3 /proc/loadavg)
{
  echo "mxguard benchmark, $(date -u +%Y-%m-%dT%H:%MZ): $ncpu CPUs ($(cpu_model)), load average at the start" \
    "$load_at_start, at the end $load_at_end"
  if [ ${#server_pin[@]} -gt 0 ]; then echo "servers pinned to CPU 0, load generator and sink to CPU 1"
  else echo "no CPU pinning (fewer than 2 CPUs): figures mix server and client work"; fi
  if [ $standard = 1 ]; then
    echo "throughput runs: $tls_sessions STARTTLS / $((tls_sessions * 2)) plaintext sessions at concurrency $concurrency;" \
      "latency runs: $latency_sessions sessions at concurrency $latency_concurrency; 4096-byte messages, 1 recipient"
    echo
    columns
    for m in tls plain; do
      label=$( [ $m = tls ] && echo STARTTLS || echo plaintext)
      declare -A med=()
      for s in "${servers[@]}"; do
        med[$s,cpu]=$(median ${cpu[$s,$m]}) med[$s,rate]=$(median ${rate[$s,$m]})
        med[$s,core]=$(calc "1000000 / ${med[$s,cpu]}" 0)
      done
      row "CPU us per session, $label" "${med[mxguard,cpu]}" "${med[nginx,cpu]:-}"
      [ $m = tls ] && med_tls_nginx=${med[nginx,cpu]:-}
      row "  spread over the $repeat runs" "$(spread ${cpu[mxguard,$m]})" "$(spread ${cpu[nginx,$m]:-})" -
      row "  sessions/s per core from that CPU time" "${med[mxguard,core]}" "${med[nginx,core]:-}"
      row "sessions/s measured, $label" "${med[mxguard,rate]}" "${med[nginx,rate]:-}"
      row "  server CPU busy % (each run)" "$(list ${busy[mxguard,$m]})" "$(list ${busy[nginx,$m]:-})" -
      row "  load generator + sink CPU busy %" "$(list ${client[mxguard,$m]})" "$(list ${client[nginx,$m]:-})" -
    done
    for m in tls plain tls-pipelined; do
      row "latency p50 ms, $m" "${lat[mxguard,$m,50]}" "${lat[nginx,$m,50]:-}"
      row "latency p99 ms, $m" "${lat[mxguard,$m,99]}" "${lat[nginx,$m,99]:-}"
    done
    row "KiB per idle TLS session ($idle_n held)" "${idle_kib[mxguard]}" "${idle_kib[nginx]:-}"
    row "  descriptors per idle TLS session" "${idle_fds[mxguard]}" "${idle_fds[nginx]:-}"
    row "system calls per STARTTLS session ($S_tool)" "${sys[mxguard]}" "${sys[nginx]:-}"
    for s in "${servers[@]}"; do echo "  $s, per session: ${sys_top[$s]}"; done
    row "system calls per pipelined STARTTLS session" "${sys_pipe[mxguard]}" "${sys_pipe[nginx]:-}"
    for s in "${servers[@]}"; do echo "  $s, per session: ${sys_pipe_top[$s]}"; done
    echo
    if [ ${#crypto[@]} -eq 5 ]; then
      echo "the TLS library's own cost, in process on the servers' CPU (us; bench/crypto_cost, openssl speed):"
      printf '  %-42s%16s%16s\n' "" "BoringSSL" "OpenSSL 3"
      printf '  %-42s%16s%16s\n' "ECDSA P-256 signature (CertificateVerify)" "${crypto[0]}" "${ossl_sign:--}"
      printf '  %-42s%16s%16s\n' "X25519 shared secret" "${crypto[1]}" "${ossl_shared:--}"
      printf '  %-42s%16s\n' "X25519 key pair" "${crypto[2]}"
      printf '  %-42s%16s\n' "the three public-key operations" "${crypto[3]}"
      printf '  %-42s%16s\n' "server handshake + the dialogue's records" "${crypto[4]}"
      [ -n "${med_tls_nginx:-}" ] &&
        echo "  (that is $(calc "${crypto[4]} / $med_tls_nginx" 2) of nginx's CPU per STARTTLS session before mxguard reads a byte)"
    else
      echo "the TLS library's own cost: $crypto_note"
    fi
  fi
  if [ $capacity_mode = 1 ]; then
    capacity_table "$capacity_n" "$latency_concurrency at a time for ${capacity_fresh_seconds}s"
  fi
  if [ $rate_mode = 1 ]; then rate_table "$rate_per_s" "$rate_seconds" "$rate_cap" "$rate_timeout"; fi
  if [ $flood = 1 ]; then
    echo
    echo "fresh STARTTLS sessions (concurrency $flood_concurrency, ${flood_seconds}s) while $flood_connections hostile connections run"
    echo "(each flood from an address of its own; mxguard's inbound.limits.abuse_penalty = \"$mx_abuse_penalty\")"
    echo "(flood MiB: what the hostile clients got to send; ended: their connections the server closed, each reopened):"
    printf '  %-8s %-10s %9s %10s %11s %7s %8s %8s %10s %7s\n' server flood "p50 ms" "p99 ms" sessions/s failed \
      "server%" "client%" "flood MiB" "ended"
    for s in "${servers[@]}"; do
      for kind in none rcpt noop drip handshake; do
        read -r a b c d e f g h <<<"${fl[$s,$kind]}"
        printf '  %-8s %-10s %9s %10s %11s %7s %8s %8s %10s %7s\n' "$s" "$kind" "$a" "$b" "$c" "$d" "$e" "$f" "$g" "$h"
      done
    done
  fi
} | tee "$work/summary.txt"
log "summary in $work/summary.txt"

#!/usr/bin/env bash
# mxguard's benchmark: mxguard and nginx's mail proxy side by side, in front of the same sink backend, with
# the same ECDSA P-256 certificate, each pinned to CPU 0 while the load generator and the sink run on CPU 1.
# Everything listens on and connects to 127.0.0.1 only. Method and results: docs/benchmarks.md.
#
#   bench/run.sh            install what is missing (Debian), build mxguard in Release, measure, print figures
#   bench/run.sh --flood    also: a fresh session's latency while each hostile-client flood runs
#   bench/run.sh --flood-only   only that (about 1 minute): to repeat a flood measurement on a busy machine
#   bench/run.sh --smoke    a few hundred sessions through each server, no figures (the ctest `bench.smoke`),
#                           then a few dozen messages through the outbound path (bench/outbound.sh --smoke)
#   bench/run.sh --outbound the outbound benchmark instead: mxguard and Postfix as TLS-enforcing relays, and
#                           the cost of an MTA-STS policy lookup (bench/outbound.sh, which takes the options)
#
# Options: --mxguard BIN --loadgen BIN --sink BIN (use these binaries instead of building), --no-nginx,
#   --sessions N (STARTTLS sessions per throughput run; plaintext runs twice as many), --concurrency N,
#   --repeat N (throughput runs per server, alternating; medians are shown), --idle N (idle TLS sessions
#   held for the memory figure), --out DIR (where logs and JSON reports go).
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

mode=full flood=0 flood_only=0 use_nginx=1
mxguard_bin="" loadgen_bin="" sink_bin="" out=""
tls_sessions=6000 concurrency=50 idle_sessions=2000 repeat=3
latency_sessions=400 latency_concurrency=4 syscall_sessions=1000
flood_seconds=10 flood_connections=100 flood_concurrency=4
while [ $# -gt 0 ]; do
  case $1 in
    --smoke) mode=smoke ;;
    --flood) flood=1 ;;
    --flood-only) flood=1 flood_only=1 ;;
    --no-nginx) use_nginx=0 ;;
    --mxguard) mxguard_bin=$2; shift ;;
    --loadgen) loadgen_bin=$2; shift ;;
    --sink) sink_bin=$2; shift ;;
    --sessions) tls_sessions=$2; shift ;;
    --concurrency) concurrency=$2; shift ;;
    --idle) idle_sessions=$2; shift ;;
    --repeat) repeat=$2; shift ;;
    --out) out=$2; shift ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "bench: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

# shellcheck source=bench/lib.sh
. "$here/lib.sh"

# --- packages --------------------------------------------------------------------------------------------
if [ $mode = smoke ]; then
  # The smoke test must not hang on a slow mirror: nginx is a bonus there.
  [ $use_nginx = 1 ] && { timeout 50 bash -c "$(declare -f log installed apt_install); apt_install nginx libnginx-mod-mail" || true; }
else
  "$root/scripts/install-deps.sh"
  apt_install strace iproute2 procps util-linux openssl || log "could not install strace/iproute2: continuing"
  [ $use_nginx = 1 ] && { apt_install nginx libnginx-mod-mail || die "cannot install nginx (use --no-nginx)"; }
  apt_install linux-perf >/dev/null 2>&1 || true   # optional: cheaper system-call counts than strace
fi
if [ $use_nginx = 1 ] && ! { command -v nginx >/dev/null && [ -f /usr/lib/nginx/modules/ngx_mail_module.so ]; }; then
  [ $mode = smoke ] || die "nginx or its mail module is missing (use --no-nginx)"
  log "nginx with its mail module is not available: smoke-testing mxguard only"
  use_nginx=0
fi

# --- binaries --------------------------------------------------------------------------------------------
if [ -z "$mxguard_bin" ] || [ -z "$loadgen_bin" ] || [ -z "$sink_bin" ]; then
  build=$root/build-bench
  command -v ccache >/dev/null && export CMAKE_CXX_COMPILER_LAUNCHER=${CMAKE_CXX_COMPILER_LAUNCHER:-ccache}
  log "building mxguard, loadgen and sink in Release in $build"
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DMXGUARD_TESTS=OFF -DMXGUARD_BENCH=ON >/dev/null
  cmake --build "$build" -j"$(nproc)" --target mxguard loadgen sink >/dev/null
  mxguard_bin=${mxguard_bin:-$build/proxy/app/mxguard}
  loadgen_bin=${loadgen_bin:-$build/bench/loadgen}
  sink_bin=${sink_bin:-$build/bench/sink}
fi
for b in "$mxguard_bin" "$loadgen_bin" "$sink_bin"; do [ -x "$b" ] || die "not an executable: $b"; done

# --- the scene -------------------------------------------------------------------------------------------
if [ -n "$out" ]; then mkdir -p "$out"; work=$(cd "$out" && pwd); else work=$(mktemp -d /tmp/mxguard-bench.XXXXXX); fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true   # 2,000 idle sessions are 4,000+ descriptors in one process

ncpu=$(nproc)
server_pin=() client_pin=()
if [ $mode = full ] && [ "$ncpu" -ge 2 ] && command -v taskset >/dev/null; then
  server_pin=(taskset -c 0) client_pin=(taskset -c 1)
fi

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
log_level = "warn"
shutdown_grace = "5s"

[inbound]
listen = ["127.0.0.1:$mx_port"]
backend = "127.0.0.1:$sink_port"
backend_protocol = "plain"

[[inbound.certificate]]
cert = "$work/cert.pem"
key = "$work/key.pem"

[inbound.limits]
max_connections = 100000
max_connections_per_ip = 100000

[audit]
path = "$work/audit.jsonl"
TOML
"${server_pin[@]}" "$mxguard_bin" run --config "$work/mxguard.toml" >"$work/mxguard.log" 2>&1 &
mx_pid=$!; started+=("$mx_pid")
wait_listening "$mx_port" "$mx_pid" mxguard

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
worker_rlimit_nofile $(ulimit -n);
events { worker_connections $(ulimit -n); }
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
  "${server_pin[@]}" nginx -c "$work/nginx.conf" -p "$work/nginx" >"$work/nginx.log" 2>&1 &
  ng_pid=$!; started+=("$ng_pid")
  wait_listening "$ng_port" "$ng_pid" nginx
fi

# --- measuring -------------------------------------------------------------------------------------------
# Reads a loadgen JSON report: completed failed sessions/s p50 p99 elapsed idle-established loadgen-CPU-s
# flood-MiB-sent flood-connections-ended-by-the-server
report_fields() {
  python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
f = d.get("flood", {})
print(d["completed"], d["failed"], "%.1f" % d["sessions_per_s"], d["latency"]["p50_ms"], d["latency"]["p99_ms"],
      d["elapsed_s"], d.get("idle", {}).get("established", 0), d["cpu_s"],
      "%.1f" % (f.get("bytes_sent", 0) / 1048576), f.get("closed_by_server", 0))' "$1"
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
  read -r R_done R_failed R_rate R_p50 R_p99 R_elapsed R_idle R_client_s R_flood_mib R_flood_ended \
    < <(report_fields "$work/$name.json")
  R_ticks=$((after - before))
  R_cpu_us=$( [ "$R_done" -gt 0 ] && calc "$R_ticks * 1000000 / $hz / $R_done" || echo -)
  local wall; wall=$(calc "$R_elapsed > 0 ? $R_elapsed : 1" 6)
  R_busy=$(calc "$R_ticks / $hz / $wall * 100" 0)
  R_client_busy=$(calc "($R_client_s + ($sink_after - $sink_before) / $hz) / $wall * 100" 0)
  if [ "$R_failed" -gt 0 ] || [ $rc -ne 0 ]; then
    log "$name: $R_failed session(s) failed: $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["failures"])' "$work/$name.json")"
    [ $mode = smoke ] && die "$name failed"
  fi
  return 0
}

# NAME PORT PID: KiB of PSS and descriptors per idle TLS session. Sets I_* variables.
idle_memory() {
  local name=$1 port=$2 pid=$3 base base_fds full full_fds lg n
  base=$(pss_kib "$pid") base_fds=$(fds "$pid")
  rm -f "$work/$name.ready"
  "${client_pin[@]}" "$loadgen_bin" --target "127.0.0.1:$port" --label "$name" --json --idle "$idle_sessions" \
    -c 50 --ready-file "$work/$name.ready" >"$work/$name.json" 2>"$work/$name.err" &
  lg=$!; started+=("$lg")
  for _ in $(seq 1200); do [ -f "$work/$name.ready" ] || ! kill -0 $lg 2>/dev/null && break; sleep 0.1; done
  sleep 1   # let the last handshakes' garbage settle
  full=$(pss_kib "$pid") full_fds=$(fds "$pid")
  kill -TERM $lg 2>/dev/null || true
  wait $lg || true
  read -r _ I_failed _ _ _ _ n _ < <(report_fields "$work/$name.json")
  I_n=$n
  I_kib=$( [ "$n" -gt 0 ] && calc "($full - $base) / $n" || echo -)
  I_fds=$( [ "$n" -gt 0 ] && calc "($full_fds - $base_fds) / $n" || echo -)
  [ $mode = smoke ] && { [ "$n" -gt 0 ] && [ "$I_failed" -eq 0 ] || die "$name: idle sessions failed"; }
  return 0
}

# NAME PORT PID: system calls per STARTTLS session (perf's syscall tracepoints, else strace -c). Sets S_*.
syscalls() {
  local name=$1 port=$2 pid=$3 tracer pids
  pids=$(tree "$pid" | paste -sd, -)
  if command -v perf >/dev/null && perf_works; then
    S_tool=perf
    perf stat -x, -e 'syscalls:sys_enter_*' -p "$pids" -o "$work/$name.trace" &
  else
    S_tool=strace
    local args=() p
    for p in ${pids//,/ }; do args+=(-p "$p"); done
    strace -c -f "${args[@]}" -o "$work/$name.trace" 2>/dev/null &
  fi
  tracer=$!; started+=("$tracer")
  sleep 2   # attaching to every thread (and perf to 300-odd tracepoints) takes a moment
  run "$name" "$port" "$pid" -n "$syscall_sessions" -c "$concurrency"
  kill -INT $tracer 2>/dev/null || true
  wait $tracer 2>/dev/null || true
  if [ $S_tool = perf ]; then
    awk -F, '$1 ~ /^[0-9]+$/ && $1 > 0 { sub(/syscalls:sys_enter_/, "", $3); print $1, $3 }' "$work/$name.trace"
  else
    awk '$NF != "total" && $4 ~ /^[0-9]+$/ { print $4, $NF }' "$work/$name.trace"
  fi | sort -rn >"$work/$name.counts"
  local total; total=$(awk '{ t += $1 } END { print t + 0 }' "$work/$name.counts")
  S_per=$(calc "$total / ($R_done > 0 ? $R_done : 1)" 1)
  S_top=$(awk -v n="$R_done" 'NR <= 8 { printf "%s%s %.1f", (NR > 1 ? ", " : ""), $2, $1 / (n > 0 ? n : 1) }' "$work/$name.counts")
}

servers=(mxguard)
declare -A port=([mxguard]=$mx_port) pid=([mxguard]=$mx_pid)
if [ $use_nginx = 1 ]; then servers+=(nginx); port[nginx]=$ng_port; pid[nginx]=$ng_pid; fi

if [ $mode = smoke ]; then
  for s in "${servers[@]}"; do
    run "$s-tls" "${port[$s]}" "${pid[$s]}" -n 200 -c 10
    echo "smoke $s: STARTTLS $R_done sessions ok ($R_rate sessions/s)"
    run "$s-plain-pipelined" "${port[$s]}" "${pid[$s]}" -n 200 -c 10 --plain --pipelining
    echo "smoke $s: plaintext pipelined $R_done sessions ok"
    idle_sessions=50 idle_memory "$s-idle" "${port[$s]}" "${pid[$s]}"
    echo "smoke $s: $I_n idle TLS sessions held"
    run "$s-flood" "${port[$s]}" "${pid[$s]}" -n 20 -c 2 --flood handshake --flood-connections 5 --flood-warmup 0.2
    echo "smoke $s: 20 sessions beside 5 stalled handshakes ok"
  done
  # Both of our own programs must stop cleanly, and with sanitizers nothing may have been reported.
  for p in "$mx_pid" "$sink_pid"; do
    kill -TERM "$p"
    rc=0; wait "$p" || rc=$?
    forget "$p"
    [ $rc -eq 0 ] || die "process $p exited with status $rc on SIGTERM; see $work/mxguard.log and $work/sink.log"
  done
  if grep -lE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$work"/*.log "$work"/*.err; then
    die "sanitizer report in the file(s) above"
  fi
  # The outbound mode, so that it never rots either: mxguard (and Postfix, where it can run) as relays.
  "$here/outbound.sh" --smoke --mxguard "$mxguard_bin" --loadgen "$loadgen_bin" --sink "$sink_bin" ||
    die "the outbound smoke run failed"
  echo "smoke: ok (${servers[*]})"
  rm -rf "$work"
  exit 0
fi

log "results and logs in $work"
log "warming up"
for s in "${servers[@]}"; do run "$s-warmup" "${port[$s]}" "${pid[$s]}" -n 300 -c 10; done

# Throughput: the servers take turns, $repeat times, so that a change in the machine's other load hits both.
declare -A cpu rate busy client lat idle_kib idle_fds sys sys_top
[ $flood_only = 1 ] && repeat=0
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
  [ $flood_only = 1 ] && break
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
done

if [ $flood = 1 ]; then
  declare -A fl
  for s in "${servers[@]}"; do
    for kind in none rcpt noop drip handshake; do
      log "$s: latency of fresh sessions, flood: $kind"
      args=(-d "$flood_seconds" -c "$flood_concurrency")
      [ $kind = none ] || args+=(--flood $kind --flood-connections "$flood_connections" --drip-interval-ms 100)
      run "$s-flood-$kind" "${port[$s]}" "${pid[$s]}" "${args[@]}"
      fl[$s,$kind]="$R_p50 $R_p99 $R_rate $R_failed $R_busy $R_client_busy $R_flood_mib $R_flood_ended"
      sleep 2   # the server closes the flood's connections before the next run
    done
  done
fi

# --- the figures -----------------------------------------------------------------------------------------
cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
load=$(cut -d' ' -f1-3 /proc/loadavg)
{
  echo "mxguard benchmark, $(date -u +%Y-%m-%dT%H:%MZ): $ncpu CPUs ($cpu_model), load average at the end $load"
  if [ ${#server_pin[@]} -gt 0 ]; then echo "servers pinned to CPU 0, load generator and sink to CPU 1"
  else echo "no CPU pinning (fewer than 2 CPUs): figures mix server and client work"; fi
  if [ $flood_only = 0 ]; then
    echo "throughput runs: $tls_sessions STARTTLS / $((tls_sessions * 2)) plaintext sessions at concurrency $concurrency;" \
      "latency runs: $latency_sessions sessions at concurrency $latency_concurrency; 4096-byte messages, 1 recipient"
    echo
    cols=("${servers[@]}")
    [ $use_nginx = 1 ] && cols+=("mxguard/nginx")
    printf '%-44s' ""; printf '%16s' "${cols[@]}"; echo
    row() {   # LABEL VALUE-MXGUARD [VALUE-NGINX [- = no ratio]]
      printf '%-44s%16s' "$1" "$2"
      [ $use_nginx = 1 ] && printf '%16s%16s' "$3" "$( [ "${4:-}" = - ] && echo "" || ratio "$2" "$3")"
      echo
    }
    for m in tls plain; do
      label=$( [ $m = tls ] && echo STARTTLS || echo plaintext)
      declare -A med=()
      for s in "${servers[@]}"; do
        med[$s,cpu]=$(median ${cpu[$s,$m]}) med[$s,rate]=$(median ${rate[$s,$m]})
        med[$s,core]=$(calc "1000000 / ${med[$s,cpu]}" 0)
      done
      row "CPU us per session, $label" "${med[mxguard,cpu]}" "${med[nginx,cpu]:-}"
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
  fi
  if [ $flood = 1 ]; then
    echo
    echo "fresh STARTTLS sessions (concurrency $flood_concurrency, ${flood_seconds}s) while $flood_connections hostile connections run"
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

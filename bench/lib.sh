# shellcheck shell=bash
# Sourced by bench/run.sh and bench/outbound.sh: the options both take, logging, packages, the build, the
# run's directory and CPU pinning, ports, the processes a run started, the /proc arithmetic both benchmarks
# measure with, system-call counting and the figures' rows. Expects $root (the repository) and, before
# wait_listening is called, $work (the run's directory) to be set.

log() { echo "bench: $*" >&2; }
die() { log "$*"; exit 1; }

# --- the options every benchmark takes --------------------------------------------------------------------
# Defaults; each script sets its own numbers (concurrency, repeat) after sourcing this.
mode=full mxguard_bin="" loadgen_bin="" sink_bin="" crypto_cost_bin="" out=""
usage() { awk 'NR > 1 { if (!/^#/) exit; print }' "$0"; }   # the script's leading comment
# shared_option ARGS...: takes $1 (and its value) if it is one of --smoke, --mxguard/--loadgen/--sink BIN,
# --crypto-cost BIN (run.sh's; beside --loadgen unless given),
# --concurrency N, --repeat N, --out DIR, --help; sets `took` to the words used (0: not one of them).
shared_option() {
  took=2
  case $1 in
    --smoke) mode=smoke took=1 ;;
    --mxguard) mxguard_bin=$2 ;;
    --loadgen) loadgen_bin=$2 ;;
    --sink) sink_bin=$2 ;;
    --crypto-cost) crypto_cost_bin=$2 ;;
    --concurrency) concurrency=$2 ;;
    --repeat) repeat=$2 ;;
    --out) out=$2 ;;
    -h|--help) usage; exit 0 ;;
    *) took=0; return 1 ;;
  esac
}
unknown_option() { echo "bench: unknown option $1 (see --help)" >&2; exit 2; }

# --- packages --------------------------------------------------------------------------------------------
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
apt_install() {   # best effort; the lock may be busy right after boot, so wait for it rather than fail
  [ "$(id -u)" -eq 0 ] || return 1
  local missing=() p
  for p in "$@"; do installed "$p" || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  local apt=(env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=60 -y -qq --no-install-recommends)
  "${apt[@]}" install "${missing[@]}" >/dev/null 2>&1 && return 0
  "${apt[@]}" update >/dev/null 2>&1 && "${apt[@]}" install "${missing[@]}" >/dev/null 2>&1
}

# The test dependencies (postfix, unbound, ...) and the measuring tools.
install_bench_tools() {
  "$root/scripts/install-deps.sh"
  apt_install strace iproute2 procps util-linux openssl || log "could not install strace/iproute2: continuing"
  apt_install linux-perf >/dev/null 2>&1 || true   # optional: cheaper system-call counts than strace
}

# --- binaries and the scene ----------------------------------------------------------------------------
# build_binaries TARGET...: unless --mxguard, --loadgen and --sink were all given, builds the targets in
# Release in build-bench/ and takes from there the binaries not given.
build_binaries() {
  if [ -z "$mxguard_bin" ] || [ -z "$loadgen_bin" ] || [ -z "$sink_bin" ]; then
    local build=$root/build-bench names
    names=$(printf '%s\n' "$@" | awk '{ a[NR] = $0 } END { for (i = 1; i < NR; i++) printf "%s%s", a[i], (i < NR - 1 ? ", " : " and "); print a[NR] }')
    command -v ccache >/dev/null && export CMAKE_CXX_COMPILER_LAUNCHER=${CMAKE_CXX_COMPILER_LAUNCHER:-ccache}
    log "building $names in Release in $build"
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DMXGUARD_TESTS=OFF -DMXGUARD_BENCH=ON >/dev/null
    cmake --build "$build" -j"$(nproc)" --target "$@" >/dev/null
    mxguard_bin=${mxguard_bin:-$build/proxy/app/mxguard}
    loadgen_bin=${loadgen_bin:-$build/bench/loadgen}
    sink_bin=${sink_bin:-$build/bench/sink}
    crypto_cost_bin=${crypto_cost_bin:-$build/bench/crypto_cost}
  fi
  crypto_cost_bin=${crypto_cost_bin:-$(dirname "$loadgen_bin")/crypto_cost}
  local b
  for b in "$mxguard_bin" "$loadgen_bin" "$sink_bin"; do [ -x "$b" ] || die "not an executable: $b"; done
}
# make_workdir TEMPLATE: $work is --out's directory (created) or a new one from mktemp's TEMPLATE.
make_workdir() {
  if [ -n "$out" ]; then mkdir -p "$out"; work=$(cd "$out" && pwd); else work=$(mktemp -d "$1"); fi
}
# With two CPUs or more, a measuring run pins the servers to CPU 0 and the client side to CPU 1: sets
# ncpu, server_pin and client_pin (empty: no pinning).
pin_cpus() {
  ncpu=$(nproc)
  server_pin=() client_pin=()
  if [ $mode = full ] && [ "$ncpu" -ge 2 ] && command -v taskset >/dev/null; then
    server_pin=(taskset -c 0) client_pin=(taskset -c 1)
  fi
}

# --- processes this run started: stopped on any exit ------------------------------------------------------
started=()
stoppers=()   # commands run first on exit (e.g. "postfix -c DIR stop" for a daemon that is not our child)
cleanup() {
  local p c
  for c in "${stoppers[@]}"; do eval "$c" >/dev/null 2>&1 || true; done
  for p in "${started[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${started[@]}"; do wait "$p" 2>/dev/null || true; done
}
forget() { local keep=() p; for p in "${started[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done; started=("${keep[@]}"); }
# stop_cleanly PID...: our own programs must stop with status 0 on SIGTERM, and with sanitizers nothing
# may have been reported in the run's logs.
stop_cleanly() {
  local p rc
  for p in "$@"; do
    kill -TERM "$p"
    rc=0; wait "$p" || rc=$?
    forget "$p"
    [ $rc -eq 0 ] || die "process $p exited with status $rc on SIGTERM; see $work/mxguard.log and $work/sink.log"
  done
  if grep -lE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$work"/*.log "$work"/*.err; then
    die "sanitizer report in the file(s) above"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- ports -----------------------------------------------------------------------------------------------
used_ports=" "
pick_port() {   # a free port below the ephemeral range, so that no outgoing connection can take it meanwhile
  local p
  for _ in $(seq 200); do
    p=$((20000 + RANDOM % 12000))
    case $used_ports in *" $p "*) continue ;; esac
    if [ -z "$(ss -Htuln "sport = :$p" 2>/dev/null)" ]; then used_ports+="$p "; echo "$p"; return; fi
  done
  die "no free port found"
}
wait_listening() {   # PORT PID NAME [LOG]
  local log_file=${4:-$work/$3.log}
  for _ in $(seq 200); do
    [ -n "$(ss -Htln "sport = :$1" 2>/dev/null)" ] && return 0
    kill -0 "$2" 2>/dev/null || die "$3 exited while starting; see $log_file"
    sleep 0.05
  done
  die "$3 is not listening on $1; see $log_file"
}

# --- measuring -------------------------------------------------------------------------------------------
tree() { local c; echo "$1"; for c in $(ps -o pid= --ppid "$1"); do tree "$c"; done; }
# shellcheck disable=SC2034  # used by the scripts that source this one
hz=$(getconf CLK_TCK)
# CPU time of a process tree in clock ticks: every live process's utime+stime (threads included), plus
# its cutime+cstime, the time of children it has reaped. Postfix's master replaces its smtpd, smtp and
# cleanup processes as they reach max_use, so the time of those that exited must count too.
cpu_ticks() {
  local t=0 p v
  for p in $(tree "$1"); do
    v=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 + $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)
    t=$((t + v))
  done
  echo "$t"
}
memory_kib() {   # Pss|Rss PID: KiB of the process tree (smaps_rollup)
  local t=0 p v
  for p in $(tree "$2"); do
    v=$(awk -v f="$1:" '$1 == f { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)
    t=$((t + ${v:-0}))
  done
  echo "$t"
}
fds() { local t=0 p; for p in $(tree "$1"); do t=$((t + $(ls "/proc/$p/fd" | wc -l))); done; echo "$t"; }
calc() { awk "BEGIN { printf \"%.${2:-1}f\", ($1) }"; }   # parenthesized: a bare > would redirect
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { printf "%.6g", (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
spread() { [ $# -gt 0 ] && printf '%s\n' "$@" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%s-%s", lo, hi }'; }
list() { local IFS=/; echo "$*"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0 && a != "-" && a != "") printf "%.2f", a / b; else printf "-" }'; }
# CPU N's busy and stolen ticks from /proc/stat (user nice system idle iowait irq softirq steal ...).
cpu_stat() { awk -v c="cpu$1" '$1 == c { print $2 + $3 + $4 + $7 + $8, $9 }' /proc/stat; }
# BUSY-BEFORE BUSY-AFTER OURS WALL-S: % of a CPU that other processes took (its busy ticks less OURS).
others_pct() { calc "(($2 - $1) - $3) / $hz / $4 * 100 < 0 ? 0 : (($2 - $1) - $3) / $hz / $4 * 100" 0; }
failures_of() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["failures"])' "$1"; }   # REPORT.json
cpu_model() { awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo; }

# --- system calls ----------------------------------------------------------------------------------------
perf_works() { perf stat -x, -e syscalls:sys_enter_exit_group -- /bin/true 2>&1 | grep -q '^1,'; }
# syscalls_start NAME PID EVENTS: counts the system calls of PID's process tree from now on, with perf's
# tracepoints EVENTS (raw_syscalls:sys_enter among them: the total, the calls not named show as "other"),
# else strace -c -f. Sets S_tool and tracer.
syscalls_start() {
  local name=$1 pids
  pids=$(tree "$2" | paste -sd, -)
  if command -v perf >/dev/null && perf_works; then
    S_tool=perf
    perf stat -x, -e "$3" -p "$pids" -o "$work/$name.trace" 2>"$work/$name.perf-err" &
  else
    S_tool=strace
    local args=() p
    for p in ${pids//,/ }; do args+=(-p "$p"); done
    strace -c -f "${args[@]}" -o "$work/$name.trace" 2>/dev/null &
  fi
  tracer=$!; started+=("$tracer")
  sleep 2   # attaching to every thread (and perf to 300-odd tracepoints) takes a moment
}
# syscalls_stop NAME UNITS TOP: the counts by name, most first, in $work/NAME.counts; sets S_per (calls per
# unit: session, message) and S_top (the TOP most frequent, per unit).
syscalls_stop() {
  local name=$1 n=$2 total
  kill -INT "$tracer" 2>/dev/null || true
  wait "$tracer" 2>/dev/null || true
  forget "$tracer"
  if [ "$S_tool" = perf ]; then
    awk -F, '$1 ~ /^[0-9]+$/ && $3 == "raw_syscalls:sys_enter" { total = $1 }
             $1 ~ /^[0-9]+$/ && $1 > 0 && $3 ~ /^syscalls:/ { sub(/syscalls:sys_enter_/, "", $3); print $1, $3; named += $1 }
             END { if (total > named) print total - named, "other" }' "$work/$name.trace"
  else
    awk '$NF != "total" && $4 ~ /^[0-9]+$/ { print $4, $NF }' "$work/$name.trace"
  fi | sort -rn >"$work/$name.counts"
  total=$(awk '{ t += $1 } END { print t + 0 }' "$work/$name.counts")
  [ "$total" -gt 0 ] || log "$name: no system calls counted ($S_tool): $(cat "$work/$name.perf-err" 2>/dev/null)"
  S_per=$(calc "$total / ($n > 0 ? $n : 1)" 1)
  S_top=$(awk -v n="$n" -v top="$3" 'NR <= top { printf "%s%s %.1f", (NR > 1 ? ", " : ""), $2, $1 / (n > 0 ? n : 1) }' "$work/$name.counts")
}

# --- the figures -----------------------------------------------------------------------------------------
# table_row WIDTH COMPARE LABEL VALUE [OTHER [-]]: LABEL and mxguard's VALUE; with COMPARE 1, the other
# server's value and the ratio of the two (none when the last word is -).
table_row() {
  local width=$1 compare=$2
  printf "%-${width}s%16s" "$3" "$4"
  [ "$compare" = 1 ] && printf '%16s%16s' "${5:-}" "$( [ "${6:-}" = - ] && echo "" || ratio "$4" "${5:-}")"
  echo
}

# An unbound for the benchmarks, writing DIR/unbound.conf for 127.0.0.1:PORT: authoritative for bench.test
# from local data (mx.bench.test is 127.0.0.1) and refusing everything else, so nothing leaves the machine.
# Further records are the arguments, each a whole "name ttl IN type data" (TXT data in double quotes).
write_unbound_conf() {
  local dir=$1 port=$2 record
  shift 2
  mkdir -p "$dir"
  {
    cat <<CONF
server:
  interface: 127.0.0.1
  port: $port
  do-ip6: no
  do-daemonize: no
  chroot: ""
  username: ""
  directory: "$dir"
  pidfile: ""
  logfile: ""
  use-syslog: no
  verbosity: 0
  num-threads: 1
  access-control: 127.0.0.0/8 allow
  module-config: "iterator"
  local-zone: "." refuse
  local-zone: "bench.test." static
  local-data: "mx.bench.test. 300 IN A 127.0.0.1"
CONF
    # In single quotes: within double quotes unbound would end the string at the first \".
    for record in "$@"; do printf "  local-data: '%s'\n" "$record"; done
    printf 'remote-control:\n  control-enable: no\n'
  } >"$dir/unbound.conf"
}

# The run's CA and one ECDSA P-256 leaf (the inbound benchmark's key type) in DIR, for every TLS server of
# a run: DIR/ca.crt, DIR/NAME.key, DIR/NAME.crt and DIR/NAME.chain.crt (leaf then CA). SANS: the leaf's
# subjectAltName ("DNS:mx.bench.test,IP:127.0.0.1"). The directory is left readable: mxguard-fetch runs as
# nobody and reads the CA file.
make_bench_pki() {
  local dir=$1 name=$2 sans=$3
  mkdir -p "$dir"
  (umask 022
   openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "/CN=mxguard bench CA" \
     -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
     -keyout "$dir/ca.key" -out "$dir/ca.crt"
   openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=mx.bench.test" \
     -keyout "$dir/$name.key" -out "$dir/$name.csr"
   printf '%s\n' "subjectAltName=$sans" "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
     "extendedKeyUsage=serverAuth" >"$dir/$name.ext"
   openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial -days 30 \
     -extfile "$dir/$name.ext" -out "$dir/$name.crt") 2>/dev/null
  cat "$dir/$name.crt" "$dir/ca.crt" >"$dir/$name.chain.crt"
  chmod 755 "$dir"
}

# shellcheck shell=bash
# Sourced by bench/run.sh and bench/outbound.sh: logging, packages, ports, the processes a run started,
# and the /proc arithmetic both benchmarks measure with. Expects $work (the run's directory) to be set
# before wait_listening is called.

log() { echo "bench: $*" >&2; }
die() { log "$*"; exit 1; }

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
pss_kib() {
  local t=0 p v
  for p in $(tree "$1"); do
    v=$(awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)
    t=$((t + v))
  done
  echo "$t"
}
fds() { local t=0 p; for p in $(tree "$1"); do t=$((t + $(ls "/proc/$p/fd" | wc -l))); done; echo "$t"; }
calc() { awk "BEGIN { printf \"%.${2:-1}f\", ($1) }"; }   # parenthesized: a bare > would redirect
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { printf "%.6g", (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
spread() { [ $# -gt 0 ] && printf '%s\n' "$@" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%s-%s", lo, hi }'; }
list() { local IFS=/; echo "$*"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0 && a != "-" && a != "") printf "%.2f", a / b; else printf "-" }'; }
perf_works() { perf stat -x, -e syscalls:sys_enter_exit_group -- /bin/true 2>&1 | grep -q '^1,'; }

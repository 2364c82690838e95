# shellcheck shell=bash
# Sourced by bench/run.sh: the capacity mode (--capacity [N]). One load generator sets up N idle TLS
# sessions (STARTTLS and the post-TLS EHLO done) and holds them; meanwhile a second one measures fresh
# STARTTLS sessions at low concurrency, and the server's process tree is looked at: RSS, PSS, descriptors.
# A capacity is a pass or a fail: every one of the N set up, and none ended by the server while held.
# Uses run.sh's run, hold_idle and release_idle, its row and columns for the table, and $server_nofile.

declare -A capv=()   # SERVER,KEY -> figure

# NAME PORT PID LOADGEN-ARGS...: run, and F_others: the share of CPU 0 other processes took meanwhile.
fresh_run() {
  local c0 c0e t0
  read -r c0 _ < <(cpu_stat 0)
  t0=$(date +%s%N)
  run "$@"
  read -r c0e _ < <(cpu_stat 0)
  F_others=$(others_pct "$c0" "$c0e" "$R_ticks" "$(calc "($(date +%s%N) - $t0) / 1e9" 6)")
}

# capacity_measure SERVER PORT PID N FRESH-LOADGEN-ARGS...: the fresh sessions' latency alone, then the
# memory and descriptors with N held and the fresh sessions' latency beside them. Fills capv[SERVER,*].
capacity_measure() {
  local s=$1 port=$2 pid=$3 n=$4; shift 4
  local name=$s-capacity base_pss base_rss base_fds pss rss fds_held
  fresh_run "$name-alone" "$port" "$pid" "$@"
  capv[$s,alone50]=$R_p50 capv[$s,alone99]=$R_p99 capv[$s,alone_busy]=$R_busy capv[$s,alone_others]=$F_others
  base_pss=$(memory_kib Pss "$pid") base_rss=$(memory_kib Rss "$pid") base_fds=$(fds "$pid")
  hold_idle "$name" "$port" "$n"
  capv[$s,setup_s]=$H_setup_s
  sleep "$capacity_settle"   # the last handshakes' garbage settles
  pss=$(memory_kib Pss "$pid") rss=$(memory_kib Rss "$pid") fds_held=$(fds "$pid")
  fresh_run "$name-fresh" "$port" "$pid" "$@"
  capv[$s,held50]=$R_p50 capv[$s,held99]=$R_p99 capv[$s,fresh]=$R_done capv[$s,fresh_failed]=$R_failed
  capv[$s,fresh_busy]=$R_busy capv[$s,fresh_others]=$F_others
  release_idle "$name"
  capv[$s,held]=$((I_n - I_dropped)) capv[$s,not_set_up]=$I_failed capv[$s,dropped]=$I_dropped
  capv[$s,failures]=$(failures_of "$work/$name.json")
  capv[$s,rss]=$(calc "$rss / 1024") capv[$s,pss]=$(calc "$pss / 1024") capv[$s,base_pss]=$(calc "$base_pss / 1024")
  capv[$s,fds]=$fds_held capv[$s,base_fds]=$base_fds
  if [ "$I_n" -gt 0 ]; then
    capv[$s,kib_pss]=$(calc "($pss - $base_pss) / $I_n") capv[$s,kib_rss]=$(calc "($rss - $base_rss) / $I_n")
    capv[$s,fds_per]=$(calc "($fds_held - $base_fds) / $I_n" 2)
  else
    capv[$s,kib_pss]=- capv[$s,kib_rss]=- capv[$s,fds_per]=-
  fi
  capv[$s,pass]=fail
  if [ "$I_n" -eq "$n" ] && [ "$I_failed" -eq 0 ] && [ "$I_dropped" -eq 0 ]; then capv[$s,pass]=pass; fi
}

# capacity_table N FRESH-TEXT: the figures of every server measured, with ratios.
capacity_table() {
  local n=$1 m=mxguard g=nginx s
  echo
  echo "capacity: $n idle TLS sessions held (STARTTLS and the post-TLS EHLO done, set up 50 at a time) with the"
  echo "servers' descriptor limit at $server_nofile; fresh STARTTLS sessions $2, alone and while they are held"
  columns
  row "all $n held to the end" "${capv[$m,pass]}" "${capv[$g,pass]:-}" -
  row "  held / not set up / ended by the server" "${capv[$m,held]}/${capv[$m,not_set_up]}/${capv[$m,dropped]}" \
    "$( [ -n "${capv[$g,held]:-}" ] && echo "${capv[$g,held]}/${capv[$g,not_set_up]}/${capv[$g,dropped]}")" -
  row "  set-up time of the $n, s" "${capv[$m,setup_s]}" "${capv[$g,setup_s]:-}"
  row "fresh session p50 ms, alone" "${capv[$m,alone50]}" "${capv[$g,alone50]:-}"
  row "fresh session p99 ms, alone" "${capv[$m,alone99]}" "${capv[$g,alone99]:-}"
  row "fresh session p50 ms, $n held" "${capv[$m,held50]}" "${capv[$g,held50]:-}"
  row "fresh session p99 ms, $n held" "${capv[$m,held99]}" "${capv[$g,held99]:-}"
  row "  fresh sessions completed / failed" "${capv[$m,fresh]}/${capv[$m,fresh_failed]}" \
    "$( [ -n "${capv[$g,fresh]:-}" ] && echo "${capv[$g,fresh]}/${capv[$g,fresh_failed]}")" -
  row "  server CPU busy %, alone / held" "${capv[$m,alone_busy]}/${capv[$m,fresh_busy]}" \
    "$( [ -n "${capv[$g,fresh]:-}" ] && echo "${capv[$g,alone_busy]}/${capv[$g,fresh_busy]}")" -
  row "  CPU 0 taken by other processes %, the same" "${capv[$m,alone_others]}/${capv[$m,fresh_others]}" \
    "$( [ -n "${capv[$g,fresh]:-}" ] && echo "${capv[$g,alone_others]}/${capv[$g,fresh_others]}")" -
  row "RSS MiB, server's process tree, $n held" "${capv[$m,rss]}" "${capv[$g,rss]:-}"
  row "PSS MiB, server's process tree, $n held" "${capv[$m,pss]}" "${capv[$g,pss]:-}"
  row "  PSS MiB before" "${capv[$m,base_pss]}" "${capv[$g,base_pss]:-}" -
  row "KiB per idle session, PSS" "${capv[$m,kib_pss]}" "${capv[$g,kib_pss]:-}"
  row "  KiB per idle session, RSS" "${capv[$m,kib_rss]}" "${capv[$g,kib_rss]:-}"
  row "descriptors in use, $n held (tree)" "${capv[$m,fds]}" "${capv[$g,fds]:-}"
  row "  descriptors before" "${capv[$m,base_fds]}" "${capv[$g,base_fds]:-}" -
  row "  descriptors per idle session" "${capv[$m,fds_per]}" "${capv[$g,fds_per]:-}"
  for s in "${servers[@]}"; do
    [ "${capv[$s,failures]}" = "{}" ] || echo "  $s, sessions that failed: ${capv[$s,failures]}"
  done
}

# shellcheck shell=bash
# Sourced by bench/run.sh: the arrival-rate mode (--rate [R]). New STARTTLS sessions arrive at R a second
# for S seconds whether or not the earlier ones are done (loadgen --rate, an open loop), at most CAP in
# flight: failed sessions (a connect error, a timeout, any reply but the one expected), the rate achieved,
# latency, the server's CPU; and the load generator's own CPU and lag, because on two CPUs it can be the
# one that saturates, and then the figure says so. Uses run.sh's run, row and columns.

declare -A ratev=()   # SERVER,KEY -> figure

# rate_measure SERVER PORT PID RATE SECONDS CAP: fills ratev[SERVER,*].
rate_measure() {
  local s=$1 port=$2 pid=$3 r=$4 secs=$5 cap=$6 name=$1-rate c0 c1 c0e c1e t0 t1 wall
  local scheduled started skipped in_flight lag99 lagmax
  read -r c0 _ < <(cpu_stat 0)
  read -r c1 _ < <(cpu_stat 1)
  t0=$(date +%s%N)
  run "$name" "$port" "$pid" --rate "$r" -d "$secs" -c "$cap" --timeout "$rate_timeout"
  t1=$(date +%s%N)
  read -r c0e _ < <(cpu_stat 0)
  read -r c1e _ < <(cpu_stat 1)
  read -r scheduled started skipped in_flight lag99 lagmax < <(python3 -c 'import json,sys
o = json.load(open(sys.argv[1]))["open_loop"]
print(o["scheduled"], "%.1f" % o["started_per_s"], o["skipped_at_cap"], o["max_in_flight"], o["start_lag"]["p99_ms"],
      o["start_lag"]["max_ms"])' "$work/$name.json")
  ratev[$s,scheduled]=$scheduled ratev[$s,started_per_s]=$started ratev[$s,skipped]=$skipped
  ratev[$s,in_flight]=$in_flight ratev[$s,lag99]=$lag99 ratev[$s,lagmax]=$lagmax
  ratev[$s,done]=$R_done ratev[$s,failed]=$R_failed ratev[$s,rate]=$R_rate
  ratev[$s,p50]=$R_p50 ratev[$s,p99]=$R_p99 ratev[$s,max]=$R_max
  ratev[$s,busy]=$R_busy ratev[$s,cpu_us]=$R_cpu_us ratev[$s,client]=$R_client_busy
  ratev[$s,failures]=$(failures_of "$work/$name.json")
  wall=$(calc "($t1 - $t0) / 1e9" 6)
  ratev[$s,loadgen]=$(calc "$R_client_s / $wall * 100" 0)
  ratev[$s,cpu1]=$(calc "($c1e - $c1) / $hz / $wall * 100 > 100 ? 100 : ($c1e - $c1) / $hz / $wall * 100" 0)
  ratev[$s,others0]=$(others_pct "$c0" "$c0e" "$R_ticks" "$wall")
  # The load generator kept up if it started the arrivals on time: none more than 10 ms behind its
  # schedule at p99, and its own CPU below 90%. (Arrivals skipped at the cap are the server's doing: they
  # were due and handled on time.) A full CPU 1, other processes included, is said beside it: the load
  # generator may have waited for its CPU then.
  local why=""
  [ "${ratev[$s,loadgen]}" -ge 90 ] && why+=", its own CPU ${ratev[$s,loadgen]}%"
  [ "$(calc "$lag99 > 10" 0)" = 1 ] && why+=", starts $lag99 ms late at p99"
  [ "${ratev[$s,cpu1]}" -ge 95 ] && why+=", CPU 1 ${ratev[$s,cpu1]}% busy (others included)"
  if [ "$(calc "$lag99 > 10" 0)" = 1 ] || [ "${ratev[$s,loadgen]}" -ge 90 ]; then ratev[$s,saturated]="yes (${why#, })"
  elif [ -n "$why" ]; then ratev[$s,saturated]="no, but ${why#, }"
  else ratev[$s,saturated]=no; fi
  return 0
}

# rate_table RATE SECONDS CAP TIMEOUT: the figures of every server measured, with ratios.
rate_table() {
  local m=mxguard g=nginx s
  echo
  echo "arrival rate: $1 new STARTTLS sessions/s for $2 s, started on a schedule (open loop; at most $3 in"
  echo "flight; a session failed on a connect error, an unexpected reply or taking over $4 s)"
  columns
  row "failed sessions, of ${ratev[$m,scheduled]} arrivals" "${ratev[$m,failed]}" "${ratev[$g,failed]:-}" -
  row "  arrivals skipped: $3 in flight" "${ratev[$m,skipped]}" "${ratev[$g,skipped]:-}" -
  row "arrivals started/s" "${ratev[$m,started_per_s]}" "${ratev[$g,started_per_s]:-}"
  row "sessions completed/s" "${ratev[$m,rate]}" "${ratev[$g,rate]:-}"
  row "  most sessions in flight" "${ratev[$m,in_flight]}" "${ratev[$g,in_flight]:-}"
  row "latency p50 ms" "${ratev[$m,p50]}" "${ratev[$g,p50]:-}"
  row "latency p99 ms" "${ratev[$m,p99]}" "${ratev[$g,p99]:-}"
  row "latency max ms" "${ratev[$m,max]}" "${ratev[$g,max]:-}"
  row "server CPU busy %" "${ratev[$m,busy]}" "${ratev[$g,busy]:-}"
  row "  CPU us per session" "${ratev[$m,cpu_us]}" "${ratev[$g,cpu_us]:-}"
  row "  CPU 0 taken by other processes %" "${ratev[$m,others0]}" "${ratev[$g,others0]:-}" -
  row "load generator CPU busy %" "${ratev[$m,loadgen]}" "${ratev[$g,loadgen]:-}" -
  row "  load generator + sink CPU busy %" "${ratev[$m,client]}" "${ratev[$g,client]:-}" -
  row "  CPU 1 busy %, every process" "${ratev[$m,cpu1]}" "${ratev[$g,cpu1]:-}" -
  row "  start lag behind the schedule p99 ms" "${ratev[$m,lag99]}" "${ratev[$g,lag99]:-}" -
  row "  start lag max ms" "${ratev[$m,lagmax]}" "${ratev[$g,lagmax]:-}" -
  for s in "${servers[@]}"; do
    echo "  $s run: load generator saturated: ${ratev[$s,saturated]}"
    [ "${ratev[$s,failures]}" = "{}" ] || echo "  $s, sessions that failed: ${ratev[$s,failures]}"
  done
}

#!/usr/bin/env bash
# Builds the fuzz targets with clang and runs each for SECONDS (default 30); exits non-zero if any target
# crashes or breaks an invariant. Usage: fuzz/run.sh [SECONDS] [TARGET...]
#   TARGET: data_filter reply_parser line_reader command ehlo_rewriter proxy_header client_hello mx_dialogue
#           mta_sts_record mta_sts_policy mta_sts_cache fetch_protocol config tlsrpt_record http_request tlsa_answer (default: all)
#   BUILD_DIR=dir  build directory (default: build-fuzz at the repository root)
#   NO_BUILD=1     run the targets already built in BUILD_DIR
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-30}
shift || true
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  targets=(data_filter reply_parser line_reader command ehlo_rewriter proxy_header client_hello mx_dialogue
           mta_sts_record mta_sts_policy mta_sts_cache fetch_protocol config tlsrpt_record http_request tlsa_answer)
fi
build=${BUILD_DIR:-$root/build-fuzz}

if [[ -z ${NO_BUILD:-} ]]; then
  CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DMXGUARD_FUZZ=ON -DMXGUARD_TESTS=OFF >/dev/null
  cmake --build "$build" -j"$(nproc)" --target "${targets[@]/%/_fuzz}"
fi

failed=()
for t in "${targets[@]}"; do
  bin=$build/fuzz/${t}_fuzz
  [[ -x $bin ]] || { echo "missing $bin" >&2; exit 2; }
  corpus=$root/fuzz/corpus-$t          # grows between runs; not committed (.gitignore)
  mkdir -p "$corpus"
  dirs=("$corpus")
  [[ -d $root/fuzz/seeds/$t ]] && dirs+=("$root/fuzz/seeds/$t")
  log=$build/fuzz-$t.log
  dict=$root/fuzz/smtp.dict
  [[ $t == mta_sts_* ]] && dict=$root/fuzz/mta_sts.dict
  [[ $t == config ]] && dict=$root/fuzz/config.dict
  [[ $t == http_* ]] && dict=$root/fuzz/http.dict
  if "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -dict="$dict" -artifact_prefix="$root/fuzz/crash-$t-" "${dirs[@]}" >"$log" 2>&1; then
    runs=$(grep -a -o '^Done [0-9]* runs' "$log" | tail -n 1)
    cov=$(grep -a -o 'cov: [0-9]*' "$log" | tail -n 1)
    echo "ok     $t: ${runs#Done } in ${seconds}s, $cov, corpus $(ls "$corpus" | wc -l) files"
  else
    echo "FAILED $t: log $log, input $root/fuzz/crash-$t-*"
    grep -a -E 'invariant failed|ERROR|SUMMARY' "$log" | head -n 5 || true
    failed+=("$t")
  fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
  echo "crashes in: ${failed[*]}" >&2
  exit 1
fi

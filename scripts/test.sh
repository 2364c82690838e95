#!/usr/bin/env bash
# Installs what the tests need, builds mxguard with AddressSanitizer and UndefinedBehaviorSanitizer, and runs
# every test (unit tests, and integration tests against real Postfix, swaks, openssl and smtplib on loopback).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build-test -DMXGUARD_SANITIZE=ON
cd build-test
# LeakSanitizer needs ptrace, which some sandboxes forbid; ASan's other checks stay on.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
exec ctest --output-on-failure -j"$(nproc)" --timeout 600
